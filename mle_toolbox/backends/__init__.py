"""Registry of backends: the only place that maps names to classes."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import BackendUnavailable
from .base import Backend

BACKEND_NAMES = ("local", "sge", "sge-drmaa", "slurm")


def _local() -> Backend:
    from .local import LocalBackend

    return LocalBackend()


def _sge() -> Backend:
    from .sge import SgeBackend, sge_available

    if not sge_available():
        raise BackendUnavailable(
            "backend 'sge' needs Grid Engine's qsub on PATH and SGE_ROOT set (source your "
            "cluster's settings.sh; on a single machine scripts/sge-local.sh sets one up)"
        )
    return SgeBackend()


def _sge_drmaa() -> Backend:
    from .sge_drmaa import SgeDrmaaBackend

    return SgeDrmaaBackend()


def _slurm() -> Backend:
    from .slurm import SlurmBackend, slurm_available

    if not slurm_available():
        raise BackendUnavailable(
            "backend 'slurm' needs Slurm's sbatch on PATH (load your cluster's Slurm "
            "module; on a single machine scripts/slurm-local.sh sets one up)"
        )
    return SlurmBackend()


_FACTORIES: dict[str, Callable[[], Backend]] = {
    "local": _local, "sge": _sge, "sge-drmaa": _sge_drmaa, "slurm": _slurm,
}


def get_backend(name: str) -> Backend:
    """A ready backend by name; BackendUnavailable names the choices or the fix."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise BackendUnavailable(
            f"unknown backend {name!r}; available: {', '.join(BACKEND_NAMES)}"
        )
    return factory()
