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

import functools
import os
import stat
from pathlib import Path

from ..errors import ConfigError
from ..records import record
from .source import KeyPath, Source, display_name


@record
class Anchors:
    """The two folders a relative path may start from."""

    cwd: Path
    yaml_dir: Path

    def candidates(self, name: str) -> tuple[Path, ...]:
        """Where ``name`` may be, first match wins (one place for absolute names)."""
        return tuple(Path(place) for place in self._places(name))

    def _places(self, name: str) -> tuple[str, ...]:
        # Strings, not Paths: pathlib's parsing was most of the cost of a sweep that
        # names 20,000 config files (issue 18).
        if name.startswith("/"):
            return (os.path.normpath(name),)
        first = _joined(str(self.cwd), name)
        second = _joined(str(self.yaml_dir), name)
        return (first,) if first == second else (first, second)

    def find(self, src: Source, path: KeyPath, name: str, *, what: str,
             directory: bool = False) -> tuple[Path, Path]:
        """(the file, the folder it was found from); ConfigError at ``path`` otherwise."""
        places = self._places(name)
        # One stat per place: a sweep names thousands of config files.
        found = [(place, info) for place in places if (info := _stat(place)) is not None]
        if len(found) == 2 and not _same(found[0][1], found[1][1]):
            raise src.error(path, f"{what} {name!r} names two different files: "
                            f"{display_name(Path(found[0][0]))} (from the working directory) "
                            f"and {display_name(Path(found[1][0]))} (from the meta YAML's "
                            "folder); write the path so that it names one of them")
        if not found:
            if len(places) == 1:
                raise src.error(path, f"{what} {display_name(Path(places[0]))!r} does not exist")
            raise src.error(path, f"{what} {name!r} does not exist in the working directory "
                            f"({self.cwd}) nor in the meta YAML's folder ({self.yaml_dir})")
        place, info = found[0]
        if not directory and not stat.S_ISREG(info.st_mode):
            raise src.error(path, f"{what} {display_name(Path(place))!r} is not a file")
        # Found from the working directory only when it was the first of two places.
        anchor = self.cwd if len(places) == 2 and place == places[0] else self.yaml_dir
        return Path(place if place.startswith("/") else os.path.abspath(place)), anchor

    def override(self, name: str, *, flag: str, what: str) -> Path:
        """A path given on the command line: relative to the working directory only."""
        file = Path(os.path.normpath(self.cwd / name))
        if not file.is_file():
            problem = "does not exist" if not file.exists() else "is not a file"
            raise ConfigError(f"{what} {display_name(file)!r} {problem}", key=flag)
        return file


def _joined(folder: str, name: str) -> str:
    """``normpath(join(folder, name))``, without normpath's work for plain names."""
    if _plain(name) and _normal_folder(folder):
        return f"{folder}/{name}"
    return os.path.normpath(os.path.join(folder, name))


@functools.lru_cache(maxsize=64)
def _normal_folder(folder: str) -> bool:
    """An absolute folder other than ``/`` that normpath leaves as it is (asked per file)."""
    return folder.startswith("/") and folder != "/" and _plain(folder[1:])


def _plain(name: str) -> bool:
    """A relative name that normpath leaves as it is (no '.', '..', '//', trailing '/')."""
    return bool(name) and not name.startswith("/") and not name.endswith("/") \
        and "//" not in name and "/./" not in f"/{name}/" and "/../" not in f"/{name}/"


def _stat(place: str) -> os.stat_result | None:
    """The place's stat (symlinks followed), or None where nothing (readable) is."""
    try:
        return os.stat(place)
    except (OSError, ValueError):  # ValueError: a NUL byte in the name
        return None


def _same(one: os.stat_result, two: os.stat_result) -> bool:
    return (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino)


@record
class Overrides:
    """Paths given on the ``mle run`` command line (mle-toolbox 0.3.x flags)."""

    train_fname: str | None = None
    train_config: str | None = None
    experiment_dir: str | None = None
