"""Seeding a job's generators as mle-toolbox does, without importing numpy or torch.

mle-toolbox 0.3.5 imported numpy and torch (when installed) with ``mle_toolbox.utils``,
so ``MLExperiment`` seeded both even in a script that imported them only later (in a
function, or in a module imported after the experiment was made). Importing them here
would cost every job ~0.1-1 s, so a library the script has not imported yet is seeded
the moment it is imported: a finder at the front of ``sys.meta_path`` lets the usual
finders find it and seeds the module once its own code has run. Draws are then what
mle-toolbox's would be; a script that seeds a library itself afterwards still wins.
"""

from __future__ import annotations

import os
import random
import sys

TYPE_CHECKING = False  # typing's flag without importing typing on a job's import path
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType
    from typing import Any

SEEDED_LATER = ("numpy", "torch")


def seed_numpy(numpy: Any, seed: int) -> None:
    """Seed numpy's global generator (numpy takes seeds in [0, 2**32))."""
    numpy.random.seed(seed % 2**32)


def seed_torch(torch: Any, seed: int) -> None:
    """Seed torch on the CPU and every CUDA device, with deterministic cuDNN kernels,
    as mle-toolbox does (``manual_seed`` seeds the CUDA devices too, lazily: no CUDA
    initialisation here)."""
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.manual_seed(seed)


_SEEDERS = {"numpy": seed_numpy, "torch": seed_torch}


def seed_everything(seed: int) -> None:
    """Seed ``random`` and ``PYTHONHASHSEED`` (for child processes) now; numpy and torch
    now if imported, else when the script imports them."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    later = []
    for name in SEEDED_LATER:
        module = sys.modules.get(name)
        if module is None:
            later.append(name)
        else:
            _SEEDERS[name](module, seed)
    for finder in [f for f in sys.meta_path if isinstance(f, SeedOnImport)]:
        sys.meta_path.remove(finder)  # a second experiment in one process: its seed now
    if later:
        sys.meta_path.insert(0, SeedOnImport(names=later, seed=seed))


class SeedOnImport:
    """A ``sys.meta_path`` finder that finds nothing itself: for the libraries in
    ``names`` it asks the finders after it and wraps the found loader's ``exec_module``
    so that the module is seeded once it has run. It leaves ``sys.meta_path`` when all
    of them are seeded."""

    def __init__(self, *, names: Sequence[str], seed: int) -> None:
        self.pending = set(names)
        self.seed = seed

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> Any:
        """The spec the other finders give for a pending library, seeding it once run."""
        if fullname not in self.pending:
            return None
        spec = self._find_elsewhere(fullname, path, target)
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec  # not found (the import fails as usual), or an old-style loader
        seed = self._seeded(fullname, run)
        try:
            loader.exec_module = seed  # type: ignore[union-attr]  # this loader only
        except AttributeError:  # a loader without an instance dict: left unseeded
            return spec
        return spec

    def _find_elsewhere(self, fullname: str, path: Sequence[str] | None,
                        target: ModuleType | None) -> Any:
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                return spec
        return None

    def _seeded(self, fullname: str, run: Any) -> Any:
        def exec_module(module: ModuleType) -> None:
            run(module)
            self.pending.discard(fullname)
            if not self.pending and self in sys.meta_path:
                sys.meta_path.remove(self)
            try:
                _SEEDERS[fullname](module, self.seed)
            except Exception as err:  # the import must not fail for it
                print(f"MLExperiment: could not seed {fullname} with {self.seed}: {err}",
                      file=sys.stderr)
        return exec_module
