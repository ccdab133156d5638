"""Rows of a results table, from whatever a notebook holds, and matplotlib on demand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INSTALL_HINT = "pip install 'mle_toolbox[plot]'"


def pyplot() -> Any:
    """``matplotlib.pyplot``, or an ImportError naming the pip line."""
    from ..job.trackers import require

    require("matplotlib", extra="plot", feature="mle_toolbox.visualize")
    import matplotlib.pyplot as plt

    return plt


def table_rows(table: Any) -> list[dict[str, Any]]:
    """Row dicts of a HyperLog, a DataFrame, a list of dicts or a dict of columns."""
    inner = getattr(table, "rows", None)
    if isinstance(inner, list):
        return [dict(r) for r in inner]
    if hasattr(table, "to_dict") and not isinstance(table, Mapping):
        return [dict(r) for r in table.to_dict("records")]
    if isinstance(table, Mapping):
        columns = {k: list(v) for k, v in table.items()}
        length = min((len(v) for v in columns.values()), default=0)
        return [{k: v[i] for k, v in columns.items()} for i in range(length)]
    return [dict(r) for r in table]


def select(rows: list[dict[str, Any]], fixed_params: Mapping[str, Any] | None,
           ) -> list[dict[str, Any]]:
    """Rows whose ``fixed_params`` columns equal the given values (numbers as floats)."""
    out = rows
    for key, want in (fixed_params or {}).items():
        out = [r for r in out if _same(r.get(key), want)]
    return out


def _same(value: Any, want: Any) -> bool:
    if isinstance(want, int | float) and not isinstance(want, bool):
        try:
            return float(value) == float(want)
        except (TypeError, ValueError):
            return False
    return str(value) == str(want)


def tick_labels(values: Any, round_ticks: int) -> list[str]:
    """Tick texts as mle-toolbox writes them: rounded numbers, or the text itself."""
    out = []
    for value in values:
        if isinstance(value, str):
            out.append(value)
        elif round_ticks:
            out.append(str(round(float(value), round_ticks)))
        else:
            out.append(str(int(value)))
    return out


def every_nth(labels: Any, nth: int) -> None:
    """Hide all but every ``nth`` tick label."""
    for index, label in enumerate(labels):
        if index % max(nth, 1):
            label.set_visible(False)
