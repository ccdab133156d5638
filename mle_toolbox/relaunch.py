"""``mle resume EXP_DIR``: relaunch the meta YAML an experiment directory was made from."""

from __future__ import annotations

import argparse
from pathlib import Path

from .errors import ExperimentDirError
from .jobtable import JobTable
from .layout import ExperimentLayout
from .prepare import read_plan_document


def reliability_command(args: argparse.Namespace) -> int:
    """``mle resume`` or ``mle status``."""
    if args.command == "status":
        from .status import status_command

        return status_command(args)
    return resume_command(args)


def resume_command(args: argparse.Namespace) -> int:
    """``mle run META`` on the experiment's own YAML, on the backend it last used."""
    layout = ExperimentLayout(Path(args.exp_dir).absolute())
    try:
        meta = str(read_plan_document(layout)["meta_path"])
    except KeyError as err:
        raise ExperimentDirError(f"{layout.plan} is unreadable ({err})") from err
    if not Path(meta).is_file():
        raise ExperimentDirError(f"{layout.root} was launched from {meta}, which no longer "
                                 "exists; run mle run on its meta YAML instead")
    backend = args.backend
    table = JobTable.read(layout.job_table)
    if backend is None and table is not None:
        backend = table.info("backend")
        table.close()
    from .launch import run_command

    relaunch = argparse.Namespace(**{**vars(args), "meta": meta, "backend": backend,
                                     "dry_run": False, "all": False, "detach": False})
    return run_command(relaunch)
