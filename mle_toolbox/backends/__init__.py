"""Registry of backends: the only place that maps names to classes."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import BackendUnavailable
from .base import Backend

BACKEND_NAMES = ("local",)


def _local() -> Backend:
    from .local import LocalBackend

    return LocalBackend()


_FACTORIES: dict[str, Callable[[], Backend]] = {"local": _local}


def get_backend(name: str) -> Backend:
    """A ready backend by name; BackendUnavailable names the choices or the fix."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise BackendUnavailable(
            f"unknown backend {name!r}; available: {', '.join(BACKEND_NAMES)}"
        )
    return factory()
