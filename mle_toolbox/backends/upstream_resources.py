"""What mle-toolbox 0.3.5 knew per ``resource_to_run``, for ``mle_toolbox.utils``' old
helpers (``determine_resource``, ``setup_proxy_server``, ``check_single_job_args``).

Scheduler names and formats stay in this folder (backends/__init__.py says why); the
launcher itself uses none of this.
"""

from __future__ import annotations

LOCAL = "local"
# resource_to_run -> (~/mle_config.toml section, the command that answers when it is here)
_SCHEDULERS = {"sge-cluster": ("sge", "qstat"), "slurm-cluster": ("slurm", "squeue")}
_PROBE_TIMEOUT_S = 10.0  # qstat / squeue answer in well under a second when they work


def probe_resource() -> str:
    """``sge-cluster`` when ``qstat`` runs here, else ``slurm-cluster`` when ``squeue``
    does, else ``local``: each asked once, with a deadline (mle-toolbox's order)."""
    for resource, (_, command) in _SCHEDULERS.items():
        if _answers(command):
            return resource
    return LOCAL


def config_section(resource: str) -> str | None:
    """The ``~/mle_config.toml`` section of a cluster resource; None for ``local``."""
    found = _SCHEDULERS.get(resource)
    return None if found is None else found[0]


def time_per_job_text(resource: str, seconds: int) -> str:
    """A time limit as mle-toolbox handed it to the scheduler: qsub's ``hh:mm:ss``,
    sbatch's ``d-hh:mm`` (``:ss`` when there are seconds)."""
    from ..spec import hms

    if config_section(resource) == "sge":
        return hms(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}-{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _answers(command: str) -> bool:
    import subprocess

    try:
        done = subprocess.run([command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, timeout=_PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
