"""What a relaunch of an experiment does with each job: skip, re-attach, rerun or keep.

The job files (``exit_code``) and the job table (``.mle/jobs.sqlite``) together say
how each job of an earlier launch ended:

- completed with the same config hash: skipped;
- still queued or running on the scheduler (recorded native id, same hash):
  re-attached, followed to its end, never submitted twice;
- failed (it exited non-zero, was killed or timed out): kept as failed unless
  ``--rerun-failed``;
- its submission was cut short (a ``submitting`` row without a native id: the
  launcher died between writing the row and recording what the scheduler answered):
  found where the submission would have put it (the array named with the row's
  token, the local wrapper process of its job dir, a held ``.live`` lock) and
  re-attached; settled by its exit code if it has ended; rerun only when nothing
  anywhere ran it;
- lost (its launcher died and nothing runs it any more, or it was cancelled):
  rerun;
- its config changed: rerun, and a live job of the old config is cancelled first.

``--force`` reruns everything. ``gather`` reads what is known (job files, the job
table, one scheduler query for the submissions cut short and one for every recorded
live job); ``decide`` is a pure function
of those facts that says what to skip, attach, run, keep failed, cancel and record;
the launch carries it out (``pipeline.settle``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import ExperimentDirError
from ..files.documents import code_hash
from ..files.jobfiles import read_exit_code, status_from_exit_code
from ..records import field, record
from ..spec import JobHandle, JobSpec, JobState, JobStatus, JobTask
from .tasks import make_tasks

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from ..backends.base import Backend
    from ..config.expand import Plan
    from ..files.documents import PlanDocument
    from ..files.layout import ExperimentLayout
    from .jobtable import JobRecord, JobTable


# The table's reason for the row of a submission cut short that nothing ever ran.
CUT_SHORT = "lost: its launcher died while submitting it, before the scheduler took it"


@record
class ResumeFlags:
    """How a relaunch treats earlier jobs."""

    rerun_failed: bool = False
    force: bool = False
    keep_stale: bool = False  # completed with older training code: keep (default: rerun)


@record
class Followed:
    """A job the table says is live, with the scheduler's answer about it."""

    handle: JobHandle
    task: JobTask
    status: JobStatus


@record
class Facts:
    """What is known about the jobs of a plan before a launch (``gather``)."""

    old_hashes: Mapping[str, str]  # config hash of each job in plan.json, by job id
    exit_codes: Mapping[str, int | None]  # of jobs whose files are of the same config
    records: Mapping[str, JobRecord]  # the job table's latest row per job
    code_changed: bool = False  # the training script differs from the last launch's
    followed: Mapping[str, Followed] = field(default_factory=dict)  # live in the table
    # Jobs of a cut-short submission that ended with its ``cancelled`` marker: the
    # launcher cancelled the submission it could not record (runner._mark_cancelled).
    cancelled: frozenset[str] = frozenset()


@record
class Decision:
    """Every job of the plan in exactly one group, and what to do before running."""

    done: tuple[JobSpec, ...]
    todo: tuple[JobSpec, ...]
    attach: tuple[tuple[JobHandle, JobTask], ...]
    failed: tuple[JobSpec, ...]  # failed earlier and not rerun (no --rerun-failed)
    lost: tuple[str, ...]  # job ids rerun because nothing runs them any more
    stale: tuple[str, ...] = ()  # completed with older training code: run again
    cancel: tuple[tuple[JobHandle, JobRecord], ...] = ()  # live jobs of an older config
    record: tuple[tuple[JobRecord, JobStatus], ...] = ()  # ended while no launcher watched
    found: tuple[tuple[JobRecord, JobHandle], ...] = ()  # cut-short submissions found live

    @property
    def cancelled_stale(self) -> int:
        """How many live jobs of an older config are cancelled."""
        return len(self.cancel)


