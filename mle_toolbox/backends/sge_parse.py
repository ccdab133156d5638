"""Parsers of Grid Engine command output: pure functions, tested on recorded output."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..errors import SubmissionError
from ..records import record

_TERSE = re.compile(r"^(\d+)(?:\.(\d+)-(\d+):(\d+))?$")
_RANGE = re.compile(r"^(\d+)(?:-(\d+)(?::(\d+))?)?$")


@record
class Submitted:
    """A job id from ``qsub -terse``: ``123`` or ``123.1-10:1`` for an array."""

    job_number: str
    first_task: int | None = None
    last_task: int | None = None


def parse_qsub_terse(stdout: str) -> Submitted:
    """The job id ``qsub -terse`` printed; SubmissionError when there is none."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    match = _TERSE.match(lines[-1]) if lines else None
    if match is None:
        raise SubmissionError(f"qsub printed no job id (output: {stdout.strip()!r})")
    number, first, last, _step = match.groups()
    if first is None:
        return Submitted(job_number=number)
    return Submitted(job_number=number, first_task=int(first), last_task=int(last))


@record
class QueuedJob:
    """One line of ``qstat -xml``: a job or some tasks of an array job."""

    job_number: str
    name: str
    state: str  # SGE state letters: qw, hqw, r, t, Eqw, dr, ...
    tasks: str | None  # "3", "4-10:1", "1,3-5:1" or None for a non-array job
    owner: str = ""  # JB_owner: whose job it is (``qstat -u '*'`` lists everyone's)
    slots: int = 1  # slots each task of this line holds or asks for

    @property
    def running(self) -> bool:
        """Holding slots: running, being transferred or being deleted while running."""
        return is_running_state(self.state)

    def task_count(self) -> int:
        """How many tasks (jobs) this line stands for."""
        ids = self.task_ids()
        return 1 if ids is None else len(ids)

    def task_ids(self) -> set[int] | None:
        """The array task ids this line covers (None for a non-array job)."""
        if self.tasks is None:
            return None
        ids: set[int] = set()
        for part in self.tasks.split(","):
            match = _RANGE.match(part.strip())
            if match is None:
                continue  # an unknown form is not ours to guess at
            first = int(match.group(1))
            last = int(match.group(2) or first)
            step = int(match.group(3) or 1)
            ids.update(range(first, last + 1, step))
        return ids


def parse_qstat_xml(text: str) -> list[QueuedJob]:
    """Every job line of ``qstat -xml`` (running ones and pending ones)."""
    if not text.strip():
        return []
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise SubmissionError(f"cannot parse qstat -xml output ({err})") from err
    jobs = []
    for item in root.iter("job_list"):
        number = (item.findtext("JB_job_number") or "").strip()
        if not number:
            continue
        tasks = item.findtext("tasks")
        slots = (item.findtext("slots") or "").strip()
        jobs.append(QueuedJob(
            job_number=number, name=(item.findtext("JB_name") or "").strip(),
            state=(item.findtext("state") or "").strip(),
            tasks=tasks.strip() if tasks and tasks.strip() else None,
            owner=(item.findtext("JB_owner") or "").strip(),
            slots=int(slots) if slots.isdigit() else 1,
        ))
    return jobs


def is_running_state(letters: str) -> bool:
    """True for SGE state letters of a job that holds its slots (r, t, dr, Rr, ...)."""
    return "E" not in letters and any(c in letters for c in "rtd")


def queue_states(jobs: list[QueuedJob]) -> dict[str, str]:
    """Map native ids (``123`` or ``123.4``) to SGE state letters.

    Pending array ranges are expanded; the running tasks of an array have lines of
    their own, and those win over a pending range that names the same task.
    """
    states: dict[str, str] = {}
    for job in sorted(jobs, key=lambda j: j.state.startswith("r")):
        ids = job.task_ids()
        if ids is None:
            states[job.job_number] = job.state
        else:
            states.update({f"{job.job_number}.{task}": job.state for task in ids})
    return states


def parse_error_reason(text: str) -> str:
    """The ``error reason`` lines of ``qstat -j ID`` (why a job is in Eqw), joined."""
    reasons = []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().startswith("error reason"):
            reasons.append(value.strip())
    return "; ".join(reasons)


def parse_max_aj_tasks(text: str, *, default: int = 75000) -> int:
    """``max_aj_tasks`` from ``qconf -sconf`` (0 means unlimited; use the default)."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "max_aj_tasks" and parts[1].isdigit():
            value = int(parts[1])
            return value if value > 0 else default
    return default
