"""``mle monitor [EXP_DIR]``: a live dashboard of the experiments and the cluster.

Refreshes every ``--interval`` seconds until q or Ctrl+C; j/k (or n/p) select the
experiment shown in detail. With ``rich`` installed (``pip install
'mle_toolbox[monitor]'``) it draws panels on the terminal's alternate screen;
without it, the same plain text redrawn in place. ``--once`` prints one screen as
plain text and exits 0. Read-only: see monitor_data.py.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ..errors import ConfigError, interrupt_name
from ..files.layout import HISTORY_DB_ENV
from .monitor_data import Request, Snapshot, snapshot
from .monitor_view import to_rich, to_text

_ALT_ON, _ALT_OFF = "\x1b[?1049h\x1b[?25l", "\x1b[?25h\x1b[?1049l"


def monitor_command(args: argparse.Namespace) -> int:
    """Carry out ``mle monitor``; returns the exit code."""
    request = _request(args)
    if args.once or not (sys.stdout.isatty() and sys.stdin.isatty()):
        sys.stdout.write(to_text(snapshot(request)))
        return 0
    try:
        live(request, interval=args.interval)
    except KeyboardInterrupt as err:
        if interrupt_name(err) != "Ctrl+C":
            raise  # SIGTERM / SIGHUP: reported and exited as every command does
    return 0  # q or Ctrl+C: the way to leave a dashboard


def _request(args: argparse.Namespace) -> Request:
    from .history_view import find_database

    exp_dir = None
    if args.exp_dir is not None:
        exp_dir = Path(args.exp_dir)
        if not exp_dir.is_dir():
            raise ConfigError(f"{args.exp_dir}: no such experiment directory", key="EXP_DIR")
    database = None
    if exp_dir is not None and args.project is None and not os.environ.get(HISTORY_DB_ENV):
        database = _database_of(exp_dir)  # as mle show DIR: the project it came from
    if database is None or not database.is_file():
        database = find_database(project=args.project)
    return Request(database=database, exp_dir=exp_dir)


def _database_of(exp_dir: Path) -> Path | None:
    """The history of the project an experiment was launched from (its plan names it)."""
    import json

    from ..files.layout import history_db

    try:
        plan = json.loads((exp_dir / "plan.json").read_text(encoding="utf-8"))
        return history_db(Path(plan["meta_path"]).parent)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def live(request: Request, *, interval: float) -> None:
    """Redraw until q (or Ctrl+C); the terminal is restored however it ends."""
    selection = [0]

    def take() -> Snapshot:
        snap = snapshot(Request(request.database, request.exp_dir, selection[0]))
        selection[0] = max(snap.selected, 0)
        return snap

    with _keys(sys.stdin) as read_key:
        try:
            from rich.console import Console
            from rich.live import Live
        except ImportError:
            _plain_loop(take, read_key, selection, interval=interval)
            return
        console = Console()
        with Live(to_rich(take()), console=console, screen=True, auto_refresh=False) as screen:
            while _wait(read_key, selection, interval=interval):
                screen.update(to_rich(take()), refresh=True)


def _plain_loop(take: Callable[[], Snapshot], read_key: Callable[[float], str],
                selection: list[int], *, interval: float) -> None:
    out = sys.stdout
    out.write(_ALT_ON)
    try:
        _draw(out, to_text(take()))
        while _wait(read_key, selection, interval=interval):
            _draw(out, to_text(take()))
    finally:
        out.write(_ALT_OFF)
        out.flush()


def _draw(out: TextIO, text: str) -> None:
    # Home, then each line over the old one, then clear the rest: no blank frame, no flicker.
    body = "\n".join(line + "\x1b[K" for line in text.splitlines())
    out.write(f"\x1b[H{body}\x1b[J")
    out.flush()


def _wait(read_key: Callable[[float], str], selection: list[int], *, interval: float) -> bool:
    """Wait for the next refresh; False once q was pressed. Selection keys redraw at once."""
    key = read_key(interval)
    if key in ("q", "Q"):
        return False
    if key in ("j", "n"):
        selection[0] += 1
    elif key in ("k", "p"):
        selection[0] = max(0, selection[0] - 1)
    return True


@contextlib.contextmanager
def _keys(stream: TextIO) -> Iterator[Callable[[float], str]]:
    """Single key presses without Enter (cbreak); the old terminal mode comes back after."""
    fd = stream.fileno()
    saved: Any = termios.tcgetattr(fd)

    def read_key(timeout: float) -> str:
        ready, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 32).decode(errors="replace")[:1] if ready else ""

    try:
        tty.setcbreak(fd)
        yield read_key
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
