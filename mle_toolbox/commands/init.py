"""``mle init [DIR] [--force]``: a new experiment project from ``templates/project``.

Writes a train.py using MLExperiment, an eval.py, a commented base config, meta
YAMLs for a multi-seed sweep and a grid search, and a .gitignore; then prints the
commands that run them. Never asks: existing files are refused unless ``--force``,
and a refusal writes nothing.
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

from ..config.schema import one_line
from ..errors import ConfigError, RefusedOverwrite
from ..files.atomic import write_text_atomic
from ..templates import read_template

# template (under templates/) -> file in the new project
PROJECT_FILES = {
    "project/train.py": "train.py",
    "project/eval.py": "eval.py",
    "project/configs/base.json": "configs/base.json",
    "project/meta_seeds.yaml": "meta_seeds.yaml",
    "project/meta_grid.yaml": "meta_grid.yaml",
    "project/gitignore": ".gitignore",  # a dotfile would be easy to lose in packaging
}


def init_project(target: Path, *, force: bool) -> list[Path]:
    """Write the project files into ``target``; returns the paths written."""
    if target.exists() and not target.is_dir():
        raise RefusedOverwrite(f"{target} exists and is not a directory")
    blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise RefusedOverwrite(f"{target} cannot be created: {blocking} is a file")
    existing = next((p for p in (target, *target.parents) if p.exists()), Path("."))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RefusedOverwrite(f"{target} cannot be written: no write permission in "
                               f"{existing}; nothing was written")
    # Read every template first: a broken installation fails before anything is written.
    texts = {target / dest: read_template(src) for src, dest in PROJECT_FILES.items()}
    present = [path for path in texts if path.exists() or path.is_symlink()]
    if present and not force:
        names = ", ".join(str(path.relative_to(target)) for path in present)
        raise RefusedOverwrite(f"{target} already has {names}; nothing was written. "
                               "Use --force to overwrite them, or choose another directory")
    for path, text in texts.items():
        write_text_atomic(path, text)
    return list(texts)


def init_command(args: argparse.Namespace) -> int:
    """Carry out ``mle init``; prints what was written and how to run it."""
    if not args.dir.strip() or not one_line(args.dir):
        raise ConfigError(f"expected a folder name without line breaks or control "
                          f"characters, got {args.dir!r}", key="DIR")
    target = Path(args.dir)
    written = init_project(target, force=args.force)
    print(f"mle: created an experiment project in {target}:")
    for path in written:
        print(f"  {path.relative_to(target)}")
    where = shlex.quote(str(target))
    print("Run 3 seeds of the base config, then eval.py on each final model:")
    print(f"  cd {where} && mle run meta_seeds.yaml")
    print("Run a grid search over the learning rate:")
    print(f"  cd {where} && mle run meta_grid.yaml")
    print("Evaluate the saved models again later, without retraining:")
    print(f"  cd {where} && mle eval runs/seeds --checkpoint best")
    return 0
