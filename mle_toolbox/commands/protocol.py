"""``mle protocol``: the experiment history as mle-toolbox's protocol lists it, newest first.

The columns are ``mle ls``'s; ``--tail N`` (default 30, as upstream's summary) keeps the
newest launches; ``--json`` prints the same entries as JSON.
"""

from __future__ import annotations

import argparse

from ..files.atomic import dumps_json
from ..files.layout import HISTORY_DB_ENV
from .history_view import find_database, format_table, read_entries


def protocol_command(args: argparse.Namespace) -> int:
    """Carry out ``mle protocol``; returns the exit code."""
    path = find_database(project=args.project)
    entries = read_entries(path)
    newest = list(reversed(entries if args.all else entries[-args.tail:]))
    if args.json:
        print(dumps_json([e.as_dict() for e in newest], indent=2))
        return 0
    if path is None or not path.is_file():
        print(f"mle: no experiment history {'at ' + str(path) if path else 'found'} "
              f"(mle run records one; see {HISTORY_DB_ENV})")
        return 0
    print(format_table(newest))
    if len(newest) < len(entries):
        print(f"({len(newest)} newest of {len(entries)}; --all lists every launch)")
    return 0
