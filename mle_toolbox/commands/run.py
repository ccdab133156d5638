"""``mle run META``: load and expand the meta YAML, then launch it (or show a dry run)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
from collections.abc import Iterator
from pathlib import Path

from ..backends import DEFAULT_BACKEND, detachable_backends, get_backend
from ..backends.base import Backend
from ..config.base_configs import load_configs
from ..config.expand import expand, run_ids
from ..config.meta import load_meta
from ..config.meta_types import MetaConfig
from ..config.source import display_name
from ..errors import ConfigError
from ..launcher import upstream_flags
from ..launcher.job_options import unused_note
from ..launcher.launch import dry_run, launch
from ..records import replace
from ..search import is_adaptive

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from ..launcher.recorded_run import LaunchOptions


def run_command(args: argparse.Namespace) -> int:
    """Carry out ``mle run``; returns the exit code."""
    work_dir = getattr(args, "work_dir", None)  # mle resume: where the first launch ran
    with _no_cycle_collection():
        meta = load_meta(Path(args.meta), cwd=Path(work_dir) if work_dir else None,
                         overrides=upstream_flags.overrides(args))
    for warning in meta.warnings:
        print(f"mle: warning: {warning}", file=sys.stderr)
    upstream_flags.note_unused(args)
    if not is_adaptive(meta.search) or len(meta.config_files) == 1:
        return _run_meta(args, meta)
    # An adaptive search over a list of base configs: one search per config, one after
    # the other, in experiment_dir/<config name> (as mle-toolbox runs it); grid and
    # random search expand every config into one plan (expand.py).
    names = run_ids(meta.config_files, meta_display=meta.path)
    code = 0
    for name, config in zip(names, meta.config_files, strict=True):
        print(f"mle: search over base config {display_name(config)} in "
              f"{meta.experiment_dir / name}", flush=True)
        one = replace(meta, config_files=(config,), experiment_dir=meta.experiment_dir / name)
        code = max(code, _run_meta(args, one))
        if code >= 128:  # interrupted: the later searches wait for the next mle run
            break
    return code


def _run_meta(args: argparse.Namespace, meta: MetaConfig) -> int:
    """Plan and launch (or dry-run) one meta config."""
    with _no_cycle_collection():
        plan = expand(meta, configs=load_configs(meta.config_files))
    backend = get_backend(upstream_flags.backend_name(args) or meta.backend or DEFAULT_BACKEND)
    unused = unused_note(meta, backend=backend)
    if unused is not None:
        print(f"mle: note: {unused}", file=sys.stderr)
    if args.dry_run:
        dry_run(plan, backend=backend, max_running=args.max_running, show_all=args.all)
        return 0
    return launch(plan, backend=backend, max_running=args.max_running,
                  options=launch_options(args, meta=meta, backend=backend))


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Planning without the cyclic garbage collector: a plan is tens of thousands of
    objects without cycles, which it walked again and again while they were built (a
    tenth of the planning time of 20,000 config files). Then they are frozen (left out of
    every later collection: they live as long as the launch) and the collector is on again
    for the launch; otherwise its first collection would walk them all once more."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_on:
            gc.enable()


def launch_options(args: argparse.Namespace, *, meta: MetaConfig,
                   backend: Backend) -> LaunchOptions:
    """LaunchOptions from ``mle run`` / ``mle resume`` arguments and the meta YAML."""
    from ..launcher.decide import ResumeFlags
    from ..launcher.recorded_run import LaunchOptions

    detach = bool(getattr(args, "detach", False))
    if detach and not backend.jobs_outlive_launcher:
        raise ConfigError(f"needs a scheduler that keeps jobs running without mle: "
                          f"cluster backends only ({', '.join(detachable_backends())}); the "
                          f"{backend.name} backend stops jobs with it", key="--detach")
    retries = getattr(args, "max_retries", None)
    return LaunchOptions(
        flags=ResumeFlags(rerun_failed=bool(getattr(args, "rerun_failed", False)),
                          keep_stale=bool(getattr(args, "keep_stale", False)),
                          force=bool(getattr(args, "force", False))),
        max_retries=meta.max_retries if retries is None else retries,
        cancel_on_interrupt=bool(getattr(args, "cancel_on_interrupt", False)), detach=detach,
        purpose=upstream_flags.purpose(args),
        write_report=not getattr(args, "no_report", False),
        record_history=not getattr(args, "no_protocol", False),
        debug=bool(getattr(args, "debug", False)))
