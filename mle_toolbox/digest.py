"""sha256 without ``hashlib`` (issue 18): hashlib loads OpenSSL's ``_hashlib`` (~3 ms of
every launch, which hashes each config and the meta YAML); CPython's own sha256 module
gives the same digests and loads in a third of that. hashlib where it is missing."""

from __future__ import annotations

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from collections.abc import Callable
    from hashlib import _Hash


def _builtin() -> Callable[[bytes], _Hash] | None:
    for name in ("_sha2", "_sha256"):  # Python >= 3.12, then 3.8-3.11
        try:
            module = __import__(name)
        except ImportError:
            continue
        found: Callable[[bytes], _Hash] | None = getattr(module, "sha256", None)
        if found is not None:
            return found
    return None


_SHA256 = _builtin()


def sha256_hex(data: bytes) -> str:
    """The sha256 hex digest of ``data``, as ``hashlib.sha256(data).hexdigest()``."""
    if _SHA256 is not None:
        return _SHA256(data).hexdigest()
    import hashlib

    return hashlib.sha256(data).hexdigest()
