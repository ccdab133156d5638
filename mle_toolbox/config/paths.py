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

import collections
import functools
import os
import stat
import sys
from collections.abc import Sequence
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
        cwd, yaml_dir = str(self.cwd), str(self.yaml_dir)
        first = _joined(cwd, name)
        if cwd == yaml_dir:  # the usual case: one place
            return (first,)
        second = _joined(yaml_dir, name)
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
        return known_path(place if place.startswith("/") else os.path.abspath(place)), anchor

    def find_files(self, src: Source, path: KeyPath, names: Sequence[str], *,
                   what: str) -> tuple[Path, ...]:
        """``find`` for each of a list of file names at ``path`` (``path + (index,)``).

        The same places, checks and messages; the usual case (one regular file found)
        costs no key path or Path parsing per name (a sweep names 20,000), and one stat,
        or none where the file is seen in a listing of its folder (many names in one).
        """
        files: list[Path] = []
        folder = str(self.cwd)
        # The usual case inline: both anchors the same normal folder, a plain name.
        one_folder = folder == str(self.yaml_dir) and _normal_folder(folder)
        listed = _regular_files(folder, names) if one_folder else frozenset()
        for index, name in enumerate(names):
            place: str | None
            if one_folder and _plain(name):
                place = joined = f"{folder}/{name}"
                if joined not in listed:
                    info = _stat(joined)
                    place = joined if info is not None and stat.S_ISREG(info.st_mode) else None
            else:
                place = _only_file(self._places(name))
            if place is not None and place.startswith("/"):
                files.append(known_path(place))
            else:  # none, two, not a file (or a relative place): find words it
                files.append(self.find(src, (*path, index), name, what=what)[0])
        return tuple(files)

    def override(self, name: str, *, flag: str, what: str) -> Path:
        """A path given on the command line: relative to the working directory only."""
        file = Path(os.path.normpath(self.cwd / name))
        if not file.is_file():
            problem = "does not exist" if not file.exists() else "is not a file"
            raise ConfigError(f"{what} {display_name(file)!r} {problem}", key=flag)
        return file


# pathlib before 3.12 parses every name it is given (about three quarters of the cost of a
# Path per config file); a name that is already normal needs none of that work.
_FROM_PARTS = (getattr(type(Path()), "_from_parsed_parts", None)
               if sys.version_info < (3, 12) and os.name == "posix" else None)


def known_path(name: str) -> Path:
    """``Path(name)`` for an absolute name; built from its parts without parsing where the
    name is normal (no empty or '.' part: what ``os.path.normpath`` gives), which is the
    same Path (equal, same parts, text and hash) at a fraction of the cost."""
    parts = name.split("/")
    if _FROM_PARTS is None or parts[0] or len(parts) < 2:
        return Path(name)
    parts[0] = "/"
    if "" in parts or "." in parts:
        return Path(name)
    path: Path = _FROM_PARTS("", "/", parts)
    # What pathlib would work out on first use, each through a caught AttributeError: the
    # text, and the hash (of the parts it compares: a POSIX path's own).
    object.__setattr__(path, "_str", name)
    object.__setattr__(path, "_hash", hash(tuple(parts)))
    return path


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
    wrapped = f"/{name}/"  # an empty name, or one with a leading or trailing '/', has '//'
    return "//" not in wrapped and "/./" not in wrapped and "/../" not in wrapped


def _stat(place: str) -> os.stat_result | None:
    """The place's stat (symlinks followed), or None where nothing (readable) is."""
    try:
        return os.stat(place)
    except (OSError, ValueError):  # ValueError: a NUL byte in the name
        return None


# From this many names in one folder on, the folder is listed once instead of a stat each.
LISTING_FROM = 64


def _regular_files(folder: str, names: Sequence[str]) -> frozenset[str]:
    """``folder/name`` of every regular file (not a symlink: those are stat'ed) in the
    folders under ``folder`` that LISTING_FROM or more of ``names`` are in."""
    wanted = collections.Counter([name.rpartition("/")[0] for name in names])
    regular: list[str] = []
    for head, count in wanted.items():
        if count >= LISTING_FROM and (not head or _plain(head)):  # as names are looked up
            # A folder of many other files is listed only as far as a few times the names
            # wanted from it; a name not seen by then gets its own stat.
            regular += _listed(f"{folder}/{head}" if head else folder, limit=4 * count)
    return frozenset(regular)


def _listed(folder: str, *, limit: int) -> list[str]:
    """Paths of the regular files among the first ``limit`` entries of ``folder``."""
    found: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for seen, entry in enumerate(entries):
                if seen == limit:
                    break
                if entry.is_file(follow_symlinks=False):  # from the listing's file type
                    found.append(entry.path)
    except (OSError, ValueError):  # not a folder, not readable; ValueError: a NUL byte
        return []
    return found


def _only_file(places: tuple[str, ...]) -> str | None:
    """The one place where something is, when that is a regular file; else None."""
    found = None
    for place in places:
        info = _stat(place)
        if info is not None:
            if found is not None or not stat.S_ISREG(info.st_mode):
                return None
            found = place
    return found


def _same(one: os.stat_result, two: os.stat_result) -> bool:
    return (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino)


@record
class Overrides:
    """Paths given on the ``mle run`` command line (mle-toolbox 0.3.x flags)."""

    train_fname: str | None = None
    train_config: str | None = None
    experiment_dir: str | None = None
