"""What ``mle monitor`` asks the schedulers: ONE ``qstat`` / ``squeue`` call per refresh.

The call lists everyone's jobs (the dashboard shows queued and running jobs per user);
the same listing answers where each of our experiments' jobs stands, so no job is ever
asked about on its own. Parsing reuses the backends' parsers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from ..errors import MleError
from ..records import field, record
from .commands import Output, run_command

QUERY_TIMEOUT_S = 10.0  # a refresh must not hang on a slow qmaster
SGE_BACKENDS = ("sge", "sge-drmaa")
SLURM_BACKENDS = ("slurm",)


@record
class UserLoad:
    """One user's jobs on the scheduler."""

    user: str
    running: int
    queued: int


@record
class QueueView:
    """One scheduler at one refresh: per-user load and the state of each native id."""

    scheduler: str  # "sge" or "slurm"
    users: tuple[UserLoad, ...] = ()
    in_use: int = 0  # SGE slots / Slurm CPUs held by running jobs
    states: dict[str, str] = field(default_factory=dict)  # native id -> running|queued
    error: str = ""  # why the scheduler could not be asked

    @property
    def unit(self) -> str:
        """What ``in_use`` counts."""
        return "slots" if self.scheduler == "sge" else "CPUs"

    @property
    def title(self) -> str:
        """The scheduler's name as people write it."""
        return "Grid Engine" if self.scheduler == "sge" else "Slurm"


Run = Callable[[Sequence[str]], Output]


def _run(argv: Sequence[str]) -> Output:
    return run_command(argv, timeout=QUERY_TIMEOUT_S)


def scheduler_of(backend: str) -> str | None:
    """"sge" / "slurm" for a cluster backend name; None for local."""
    if backend in SGE_BACKENDS:
        return "sge"
    if backend in SLURM_BACKENDS:
        return "slurm"
    return None


def query(scheduler: str, *, run: Run = _run) -> QueueView:
    """Ask ``scheduler`` once; a failure is a QueueView with ``error`` set, never raised."""
    argv = (["qstat", "-xml", "-u", "*"] if scheduler == "sge"
            else ["squeue", "-h", "-r", "-o", _slurm_format()])
    try:
        out = run(argv)
    except MleError as err:
        return QueueView(scheduler, error=str(err))
    if out.returncode != 0:
        why = (out.stderr or out.stdout).strip().splitlines()
        return QueueView(scheduler, error=f"{argv[0]} exited {out.returncode}"
                         + (f": {why[-1]}" if why else ""))
    try:
        return _sge_view(out.stdout) if scheduler == "sge" else _slurm_view(out.stdout)
    except MleError as err:
        return QueueView(scheduler, error=str(err))


def _slurm_format() -> str:
    from .slurm_parse import USAGE_FORMAT

    return USAGE_FORMAT


def _sge_view(text: str) -> QueueView:
    from .sge_parse import parse_qstat_xml, queue_states

    jobs = parse_qstat_xml(text)
    running: Counter[str] = Counter()
    queued: Counter[str] = Counter()
    in_use = 0
    for job in jobs:
        count = job.task_count()
        if job.running:
            running[job.owner] += count
            in_use += count * job.slots
        else:
            queued[job.owner] += count
    letters = queue_states(jobs)
    words = {code: _sge_word(code) for code in set(letters.values())}
    states = {native: words[code] for native, code in letters.items()}
    return QueueView("sge", users=_users(running, queued), in_use=in_use, states=states)


def _sge_word(letters: str) -> str:
    from .sge_parse import is_running_state

    return "running" if is_running_state(letters) else "queued"


def _slurm_view(text: str) -> QueueView:
    from ..spec import JobState
    from .slurm_parse import parse_squeue_usage

    running: Counter[str] = Counter()
    queued: Counter[str] = Counter()
    in_use = 0
    states: dict[str, str] = {}
    for line in parse_squeue_usage(text):
        state = line.job_state
        if state is JobState.RUNNING:
            running[line.user] += 1
            in_use += line.cpus
            states[line.native_id] = "running"
        elif state is JobState.PENDING:
            queued[line.user] += 1
            states[line.native_id] = "queued"
    return QueueView("slurm", users=_users(running, queued), in_use=in_use, states=states)


def _users(running: Counter[str], queued: Counter[str]) -> tuple[UserLoad, ...]:
    names = sorted(set(running) | set(queued),
                   key=lambda u: (-(running[u] + queued[u]), u))
    return tuple(UserLoad(u or "?", running[u], queued[u]) for u in names)
