"""``mle resume EXP_DIR``: relaunch the meta YAML an experiment directory was made from."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .errors import ExperimentDirError
from .jobtable import JobTable
from .layout import ExperimentLayout


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
        meta = str(json.loads(layout.plan.read_text(encoding="utf-8"))["meta_path"])
    except FileNotFoundError:
        raise ExperimentDirError(f"{layout.root} is not an mle_toolbox experiment directory "
                                 "(no plan.json)") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
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
