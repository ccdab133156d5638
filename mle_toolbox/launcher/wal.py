"""Switching an SQLite database (the job table, the history) to its WAL journal.

Separate because both databases need the same retry: two processes that open a new
database at the same moment both ask for the switch, and SQLite answers one of them
"database is locked" at once, without waiting out the busy timeout (the switch needs
the file to itself).
"""

from __future__ import annotations

import time

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    import sqlite3


def use_wal(conn: sqlite3.Connection, *, timeout_s: float) -> None:
    """``PRAGMA journal_mode=WAL``, retried with back-off while the database is locked,
    until ``timeout_s``; any other error is raised at once."""
    import sqlite3

    deadline, delay = time.monotonic() + timeout_s, 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "database is locked" not in str(err) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
