"""``mle ls`` and ``mle show``: read the experiment history.

Which database: ``$MLE_HISTORY_DB`` if set; else ``--project DIR``'s
``.mle/history.sqlite``; for ``mle show EXP_DIR`` the database of the project the
experiment was launched from; else the nearest ``.mle/history.sqlite`` in the
current folder or one of its parents.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from ..errors import ConfigError, HistoryError
from ..files.atomic import dumps_json
from ..files.expdir import open_experiment
from ..files.layout import HISTORY_DB_ENV, ExperimentLayout, history_db
from ..launcher import history
from ..launcher.history import Entry
from ..launcher.progress import format_duration


def find_database(*, project: str | None, exp_dir: Path | None = None) -> Path | None:
    """The history database to read (see the module docstring); None if there is none."""
    if os.environ.get(HISTORY_DB_ENV):
        return checked_env_database(Path(os.environ[HISTORY_DB_ENV]))
    if project is not None:
        return history_db(Path(project))
    if exp_dir is not None:
        return history_db(open_experiment(exp_dir).project_dir)
    here = Path.cwd()
    for folder in (here, *here.parents):
        if history_db(folder).is_file():
            return history_db(folder)
    return None


def checked_env_database(path: Path) -> Path:
    """``$MLE_HISTORY_DB``: a database file, or none yet (mle run creates it and its folder)."""
    where = f"environment variable {HISTORY_DB_ENV}"
    if path.is_dir():
        raise ConfigError(f"{path} is a directory; name a database file in it, e.g. "
                          f"{path / 'history.sqlite'}", key=where)
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ConfigError(f"{path} cannot exist: {blocking} is a file", key=where)
    return path


def read_entries(path: Path | None, *, state: str | None = None,
                 **filters: str | None) -> list[Entry]:
    """Launches in the database at ``path``, oldest first ([] when there is none)."""
    import sqlite3

    if path is None or not path.is_file():
        return []
    try:
        with history.connect(path, write=False) as conn:
            # State last: a row "running" may turn out "died" (its launcher is gone).
            entries = history.settle_dead(conn, history.select(conn, **filters))
            return [e for e in entries if state is None or e.state == state]
    except sqlite3.Error as err:
        raise HistoryError(f"cannot read the experiment history {path}: {err}") from err


def ls_command(args: argparse.Namespace) -> int:
    """Carry out ``mle ls``; returns the exit code."""
    path = find_database(project=args.project)
    entries = read_entries(path, name=args.name, state=args.state)
    if args.json:
        print(dumps_json([e.as_dict() for e in entries], indent=2))
        return 0
    if path is None or not path.is_file():
        print(f"mle: no experiment history {'at ' + str(path) if path else 'found'} "
              f"(mle run records one; see {HISTORY_DB_ENV})")
        return 0
    print(format_table(entries))
    return 0


def format_table(entries: list[Entry]) -> str:
    """Aligned text table, one launch a line."""
    header = ("ID", "STATE", "NAME", "JOBS", "STARTED", "TOOK", "PURPOSE", "EXPERIMENT DIR")
    rows = [header] + [
        (str(e.id), e.state, _one_line(e.name), _jobs(e), _when(e.started), _took(e),
         _one_line(e.purpose or "-"), e.exp_dir) for e in entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)),
                                row[-1]]) for row in rows)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "-"


def _jobs(entry: Entry) -> str:
    done = entry.jobs_completed + entry.jobs_skipped
    bad = entry.jobs_failed + entry.jobs_cancelled
    return f"{done}/{entry.jobs_total + entry.jobs_skipped}" + (f" ({bad} bad)" if bad else "")


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _took(entry: Entry) -> str:
    return "-" if entry.ended is None else format_duration(entry.ended - entry.started)


def show_command(args: argparse.Namespace) -> int:
    """Carry out ``mle show ID|DIR``; returns the exit code."""
    key: str = args.key
    if not key.isdigit() and not Path(key).is_dir():
        raise ConfigError(f"expected a history id (a whole number from mle ls) or an "
                          f"experiment directory, got {key!r}", key="ID|DIR")
    exp_dir = None if key.isdigit() else Path(key).resolve()
    path = find_database(project=args.project, exp_dir=exp_dir)
    if exp_dir is None:
        found = [e for e in read_entries(path) if e.id == int(key)]
    else:
        found = read_entries(path, exp_dir=str(exp_dir))
    if not found:
        where = f"in {path}" if path else "(no history database found)"
        raise ConfigError(f"no recorded experiment {key!r} {where}")
    entry = found[-1]  # a directory launched several times: its latest launch
    if args.json:
        print(dumps_json(entry.as_dict(), indent=2))
    else:
        print(describe(entry))
    return 0


def describe(entry: Entry) -> str:
    """Every field of one launch, one per line."""
    report = ExperimentLayout(Path(entry.exp_dir)).report_md
    lines = [
        ("id", str(entry.id)), ("name", entry.name), ("purpose", entry.purpose or "-"),
        ("state", entry.state),
        ("jobs", f"{entry.jobs_total} launched: {entry.jobs_completed} completed, "
                 f"{entry.jobs_failed} failed, {entry.jobs_cancelled} cancelled; "
                 f"{entry.jobs_skipped} skipped (completed earlier)"),
        ("backend", entry.backend), ("experiment", entry.exp_dir),
        ("meta", f"{entry.meta_path} (sha256 {entry.meta_hash})"),
        ("git commit", entry.git_commit or "- (train script not in a git repository)"),
        ("started", _when(entry.started)),
        ("ended", "-" if entry.ended is None else f"{_when(entry.ended)} (took {_took(entry)})"),
        ("launcher", f"{entry.host}, pid {entry.pid}"),
        ("report", str(report) if report.is_file() else "- (mle report EXP_DIR writes one)"),
    ]
    return "\n".join(f"{name:<11} {value}" for name, value in lines)


HISTORY_HELP = ("project folder whose .mle/history.sqlite to read (default: the current "
                f"folder or a parent; ${HISTORY_DB_ENV} overrides)")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``ls`` and ``show`` subcommands."""
    where = HISTORY_HELP
    ls = sub.add_parser("ls", help="list recorded experiments",
                        description="List the launches recorded in the experiment history.")
    ls.add_argument("--name", help="only experiments of this project_name")
    ls.add_argument("--state", choices=history.STATES, help="only launches in this state")
    ls.add_argument("--json", action="store_true", help="print JSON for scripts")
    ls.add_argument("--project", metavar="DIR", help=where)
    show = sub.add_parser("show", help="one recorded experiment in detail",
                          description="Show one launch: by history id or experiment dir.")
    show.add_argument("key", metavar="ID|DIR", help="history id (from mle ls) or experiment "
                      "directory (its latest launch)")
    show.add_argument("--json", action="store_true", help="print JSON for scripts")
    show.add_argument("--project", metavar="DIR", help=where)
