"""mle-toolbox's pickle helpers: ``save_pkl_object`` / ``load_pkl_object``.

Files are plain pickles at ``pickle.HIGHEST_PROTOCOL`` (what mle-toolbox 0.3.5 writes), so
a file either side saved loads on the other. Only load pickles you trust: unpickling runs
code named in the file.
"""

from __future__ import annotations

import os
from typing import Any


def save_pkl_object(obj: Any, filename: str | os.PathLike[str]) -> None:
    """Pickle ``obj`` into ``filename`` (relative to the working directory), replacing it.

    Written to a temporary file beside it and renamed into place, so a crash never
    leaves half a pickle; missing parent folders are made.
    """
    import pickle

    from ..files.atomic import atomic_binary

    with atomic_binary(filename) as handle:
        pickle.dump(obj, handle, pickle.HIGHEST_PROTOCOL)


def load_pkl_object(filename: str | os.PathLike[str]) -> Any:
    """The object pickled in ``filename`` (any pickle protocol)."""
    import pickle

    with open(filename, "rb") as handle:
        return pickle.load(handle)