@record(frozen=False, slots=False)
class _Groups:
    done: list[JobSpec] = field(default_factory=list)
    todo: list[JobSpec] = field(default_factory=list)
    failed: list[JobSpec] = field(default_factory=list)
    attach: list[tuple[JobHandle, JobTask]] = field(default_factory=list)
    cancel: list[tuple[JobHandle, JobRecord]] = field(default_factory=list)
    record: list[tuple[JobRecord, JobStatus]] = field(default_factory=list)
    found: list[tuple[JobRecord, JobHandle]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


def code_changed(previous: PlanDocument | None, *, plan: Plan) -> bool:
    """The training script differs from the one the last launch recorded (plan.json).

    Plans written before the code was recorded say nothing: their results are kept.
    """
    if previous is None or previous.code_hash is None:
        return False
    return previous.code_hash != code_hash(plan.meta.train_script)


def gather(plan: Plan, *, layout: ExperimentLayout, previous: PlanDocument | None,
           table: JobTable | None, backend: Backend) -> Facts:
    """Job files, the job table and the scheduler's answers about the jobs it says are live.

    Submissions cut short are looked for first (one query); exit codes are read after
    it, so a job that left the queue in between is settled by the code it wrote.
    Raises ExperimentDirError when live jobs are recorded on another backend.
    """
    old = previous.config_hashes() if previous is not None else {}
    records = table.latest() if table is not None else {}
    changed = code_changed(previous, plan=plan)
    rows = [(job, records[job.job_id]) for job in plan.jobs
            if job.job_id in records and records[job.job_id].live]
    natives = {job.job_id: r.native_id for job, r in rows if r.native_id is not None}
    # Cut short on this backend (on another one such a row is only lost, as before).
    cut = [(job, r) for job, r in rows if r.native_id is None and r.backend == backend.name]
    # Tasks of every live row, built once: the lookup and the re-attach share them.
    tasks = {t.job_id: t for t in make_tasks(plan, layout=layout,
                                             jobs=tuple(job for job, _ in rows))}
    if cut:
        natives.update(backend.find_submitted([(tasks[job.job_id], r.token)
                                               for job, r in cut],
                                              internal_dir=layout.internal_dir))
    codes = {job.job_id: read_exit_code(layout.job(job.run_id, job.seed).exit_code)
             for job in plan.jobs if old.get(job.job_id) == job.config_hash}
    # Looked for only where a cut-short job ended badly: no file work per job otherwise.
    cancelled = frozenset(job.job_id for job, _ in cut if codes.get(job.job_id)
                          and tasks[job.job_id].files.cancelled.exists())
    # Live in the table (or found), and not completed by its own exit code.
    running = [(job, r) for job, r in rows
               if job.job_id in natives and codes.get(job.job_id) != 0]
    _check_backend(running, backend=backend, layout=layout)
    live = [tasks[job.job_id] for job, _ in running]
    if not live:
        return Facts(old_hashes=old, exit_codes=codes, records=records, code_changed=changed,
                     cancelled=cancelled)
    handles = backend.attach([(t, natives[t.job_id]) for t in live])
    statuses = backend.status(handles)
    followed = {h.job_id: Followed(handle=h, task=t, status=statuses[h])
                for h, t in zip(handles, live, strict=True)}
    return Facts(old_hashes=old, exit_codes=codes, records=records, followed=followed,
                 code_changed=changed, cancelled=cancelled)


def decide(plan: Plan, *, facts: Facts, flags: ResumeFlags) -> Decision:
    """Sort the plan's jobs by the facts: a pure function (no I/O, no scheduler)."""
    groups = _Groups()
    rerun_stale = facts.code_changed and not flags.keep_stale
    for job in plan.jobs:
        same = facts.old_hashes.get(job.job_id) == job.config_hash
        _settle_unwatched(facts.records.get(job.job_id), facts=facts, groups=groups)
        if same and not flags.force and facts.exit_codes.get(job.job_id) == 0:
            record = facts.records.get(job.job_id)
            if record is not None and record.live:  # its end was never recorded (disk full)
                groups.record.append((record, JobStatus(JobState.COMPLETED, exit_code=0)))
            if not rerun_stale:
                groups.done.append(job)
                continue
            groups.stale.append(job.job_id)  # its results came from older code
        _classify(job, facts.records.get(job.job_id), same=same, facts=facts, groups=groups,
                  flags=flags)
    return Decision(done=tuple(groups.done), todo=tuple(groups.todo),
                    attach=tuple(groups.attach), failed=tuple(groups.failed),
                    lost=tuple(groups.lost), stale=tuple(groups.stale),
                    cancel=tuple(groups.cancel),
                    record=tuple(groups.record), found=tuple(groups.found))


def _settle_unwatched(record: JobRecord | None, *, facts: Facts, groups: _Groups) -> None:
    """A row still live whose job wrote its exit code while no launcher watched (and that
    is not followed below): the table takes the end the job's files say."""
    if record is None or not record.live or record.job_id in facts.followed:
        return
    code = facts.exit_codes.get(record.job_id)
    if code is not None:
        groups.record.append((record, status_from_exit_code(code)))


def _classify(job: JobSpec, record: JobRecord | None, *, same: bool, facts: Facts,
              groups: _Groups, flags: ResumeFlags) -> None:
    """``same``: the job's files were made with the config it has now (plan.json)."""
    followed = facts.followed.get(job.job_id)
    if record is not None and followed is not None:
        if record.native_id is None:  # a cut-short submission found on the scheduler
            groups.found.append((record, followed.handle))
        if record.config_hash != job.config_hash or flags.force:
            groups.cancel.append((followed.handle, record))
            groups.todo.append(job)
        else:
            _follow(job, record, followed, groups=groups, flags=flags)
        return
    code = facts.exit_codes.get(job.job_id)
    if record is not None and record.live:
        if code is None:
            # Nothing runs it: no array of its submission queued, no wrapper, no lock held,
            # no exit code. The only case in which a submitted job is submitted again.
            groups.record.append((record, JobStatus(JobState.FAILED, reason=CUT_SHORT)))
            groups.lost.append(job.job_id)
            groups.todo.append(job)
            return
        # It ended on its own while no launcher watched, unless its launcher cancelled
        # the submission it could not record.
        failed = code != 0 and job.job_id not in facts.cancelled
    else:
        failed = same and _failed_earlier(record, code=code)
    if failed and not (flags.rerun_failed or flags.force):
        groups.failed.append(job)
    else:
        groups.todo.append(job)


def _follow(job: JobSpec, record: JobRecord, followed: Followed, *, groups: _Groups,
            flags: ResumeFlags) -> None:
    """A live job of the same config: attach while it runs, else take its end."""
    status = followed.status
    if not status.state.is_final:
        groups.attach.append((followed.handle, followed.task))
        return
    groups.record.append((record, status))
    if status.state is JobState.COMPLETED:
        groups.done.append(job)
    elif status.exit_code is not None and not flags.rerun_failed:
        groups.failed.append(job)  # it failed on its own while no launcher watched
    else:
        groups.lost.append(job.job_id)
        groups.todo.append(job)


def _failed_earlier(record: JobRecord | None, *, code: int | None) -> bool:
    """The job's own failure: a non-zero exit code, a signal or a timeout (not lost)."""
    if record is not None:
        return record.state == JobState.FAILED.value and not record.reason.startswith("lost")
    return code is not None and code != 0


def _check_backend(live: Sequence[tuple[JobSpec, JobRecord]], *, backend: Backend,
                   layout: ExperimentLayout) -> None:
    others = sorted({r.backend for _, r in live if r.backend != backend.name})
    if others:
        raise ExperimentDirError(
            f"jobs of {layout.root} are still live on {', '.join(others)}; resume with "
            f"--backend {others[0]}, or cancel them first: mle cancel {layout.root}")


def carry_out(decision: Decision, *, backend: Backend, table: JobTable | None) -> None:
    """Cancel the live jobs of an older config; record the ends seen by the query."""
    if decision.cancel:
        backend.cancel([handle for handle, _ in decision.cancel], force=True)
    if table is None:
        return
    for _, row in decision.cancel:
        table.update(row.job_id, attempt=row.attempt, state=JobState.CANCELLED,
                     reason="cancelled: its config changed or --force")
    for row, handle in decision.found:
        table.found(row, native_id=handle.native_id)
    for row, status in decision.record:
        table.update(row.job_id, attempt=row.attempt, state=status.state,
                     exit_code=status.exit_code, reason=status.reason)
