"""The interpreters a sweep benchmark runs the launcher, its jobs and the direct commands
under (issue 18).

This machine's site-packages holds a ``.pth`` file (outside the project) that imports
``certifi``, and with it ``pathlib``, ``re``, ``typing`` and ``importlib.resources``, at
every interpreter start: ~50 ms of every process. A sweep benchmark that starts ~20
processes (a launcher, its jobs, the same commands run directly) measures that artefact
many times over, and no user's machine need have it. So the sweep figures are measured
under two interpreters, in alternation:

- ``clean``: a virtual environment without site-packages (``timing.clean_python``), with
  the package and PyYAML (the launcher's one third-party import) found through
  PYTHONPATH: a folder holding symlinks to this environment's ``yaml`` package (its C
  extension ``yaml/_yaml*.so`` inside it) and its ``_yaml`` shim package, as ``pip show -f
  pyyaml`` lays them out. The launcher runs its jobs with its own ``sys.executable``, so
  they run clean too.
- ``site``: this environment's interpreter as it is, ``.pth`` and all (the figures as they
  were measured before 2026-12-02), labelled "with this machine's site .pth".
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from timing import clean_python

ROOT = str(Path(__file__).resolve().parent.parent)
# What the ``mle`` console script runs (pip writes these lines, and an ``.exe`` suffix
# check, into bin/mle); the launcher is started this way rather than as ``python -m
# mle_toolbox``, which adds runpy and importlib.util to every launch.
CONSOLE_SCRIPT = "import sys\nfrom mle_toolbox.cli import main\nsys.exit(main())"
LABELS = {"clean": "clean interpreter", "site": "with this machine's site .pth"}


@dataclass(frozen=True)
class Interpreter:
    """A Python to start processes with, and the PYTHONPATH entries it needs."""

    name: str  # "clean" or "site"
    python: str
    path: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How the figures measured under it are labelled."""
        return LABELS[self.name]

    def mle(self, *args: str) -> list[str]:
        """argv of ``mle ARGS`` under this interpreter, started as the console script is."""
        return [self.python, "-c", CONSOLE_SCRIPT, *args]

    def environ(self, tree: str = ROOT) -> dict[str, str]:
        """The current environment (read now: bytecode_cached changes it), with the source
        tree ``tree`` and this interpreter's own entries on PYTHONPATH."""
        return {**os.environ, "PYTHONPATH": os.pathsep.join((tree, *self.path))}


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{name} is not importable here: the launcher needs PyYAML")
    return Path(spec.origin).parent


def clean(folder: Path) -> Interpreter:
    """A clean interpreter in ``folder`` (a venv, ``folder/venv``), PyYAML importable from
    ``folder/site`` (symlinks to this environment's ``yaml`` and ``_yaml`` packages)."""
    folder.mkdir(parents=True, exist_ok=True)
    python = clean_python(folder / "venv")
    site = folder / "site"
    site.mkdir(exist_ok=True)
    for name in ("yaml", "_yaml"):
        link = site / name
        if not link.exists():
            link.symlink_to(_package_dir(name), target_is_directory=True)
    return Interpreter("clean", python, (str(site),))


def this_environment() -> Interpreter:
    """This environment's interpreter as it is, site-packages and its ``.pth`` included."""
    return Interpreter("site", sys.executable)


def chosen(which: str, folder: Path) -> list[Interpreter]:
    """``clean``, ``site`` or ``both`` (clean first: the judged figures)."""
    kept = [] if which == "site" else [clean(folder)]
    return kept + ([] if which == "clean" else [this_environment()])
