"""Where the relative paths of a meta YAML point.

The rule (README, "Coming from mle-toolbox"): a relative path names a file in the
working directory ``mle run`` was started from (mle-toolbox 0.3.x: ``cd examples &&
mle run toy/x.yaml`` with ``base_train_fname: toy/train.py``); if no such file exists
there, a file in the meta YAML's own folder (``mle run examples/toy/x.yaml`` with
``base_train_fname: train.py``). When both places hold a file of that name and they
are different files, the YAML is ambiguous and refused.

The folder in which ``base_train_fname`` was found is the *project folder*: jobs run
there and ``experiment_dir`` (and the default ``experiments/<stem>``) is relative to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .source import KeyPath, Source, display_name


@dataclass(frozen=True, slots=True)
class Anchors:
    """The two folders a relative path may start from."""

    cwd: Path
    yaml_dir: Path

    def candidates(self, name: str) -> tuple[Path, ...]:
        """Where ``name`` may be, first match wins (one place for absolute names)."""
        if Path(name).is_absolute():
            return (Path(os.path.normpath(name)),)
        first = Path(os.path.normpath(self.cwd / name))
        second = Path(os.path.normpath(self.yaml_dir / name))
        return (first,) if first == second else (first, second)

    def find(self, src: Source, path: KeyPath, name: str, *, what: str,
             directory: bool = False) -> tuple[Path, Path]:
        """(the file, the folder it was found from); ConfigError at ``path`` otherwise."""
        places = self.candidates(name)
        found = [p for p in places if p.exists()]
        if len(found) == 2 and not _same_file(*found):
            raise src.error(path, f"{what} {name!r} names two different files: "
                            f"{display_name(found[0])} (from the working directory) and "
                            f"{display_name(found[1])} (from the meta YAML's folder); "
                            "write the path so that it names one of them")
        if not found:
            if len(places) == 1:
                raise src.error(path, f"{what} {display_name(places[0])!r} does not exist")
            raise src.error(path, f"{what} {name!r} does not exist in the working directory "
                            f"({self.cwd}) nor in the meta YAML's folder ({self.yaml_dir})")
        file = found[0]
        kind_ok = file.is_dir() if directory else file.is_file()
        if not kind_ok and not directory:
            raise src.error(path, f"{what} {display_name(file)!r} is not a file")
        # Found from the working directory only when it was the first of two places.
        anchor = self.cwd if len(places) == 2 and file == places[0] else self.yaml_dir
        return file.absolute(), anchor

    def override(self, name: str, *, flag: str, what: str) -> Path:
        """A path given on the command line: relative to the working directory only."""
        file = Path(os.path.normpath(self.cwd / name))
        if not file.is_file():
            problem = "does not exist" if not file.exists() else "is not a file"
            raise ConfigError(f"{what} {display_name(file)!r} {problem}", key=flag)
        return file


def _same_file(one: Path, two: Path) -> bool:
    try:
        return one.samefile(two)
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class Overrides:
    """Paths given on the ``mle run`` command line (mle-toolbox 0.3.x flags)."""

    train_fname: str | None = None
    train_config: str | None = None
    experiment_dir: str | None = None
