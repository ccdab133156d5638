"""Registry of backends: the only place that maps names to classes.

Everything scheduler-specific lives in this folder. The rest of the package asks
a backend what it can do (``Backend.jobs_outlive_launcher``,
``shows_scripts_in_dry_run``, ``orphan_folder`` / ``cancel_orphans``) and the
registry which meta-YAML ``resource_to_run`` names select it; no other module
branches on a backend's name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from ..errors import BackendUnavailable
from .base import Backend

BACKEND_NAMES = ("local", "sge", "sge-drmaa", "slurm")
DEFAULT_BACKEND = "local"  # without --backend or resource_to_run; evaluations always
# mle-toolbox's meta-YAML resource_to_run values -> the backend each selects.
RESOURCE_NAMES = {"local": "local", "sge-cluster": "sge", "slurm-cluster": "slurm"}
# Where each backend's class lives: its capabilities are read without building it.
_CLASSES = {"local": (".local", "LocalBackend"), "sge": (".sge", "SgeBackend"),
            "sge-drmaa": (".sge_drmaa", "SgeDrmaaBackend"), "slurm": (".slurm", "SlurmBackend")}


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


def backend_class(name: str) -> type[Backend]:
    """The class of backend ``name``, imported (not built: no scheduler is asked)."""
    module, cls = _CLASSES[name]
    found: type[Backend] = getattr(importlib.import_module(module, __package__), cls)
    return found


def detachable_backends() -> tuple[str, ...]:
    """Backends whose jobs keep running without the launcher (``--detach``)."""
    return tuple(n for n in BACKEND_NAMES if backend_class(n).jobs_outlive_launcher)


def get_backend(name: str) -> Backend:
    """A ready backend by name; BackendUnavailable names the choices or the fix."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise BackendUnavailable(
            f"unknown backend {name!r}; available: {', '.join(BACKEND_NAMES)}"
        )
    return factory()
