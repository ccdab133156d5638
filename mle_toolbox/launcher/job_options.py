"""Which ``single_job_args`` the chosen backend uses; the rest is named once.

mle-toolbox YAMLs carry mle-scheduler's options for every backend in one file.
Each one is used where it means something (the SGE and Slurm scripts render the
scheduler ones); on the other backends it is accepted and named in one note at
launch (and in ``--dry-run``), never warned about as an unknown key.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from ..backends.base import Backend
    from ..config.meta_types import MetaConfig

# Options only a batch scheduler acts on (rendered into the SGE / Slurm job scripts).
SCHEDULER_ONLY = ("memory_per_job", "memory_per_cpu", "queue", "partition", "project",
                  "account", "extra_directives", "gpu_type", "exclude_nodes",
                  "include_nodes", "modules_to_load", "log_file", "err_file",
                  "jobs_per_task", "job_duration_hint")
# Options of mle-toolbox's own launch modes: submission pacing and ssh launches.
NEVER_USED = ("time_between_launch", "remote_exec_dir")


def unused_note(meta: MetaConfig, *, backend: Backend | type[Backend]) -> str | None:
    """One line naming the given options the backend does not use, or None."""
    parts = []
    if not backend.jobs_outlive_launcher:  # no batch scheduler renders these
        local = [key for key in SCHEDULER_ONLY if key in meta.job_keys]
        if local:
            parts.append(f"{', '.join(local)} (for the sge and slurm backends)")
    never = [key for key in NEVER_USED if key in meta.job_keys]
    if never:
        parts.append(f"{', '.join(never)} (mle-toolbox's submission pacing and ssh "
                     "launches; jobs here start as slots free up)")
    if not parts:
        return None
    return f"single_job_args not used on the {backend.name} backend: {'; '.join(parts)}"
