"""Open an existing experiment directory for ``mle status/resume/cancel/report/eval``.

Every command that is handed an EXP_DIR goes through ``open_experiment``: a missing
path, a file, a folder that holds no experiment, an unreadable folder and a damaged
``plan.json`` each give one message that names the path (and for plan.json the key
path and line), exit code 2, before anything is read further, written or started.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..config.schema import Node
from ..config.source import Source, display_name, read_text
from ..errors import ConfigError, ExperimentDirError
from ..records import record
from .documents import PlanDocument
from .layout import ExperimentLayout

DAMAGED_HINT = "plan.json is damaged; move the experiment directory away and run mle run again"


@record
class Experiment:
    """An experiment directory whose plan.json was read and checked."""

    layout: ExperimentLayout
    plan: PlanDocument

    @property
    def meta_path(self) -> Path:
        """The meta YAML the experiment was launched from."""
        if self.plan.meta_path is None:
            raise ConfigError(f"required key is missing; {DAMAGED_HINT}",
                              file=display_name(self.layout.plan), key="meta_path")
        return Path(self.plan.meta_path)

    @property
    def project_dir(self) -> Path:
        """The project folder of the launch (its history database lives there)."""
        folder = self.plan.project_dir
        return Path(folder) if isinstance(folder, str) else self.meta_path.parent


def open_experiment(path: str | os.PathLike[str]) -> Experiment:
    """The experiment at ``path``; ExperimentDirError / ConfigError when it is not usable."""
    root = Path(path).absolute()
    shown = display_name(root)
    if not root.exists():
        raise ExperimentDirError(f"{shown}: no such experiment directory")
    if not root.is_dir():
        raise ExperimentDirError(f"{shown} is a file, not an experiment directory")
    if not os.access(root, os.R_OK | os.X_OK):
        raise ExperimentDirError(f"{shown}: cannot read the experiment directory "
                                 "(permission denied)")
    layout = ExperimentLayout(root)
    if not layout.plan.exists():
        raise ExperimentDirError(f"{shown} is not an mle_toolbox experiment directory "
                                 "(no plan.json)")
    return Experiment(layout=layout, plan=read_plan(layout.plan))


def read_plan(path: Path) -> PlanDocument:
    """plan.json, checked: a mapping with meta_path, runs and jobs of the right types."""
    src = Source(display_name(path))
    text = read_text(path, what="plan.json")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"JSON syntax error: {err.msg}; {DAMAGED_HINT}", file=src.display,
                          line=err.lineno) from None
    root = Node.root(doc, src=src, what="plan.json")
    root.string("meta_path")
    for key, fields in (("runs", ("run_id",)), ("jobs", ("run_id", "config_hash"))):
        for item in _mappings(root, key):
            for name in fields:
                item.string(name, required=True)
            if key == "jobs":
                item.integer("seed", required=True)
    return PlanDocument.from_json(doc)


def _mappings(node: Node, key: str) -> list[Node]:
    value = node.data.get(key, [])
    if not isinstance(value, list):
        raise node.error(key, f"expected a list, got {_kind(value)}; {DAMAGED_HINT}")
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise node.src.error((key, index), f"expected a mapping, got {_kind(item)}; "
                                 f"{DAMAGED_HINT}")
        out.append(Node(item, src=node.src, path=(key, index)))
    return out


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
