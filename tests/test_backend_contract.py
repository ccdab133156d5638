"""The backend contract (tests/backend_contract.py) on every backend available here.

local always runs; sge and sge-drmaa need the real cluster (CI has one and sets
MLE_REQUIRE_SGE=1, plus DRMAA_LIBRARY_PATH and the jemalloc LD_PRELOAD); slurm needs
the real Slurm (CI runs scripts/slurm-local.sh and sets MLE_REQUIRE_SLURM=1).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mle_toolbox.backends import get_backend
from mle_toolbox.backends.base import Backend
from mle_toolbox.errors import BackendUnavailable
from tests.backend_contract import CONTRACT


def _factory(name: str) -> Callable[[], Backend]:
    try:
        get_backend(name)
    except BackendUnavailable as err:
        required = "MLE_REQUIRE_SLURM" if name == "slurm" else "MLE_REQUIRE_SGE"
        if os.environ.get(required) == "1":
            raise
        pytest.skip(f"{name}: {err}")
    return lambda: get_backend(name)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", ["local", "sge", "sge-drmaa", "slurm"])
@pytest.mark.parametrize("clause", CONTRACT, ids=[c.__name__ for c in CONTRACT])
def test_backend_keeps_the_contract(name: str, clause: Callable[..., None],
                                    tmp_path: Path) -> None:
    clause(_factory(name), tmp_path)
