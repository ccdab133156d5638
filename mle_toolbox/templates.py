"""Files from ``templates/``, shipped in the wheel as ``mle_toolbox/_templates``."""

from __future__ import annotations

from pathlib import Path

from .errors import MleError


def template_dir() -> Path:
    """Folder holding the templates, installed or in a source checkout."""
    installed = _package_dir() / "_templates"
    if installed.is_dir():
        return installed
    # Editable installs and source checkouts: templates/ sits beside the package.
    checkout = Path(__file__).resolve().parent.parent / "templates"
    if checkout.is_dir():
        return checkout
    raise MleError(f"templates not found (looked in {installed} and {checkout}); "
                   "reinstall mle_toolbox")


def _package_dir() -> Path:
    """The package's folder: for a package on disk, what ``importlib.resources.files``
    returns, without importing importlib.resources (~6 ms, with tempfile, zipfile and
    importlib.readers) at every launch (the local backend asks for its job wrapper)."""
    here = Path(__file__).parent
    if here.is_dir():
        return here
    from importlib import resources  # a zipped package: only importlib knows its files

    return Path(str(resources.files("mle_toolbox")))


def template_path(name: str) -> Path:
    """Path of one template file."""
    path = template_dir() / name
    if not path.is_file():
        raise MleError(f"template {name!r} missing from {path.parent}; reinstall mle_toolbox")
    return path


def read_template(name: str) -> str:
    """Text of one template file."""
    return template_path(name).read_text(encoding="utf-8")
