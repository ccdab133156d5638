"""What a relaunch of an experiment does with each job: skip, re-attach, rerun or keep.

The job files (``exit_code``) and the job table (``.mle/jobs.sqlite``) together say
how each job of an earlier launch ended:

- completed with the same config hash: skipped;
- still queued or running on the scheduler (recorded native id, same hash):
  re-attached, followed to its end, never submitted twice;
- failed (it exited non-zero, was killed or timed out): kept as failed unless
  ``--rerun-failed``;
- lost (its launcher died and nothing runs it any more, or it was cancelled, or its
  submission was cut short): rerun;
- its config changed: rerun, and a live job of the old config is cancelled first.

``--force`` reruns everything. One scheduler query covers every recorded live job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..backends.base import Backend
from ..config.expand import Plan
from ..errors import ExperimentDirError
from ..files.documents import PlanDocument
from ..files.jobfiles import read_exit_code
from ..files.layout import ExperimentLayout
from ..spec import JobHandle, JobSpec, JobState, JobTask
from .jobtable import JobRecord, JobTable
from .prepare import split_done
from .tasks import make_tasks


@dataclass(frozen=True, slots=True)
class ResumeFlags:
    """How a relaunch treats earlier jobs."""

    rerun_failed: bool = False
    force: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """Every job of the plan in exactly one group."""

    done: tuple[JobSpec, ...]
    todo: tuple[JobSpec, ...]
    attach: tuple[tuple[JobHandle, JobTask], ...]
    failed: tuple[JobSpec, ...]  # failed earlier and not rerun (no --rerun-failed)
    lost: tuple[str, ...]  # job ids rerun because nothing runs them any more
    cancelled_stale: int = 0


@dataclass
class _Groups:
    done: list[JobSpec]
    todo: list[JobSpec]
    failed: list[JobSpec]
    live: list[tuple[JobSpec, JobRecord]]
    stale: list[tuple[JobSpec, JobRecord]]
    lost: list[str]


def decide(plan: Plan, *, layout: ExperimentLayout, previous: PlanDocument | None,
           table: JobTable | None, backend: Backend, flags: ResumeFlags) -> Decision:
    """Sort the plan's jobs by what the job files, the table and the scheduler say."""
    done, rest = split_done(plan, layout=layout, previous=previous)
    if flags.force:
        done, rest = (), plan.jobs
    records = table.latest() if table is not None else {}
    old = previous.config_hashes() if previous is not None else {}
    groups = _Groups(done=list(done), todo=[], failed=[], live=[], stale=[], lost=[])
    for job in rest:
        _classify(job, records.get(job.job_id), same=old.get(job.job_id) == job.config_hash,
                  groups=groups, layout=layout, flags=flags)
    _check_backend(groups.live + groups.stale, backend=backend, layout=layout)
    _cancel_stale(groups.stale, plan=plan, layout=layout, backend=backend, table=table)
    groups.todo += [job for job, _ in groups.stale]
    attach = _follow_live(groups, plan=plan, layout=layout, backend=backend, table=table,
                          flags=flags)
    return Decision(done=tuple(groups.done), todo=tuple(groups.todo), attach=attach,
                    failed=tuple(groups.failed), lost=tuple(groups.lost),
                    cancelled_stale=len(groups.stale))


def _classify(job: JobSpec, record: JobRecord | None, *, same: bool, groups: _Groups,
              layout: ExperimentLayout, flags: ResumeFlags) -> None:
    """``same``: the job's files were made with the config it has now (plan.json)."""
    if record is not None and record.live and record.native_id is not None:
        keep = record.config_hash == job.config_hash and not flags.force
        (groups.live if keep else groups.stale).append((job, record))
        return
    if record is not None and record.live:
        # Cut short between "submitting" and the native id: nothing is known to run it.
        groups.lost.append(job.job_id)
        groups.todo.append(job)
        return
    failed = same and _failed_earlier(job, record, layout=layout)
    if failed and not (flags.rerun_failed or flags.force):
        groups.failed.append(job)
    else:
        groups.todo.append(job)


def _failed_earlier(job: JobSpec, record: JobRecord | None, *,
                    layout: ExperimentLayout) -> bool:
    """The job's own failure: a non-zero exit code, a signal or a timeout (not lost)."""
    if record is not None:
        return record.state == JobState.FAILED.value and not record.reason.startswith("lost")
    code = read_exit_code(layout.job(job.run_id, job.seed).exit_code)
    return code is not None and code != 0


def _check_backend(live: Sequence[tuple[JobSpec, JobRecord]], *, backend: Backend,
                   layout: ExperimentLayout) -> None:
    others = sorted({r.backend for _, r in live if r.backend != backend.name})
    if others:
        raise ExperimentDirError(
            f"jobs of {layout.root} are still live on {', '.join(others)}; resume with "
            f"--backend {others[0]}, or cancel them first: mle cancel {layout.root}")


def _handles(pairs: Sequence[tuple[JobSpec, JobRecord]], *, plan: Plan,
             layout: ExperimentLayout, backend: Backend) -> list[tuple[JobHandle, JobTask]]:
    tasks = make_tasks(plan, layout=layout, jobs=tuple(job for job, _ in pairs))
    natives = [str(record.native_id) for _, record in pairs]
    handles = backend.attach(list(zip(tasks, natives, strict=True)))
    return list(zip(handles, tasks, strict=True))


def _cancel_stale(stale: Sequence[tuple[JobSpec, JobRecord]], *, plan: Plan,
                  layout: ExperimentLayout, backend: Backend, table: JobTable | None) -> None:
    if not stale:
        return
    pairs = _handles(stale, plan=plan, layout=layout, backend=backend)
    backend.cancel([h for h, _ in pairs], force=True)
    if table is not None:
        for _, record in stale:
            table.update(record.job_id, attempt=record.attempt, state=JobState.CANCELLED,
                         reason="cancelled: its config changed or --force")


def _follow_live(groups: _Groups, *, plan: Plan, layout: ExperimentLayout, backend: Backend,
                 table: JobTable | None, flags: ResumeFlags,
                 ) -> tuple[tuple[JobHandle, JobTask], ...]:
    """Ask the scheduler once about recorded live jobs; keep those that still run."""
    if not groups.live:
        return ()
    pairs = _handles(groups.live, plan=plan, layout=layout, backend=backend)
    statuses = backend.status([h for h, _ in pairs])
    attach: list[tuple[JobHandle, JobTask]] = []
    for (handle, task), (job, record) in zip(pairs, groups.live, strict=True):
        status = statuses[handle]
        if not status.state.is_final:
            attach.append((handle, task))
            continue
        if table is not None:
            table.update(job.job_id, attempt=record.attempt, state=status.state,
                         exit_code=status.exit_code, reason=status.reason)
        if status.state is JobState.COMPLETED:
            groups.done.append(job)
        elif status.exit_code is not None and not flags.rerun_failed:
            groups.failed.append(job)  # it failed on its own while no launcher watched
        else:
            groups.lost.append(job.job_id)
            groups.todo.append(job)
    return tuple(attach)
