"""launcher.log: a line per launch event, ``2026-12-01 22:59:18,907 INFO message``.

The launcher writes it while it holds the experiment lock (``pipeline.locked``), at
debug level with ``-d/--debug``. Its own small writer, where it used ``logging`` with a
file handler and that format before: ``logging`` (with ``traceback``, ``textwrap``,
``tokenize``, ``string``) cost ~13 ms of every launch's import for a handful of lines
(issue 18). The lines are the same; a line that cannot be written (full disk) is dropped
quietly, as the launch's own writes report a full disk once, with the path. Without a
launch (nothing attached) warnings go to stderr and other lines nowhere, as logging's
last-resort handler did.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import IO, Any

DEBUG, INFO, WARNING = 10, 20, 30
_NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING"}


class LauncherLog:
    """The launcher's log: ``info``, ``debug``, ``warning`` with %-style arguments."""

    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self._level = INFO
        self._lock = threading.Lock()  # the progress ticker and the runner both log

    def enabled(self, level: int) -> bool:
        """Whether a line at ``level`` would be written (``-d`` turns on DEBUG)."""
        return self._file is not None and level >= self._level

    def debug(self, message: str, *args: Any) -> None:
        """A DEBUG line (with -d/--debug only)."""
        self._log(DEBUG, message, args)

    def info(self, message: str, *args: Any) -> None:
        """An INFO line."""
        self._log(INFO, message, args)

    def warning(self, message: str, *args: Any) -> None:
        """A WARNING line; printed to stderr when no launch log is open."""
        self._log(WARNING, message, args)

    @contextmanager
    def attached(self, path: Path, *, debug: bool = False) -> Iterator[None]:
        """Append to ``path`` while the block runs (-d: at debug level)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        opened = path.open("a", encoding="utf-8")
        saved = self._file, self._level
        self._file, self._level = opened, DEBUG if debug else INFO
        try:
            yield
        finally:
            with self._lock:
                self._file, self._level = saved
            with suppress(OSError):
                opened.close()

    def _log(self, level: int, message: str, args: tuple[Any, ...]) -> None:
        if self._file is None:
            if level >= WARNING:
                print(_text(message, args), file=sys.stderr)
            return
        if level < self._level:
            return
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        line = f"{stamp},{int((now - int(now)) * 1000):03d} {_NAMES[level]} " \
               f"{_text(message, args)}\n"
        with self._lock:
            if self._file is None:
                return
            try:
                self._file.write(line)
                self._file.flush()
            except OSError:
                pass


def _text(message: str, args: tuple[Any, ...]) -> str:
    try:
        return message % args if args else message
    except (TypeError, ValueError):  # a mismatched format (logging printed a traceback)
        return f"{message} {args!r}"


log = LauncherLog()
