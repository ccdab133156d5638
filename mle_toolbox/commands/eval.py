"""``mle eval EXP_DIR``: evaluate the saved models of a finished experiment.

The evaluation itself (targets, commands, summaries) is ``launcher/evaluate.py``;
this module reads the flags and the experiment's ``post_process_args``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ..config.meta import load_meta
from ..config.meta_types import PostProcess
from ..errors import ConfigError
from ..files.expdir import open_experiment
from ..job.checkpoints import CHECKPOINT_NAME
from ..launcher.evaluate import evaluate, find_targets, print_eval_summary
from ..launcher.lock import ExperimentLock


def eval_command(args: argparse.Namespace) -> int:
    """Carry out ``mle eval EXP_DIR [--checkpoint NAME] [--script FILE] [--timeout S]
    [--max-running N]``."""
    experiment = open_experiment(args.exp_dir)
    layout, meta_path = experiment.layout, experiment.meta_path
    post = _eval_settings(args, meta_path=meta_path, work_dir=experiment.plan.work_dir)
    jobs = [(job.run_id, job.seed) for job in experiment.plan.jobs]
    project = experiment.project_dir  # where the launch ran its jobs (config/paths.py)
    cwd = project if project.is_dir() else layout.root
    with ExperimentLock(layout.lock):
        targets, skipped = find_targets(layout, jobs=jobs, checkpoint=post.checkpoint)
        if skipped:
            print(f"mle: {skipped} jobs did not complete training; not evaluated")
        if not targets:
            print("mle: no finished jobs to evaluate", file=sys.stderr)
            return 1
        results = evaluate(layout, targets=targets, post=post, cwd=cwd,
                           max_running=args.max_running)
    print_eval_summary(results, layout=layout)
    return 0 if all(e.completed for e in results) else 1


def _eval_settings(args: argparse.Namespace, *, meta_path: Path,
                   work_dir: str | None) -> PostProcess:
    """post_process_args of the experiment's meta YAML, overridden by the flags."""
    # Read the YAML as its launch did (relative paths: config/paths.py).
    cwd = Path(work_dir) if work_dir is not None and Path(work_dir).is_dir() else None
    post = load_meta(meta_path, cwd=cwd).post_process if meta_path.is_file() else None
    if args.script is not None:
        script = Path(args.script).absolute()
        if not script.is_file():
            raise ConfigError(f"evaluation script {args.script!r} does not exist",
                              key="--script")
        post = replace(post, script=script) if post else PostProcess(script=script)
    if post is None:
        raise ConfigError(f"no evaluation script: give --script FILE, or post_process_args."
                          f"process_fname in {meta_path}", key="--script")
    if args.checkpoint is not None:
        if not CHECKPOINT_NAME.fullmatch(args.checkpoint):
            raise ConfigError("expected final, best, last, step_<k> or a checkpoint file "
                              f"name, got {args.checkpoint!r}", key="--checkpoint")
        post = replace(post, checkpoint=args.checkpoint)
    if args.timeout is not None:
        post = replace(post, timeout_s=args.timeout)
    return post
