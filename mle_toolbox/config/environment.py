"""``single_job_args.env_name``: which Python a job runs with.

mle-toolbox meta YAMLs name a conda env (``env_name`` with ``use_conda_venv: true``,
in every published example) or a virtualenv (``use_venv_venv: true``: a folder under
``$WORKON_HOME``, as mle-scheduler activates it; here also a path). Decided once, at
launch, on the launcher's machine:

* conda is not installed here: jobs run with the launcher's own Python, as
  mle-toolbox does there, and the launch (and ``--dry-run``) says so in one warning;
* conda is installed but has no env of that name: a ConfigError before anything
  starts, naming the env;
* ``use_conda_venv: false`` and no venv: the launcher's Python, env_name unused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..spec import Environment
from .paths import Anchors
from .schema import Node
from .source import display_name

CONDA_TIMEOUT_S = 60  # `conda env list` reads every env's metadata: slow, bounded


def environment(job: Node, *, anchors: Anchors) -> Environment:
    """The Environment of ``single_job_args`` (see the module docstring)."""
    name = job.string("env_name")
    use_venv = job.boolean("use_venv_venv", default=False)
    use_conda = job.boolean("use_conda_venv", default=True)
    if name is None:
        return Environment()
    if use_venv or "/" in name:
        return Environment(venv=_venv(job, name, anchors=anchors))
    if not use_conda:
        return Environment()
    conda = conda_executable()
    if conda is None:
        job.src.warn((*job.path, "env_name"), f"conda is not installed here (no conda on "
                     f"PATH); jobs run with the launcher's Python {sys.executable} instead "
                     f"of conda env {name!r}")
        return Environment()
    envs = conda_envs(conda)
    if envs is None:
        job.src.warn((*job.path, "env_name"), f"could not list the conda envs with {conda}; "
                     f"jobs activate conda env {name!r} as named")
    elif name not in envs:
        raise job.error("env_name", f"conda env {name!r} does not exist (conda env list: "
                        f"{', '.join(sorted(envs)) or 'none'}); create it or change env_name")
    return Environment(conda_env=name)


def _venv(job: Node, name: str, *, anchors: Anchors) -> Path:
    places = list(anchors.candidates(name))
    workon = os.environ.get("WORKON_HOME")
    if workon and "/" not in name:  # mle-scheduler: $WORKON_HOME/<env_name>
        places.insert(0, Path(workon) / name)
    found = [p for p in places if (p / "bin" / "activate").is_file()]
    if not found:
        raise job.error("env_name", f"{display_name(places[-1])!r} is not a virtual "
                        "environment (no bin/activate)")
    return found[0].absolute()


def conda_executable() -> str | None:
    """conda of this shell ($CONDA_EXE, set by ``conda init``) or on PATH."""
    exe = os.environ.get("CONDA_EXE")
    if exe and Path(exe).is_file():
        return exe
    from shutil import which  # here: shutil (bz2, lzma, zlib) only where conda is looked up

    return which("conda")


def conda_envs(conda: str) -> set[str] | None:
    """Names of the conda envs (``base`` for the root prefix); None when unknown."""
    try:
        out = subprocess.run([conda, "env", "list", "--json"], capture_output=True,
                             text=True, timeout=CONDA_TIMEOUT_S, check=False)
        paths = json.loads(out.stdout)["envs"] if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
        return None
    if not isinstance(paths, list):
        return None
    # Named envs live in <prefix>/envs/<name>; the root prefix is "base"; an env made
    # with -p elsewhere has no name to activate it by.
    named = {Path(str(p)).name for p in paths if Path(str(p)).parent.name == "envs"}
    return named | {"base"}
