"""Helpers for tests of the example gallery: its numpy modules and copies of examples."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.conftest import REPO

LIB = REPO / "experiments" / "_lib"


def lib(name: str) -> ModuleType:
    """Import ``experiments/_lib/<name>.py`` under a private name (no sys.path change)."""
    key = f"_gallery_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, LIB / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # dataclasses look their module up while being built
        spec.loader.exec_module(module)
    return sys.modules[key]


def copy_example(name: str, dest: Path) -> Path:
    """Copy ``experiments/<name>`` and the shared ``_lib`` beside it, without old runs."""
    ignore = shutil.ignore_patterns("runs", "__pycache__")
    shutil.copytree(LIB, dest / "_lib", ignore=ignore)
    shutil.copytree(REPO / "experiments" / name, dest / name, ignore=ignore)
    return dest / name


def rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a metrics log."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def read_json(path: Path) -> Any:
    """Parsed JSON file."""
    return json.loads(path.read_text())
