"""Parsers of Slurm command output: pure functions, tested on recorded output."""

from __future__ import annotations

import re

from ..errors import SubmissionError
from ..records import record
from ..spec import JobState

_PARSABLE = re.compile(r"^(\d+)(?:;\S+)?$")
_TASK_RANGE = re.compile(r"^(\d+)(?:-(\d+)(?::(\d+))?)?$")
# squeue prints the pending tasks of an array without -r as ``12_[3-7,9%2]``.
_ARRAY_ID = re.compile(r"^(\d+)_\[([^\]]*)\]$")
SQUEUE_FORMAT = "%i|%T|%r|%j"

# States of jobs still in the scheduler's hands; anything else has ended.
_PENDING = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING",
                      "RESV_DEL_HOLD"})
_RUNNING = frozenset({"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT", "SUSPENDED",
                      "STOPPED", "RESIZING"})
# Pending reasons that never clear without an administrator: the job would wait forever.
STUCK_REASONS = frozenset({"PartitionConfig", "BadConstraints", "PartitionNodeLimit",
                           "PartitionTimeLimit", "InvalidAccount", "InvalidQOS",
                           "QOSJobLimit", "AssocGrpJobsLimit", "ReqNodeNotAvail"})


def parse_sbatch_parsable(stdout: str) -> str:
    """The job id ``sbatch --parsable`` printed (``123`` or ``123;cluster``)."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    match = _PARSABLE.match(lines[-1]) if lines else None
    if match is None:
        raise SubmissionError(f"sbatch printed no job id (output: {stdout.strip()!r})")
    return match.group(1)


@record
class QueuedJob:
    """One line of ``squeue -h -r -o '%i|%T|%r|%j'``."""

    native_id: str  # "123" or "123_4" (array job 123, task 4)
    state: str  # PENDING, RUNNING, COMPLETING, ...
    reason: str
    name: str

    @property
    def array_id(self) -> str:
        """The job id of the array (the job's own id if it is no array task)."""
        return self.native_id.split("_")[0]

    @property
    def job_state(self) -> JobState | None:
        """PENDING or RUNNING while Slurm holds the job; None once it has ended."""
        if self.state in _PENDING:
            return JobState.PENDING
        if self.state in _RUNNING:
            return JobState.RUNNING
        return None


def is_held(job: QueuedJob) -> bool:
    """True for a task that waits for someone to release it (``scontrol hold`` /
    ``requeuehold``, or held by Slurm): squeue shows the state PENDING (22.05) or
    REQUEUE_HOLD and a reason such as JobHeldAdmin or "job requeued in held state"."""
    return job.state == "REQUEUE_HOLD" or "held" in job.reason.lower()


def parse_squeue(text: str) -> list[QueuedJob]:
    """Every line of ``squeue -h -r -o SQUEUE_FORMAT``; array ranges are expanded.

    The job name is the last field, so a name containing ``|`` stays whole.
    """
    jobs: list[QueuedJob] = []
    for line in text.splitlines():
        parts = line.strip().split("|", 3)
        if len(parts) != 4 or not parts[0]:
            continue
        native, state, reason, name = parts
        jobs += [QueuedJob(native_id=i, state=state.strip(), reason=reason.strip(), name=name)
                 for i in _expand_ids(native.strip())]
    return jobs


def _expand_ids(native: str) -> list[str]:
    match = _ARRAY_ID.match(native)
    if match is None:
        return [native]
    array, spec = match.groups()
    ids: list[str] = []
    for part in spec.split("%")[0].split(","):
        found = _TASK_RANGE.match(part.strip())
        if found is None:
            continue  # an unknown form is not ours to guess at
        first = int(found.group(1))
        last = int(found.group(2) or first)
        ids += [f"{array}_{task}" for task in range(first, last + 1, int(found.group(3) or 1))]
    return ids


# Everyone's jobs for ``mle monitor``: id, state, user, CPUs, then the name (may hold |).
USAGE_FORMAT = "%i|%T|%u|%C|%j"


@record
class UsageLine:
    """One job (array task) of ``squeue -h -r -o USAGE_FORMAT``."""

    native_id: str
    state: str
    user: str
    cpus: int
    name: str

    @property
    def job_state(self) -> JobState | None:
        """PENDING or RUNNING while Slurm holds the job; None once it has ended."""
        return QueuedJob(self.native_id, self.state, "", self.name).job_state


def parse_squeue_usage(text: str) -> list[UsageLine]:
    """Every line of ``squeue -h -r -o USAGE_FORMAT``; array ranges are expanded."""
    lines: list[UsageLine] = []
    for line in text.splitlines():
        parts = line.strip().split("|", 4)
        if len(parts) != 5 or not parts[0]:
            continue
        native, state, user, cpus, name = parts
        count = int(cpus) if cpus.strip().isdigit() else 1
        lines += [UsageLine(native_id=i, state=state.strip(), user=user.strip(), cpus=count,
                            name=name) for i in _expand_ids(native.strip())]
    return lines


def parse_key_values(text: str) -> dict[str, str]:
    """``Key=Value`` pairs of ``scontrol show job`` / ``scontrol show config``.

    ``scontrol show config`` writes ``Key = Value``; values run to the next key.
    """
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        if " = " in line:
            key, _, value = line.partition(" = ")
            pairs[key.strip()] = value.strip()
            continue
        for item in line.split():
            key, sep, value = item.partition("=")
            if sep:
                pairs.setdefault(key, value)
    return pairs


def parse_max_array_size(text: str, *, default: int = 1001) -> int:
    """``MaxArraySize`` of ``scontrol show config``: task ids go up to this minus one."""
    value = parse_key_values(text).get("MaxArraySize", "")
    return int(value) if value.isdigit() and int(value) > 0 else default


@record
class EndedJob:
    """What ``scontrol show job`` remembers of a job (until MinJobAge passes)."""

    state: str
    exit_code: int | None
    signal: int | None
    reason: str
    started: bool  # a node ran its batch script (there is a BatchHost)

    @property
    def is_over(self) -> bool:
        """True once Slurm has finished with the job (it will not run again)."""
        return self.state not in _PENDING and self.state not in _RUNNING


def parse_scontrol_job(text: str) -> EndedJob | None:
    """State, ``ExitCode=code:signal`` and reason of one ``scontrol show job``."""
    pairs = parse_key_values(text)
    if "JobState" not in pairs:
        return None
    code, _, sig = pairs.get("ExitCode", "").partition(":")
    return EndedJob(state=pairs["JobState"], exit_code=int(code) if code.isdigit() else None,
                    signal=int(sig) if sig.isdigit() else None,
                    reason=pairs.get("Reason", "None"), started=bool(pairs.get("BatchHost")))
