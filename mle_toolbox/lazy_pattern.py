"""Regular expressions compiled when first used, not when their module is imported.

A launch imports modules whose patterns only some inputs reach (a ``time_per_job`` of
"dd:hh:mm", a memory size, a scheduler log name, a git ref): compiling them at import
cost ~1.5 ms of every ``mle run`` (issue 18). PyYAML's patterns are made lazy the same
way (``config.source.import_yaml``).
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any


class _LazyPattern:
    """A regular expression compiled when first used: every attribute (``match``,
    ``fullmatch``, ``pattern`` ...) is the compiled pattern's own."""

    def __init__(self, pattern: str, flags: int) -> None:
        self._args = (pattern, flags)
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            self._compiled = re.compile(*self._args)
        found = getattr(self._compiled, name)
        setattr(self, name, found)  # the next .match is the pattern's own: no call here
        return found


def compile_on_first_use(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, done on the pattern's first use."""
    return _LazyPattern(pattern, flags)  # type: ignore[return-value]  # a Pattern by proxy
