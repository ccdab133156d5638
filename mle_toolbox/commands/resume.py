"""``mle resume EXP_DIR``: relaunch the meta YAML an experiment directory was made from."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..config.paths import Overrides
from ..config.source import display_name
from ..errors import BackendUnavailable, ExperimentDirError
from ..files.expdir import open_experiment
from ..launcher.jobtable import JobTable


def reliability_command(args: argparse.Namespace) -> int:
    """``mle resume`` or ``mle status``."""
    if args.command == "status":
        from .status import status_command

        return status_command(args)
    return resume_command(args)


def resume_command(args: argparse.Namespace) -> int:
    """``mle run META`` on the experiment's own YAML, on the backend it last used."""
    experiment = open_experiment(args.exp_dir)
    layout, meta = experiment.layout, str(experiment.meta_path)
    if not Path(meta).is_file():
        raise ExperimentDirError(f"{layout.root} was launched from {meta}, which no longer "
                                 "exists; run mle run on its meta YAML instead")
    work_dir, overrides = _launch_context(experiment.plan)
    _check_owner(layout.root, meta=Path(meta), work_dir=work_dir, overrides=overrides)
    backend = args.backend
    table = JobTable.read(layout.job_table)
    if table is not None:
        recorded = table.info("backend")
        table.close()
        backend = backend or recorded
    from ..launcher.launch import run_command

    relaunch = argparse.Namespace(**{**vars(args), "meta": meta, "backend": backend,
                                     "dry_run": False, "all": False, "detach": False,
                                     "work_dir": work_dir,
                                     "base_train_fname": overrides.train_fname,
                                     "base_train_config": overrides.train_config,
                                     "experiment_dir": overrides.experiment_dir})
    try:
        return run_command(relaunch)
    except BackendUnavailable as err:
        if args.backend is not None or backend is None:
            raise
        raise BackendUnavailable(f"{display_name(layout.root)} was launched on {backend} "
                                 f"(its job table says so), which cannot be used here: "
                                 f"{err}") from err


def _launch_context(plan: dict[str, Any]) -> tuple[str | None, Overrides]:
    """The working directory and command-line paths of the first launch (plan.json)."""
    work_dir = plan.get("work_dir")
    given = plan.get("overrides")
    given = given if isinstance(given, dict) else {}
    names = ("train_fname", "train_config", "experiment_dir")
    values = {n: given[n] for n in names if isinstance(given.get(n), str)}
    return (work_dir if isinstance(work_dir, str) else None), Overrides(**values)


def _check_owner(root: Path, *, meta: Path, work_dir: str | None,
                 overrides: Overrides) -> None:
    """The meta YAML still puts its results here (it may have been edited or moved)."""
    from ..config.meta import load_meta

    cwd = Path(work_dir) if work_dir else None
    target = load_meta(meta, cwd=cwd, overrides=overrides).experiment_dir
    if target.resolve() != root.resolve():
        raise ExperimentDirError(
            f"{display_name(root)} was launched from {display_name(meta)}, whose "
            f"experiment_dir is now {display_name(target)}; run mle run on that meta YAML, "
            "or point its experiment_dir back here")
