"""Jobs as subprocesses of the launcher, each in its own process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import BackendUnavailable
from ..faults import ACCEPTED, FILES_WRITTEN, fault_point
from ..files.jobdir import LIVE_LOCK_NAME, REQUEUE_EXIT
from ..files.jobfiles import live_lock_held, read_exit_code, status_from_exit_code, take_live_lock
from ..records import record
from ..spec import FollowedJob, JobHandle, JobState, JobStatus, JobTask, Resources
from ..templates import template_path
from .base import is_lock_id, lock_id

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import IO, ClassVar


@record(frozen=False, slots=False)
class _Proc:
    popen: subprocess.Popen[bytes]
    task: JobTask
    files: tuple[IO[bytes], ...]
    gpus: tuple[str, ...]
    pidfd: int | None


class LocalBackend:
    """Runs each job as ``bash job_wrapper.sh JOB_DIR COMMAND...`` on this machine."""

    name: ClassVar[str] = "local"
    throttles: ClassVar[bool] = False
    jobs_outlive_launcher: ClassVar[bool] = False  # a Ctrl+C or --detach would stop them
    shows_scripts_in_dry_run: ClassVar[bool] = False
    packs_jobs: ClassVar[bool] = False  # every job is its own process: nothing to pack
    orphan_folder: ClassVar[str | None] = None

    @classmethod
    def cancel_orphans(cls, names: set[str], *, force: bool) -> int:
        """Nothing: local jobs are always in the job table (by process id)."""
        return 0

    def scripts(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
                ) -> list[tuple[list[str], str]]:
        """No scripts: the wrapper runs each command as given."""
        return []

    def __init__(self, *, gpus: Sequence[str] | None = None) -> None:
        self._wrapper = str(template_path("job_wrapper.sh"))
        self._procs: dict[str, _Proc] = {}
        self._foreign: dict[str, FollowedJob] = {}  # started by an earlier launcher
        self._ended: dict[str, JobStatus] = {}
        self._gpus = tuple(gpus) if gpus is not None else None
        self._free_gpus = list(self._gpus or ())

    def visible_gpus(self) -> tuple[str, ...]:
        """GPU ids jobs may use: CUDA_VISIBLE_DEVICES, else what nvidia-smi lists."""
        if self._gpus is None:
            self._gpus = _discover_gpus()
            self._free_gpus = list(self._gpus)
        return self._gpus

    def default_max_running(self, resources: Resources, *, jobs: int) -> int:
        """Cores // cores per job, and no more jobs than the GPUs can serve."""
        slots = max(1, (os.cpu_count() or 1) // resources.cores)
        if resources.gpus:
            gpus = len(self.visible_gpus())
            if gpus < resources.gpus:
                raise BackendUnavailable(
                    f"each job asks for {resources.gpus} GPU(s) (num_gpus) but only {gpus} "
                    "are visible here (CUDA_VISIBLE_DEVICES / nvidia-smi)"
                )
            slots = min(slots, gpus // resources.gpus)
        return max(1, min(slots, jobs))

    def submit(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
               token: str | None = None) -> list[JobHandle]:
        """Start every task now (the runner keeps within max_running).

        No ``token`` is needed: a resume finds the wrappers by their job dirs.
        """
        return [self._start(task) for task in tasks]

    def find_submitted(self, jobs: Sequence[tuple[FollowedJob, str | None]], *,
                       internal_dir: Path | None = None) -> dict[str, str]:
        """Wrappers an earlier launcher started for ``jobs`` (one pass over /proc), by pid;
        else, while anything of a run still holds the job's ``.live`` lock, a lock id:
        followed until the lock is free (``_foreign_status``)."""
        if not jobs:
            return {}
        dirs = [(job, str(job.files.job_dir)) for job, _ in jobs]
        pids = _wrapper_pids({os.fsencode(d) for _, d in dirs})
        found: dict[str, str] = {}
        for job, job_dir in dirs:
            pid = pids.get(os.fsencode(job_dir))
            if pid is not None:
                found[job.job_id] = str(pid)
            elif live_lock_held(f"{job_dir}/{LIVE_LOCK_NAME}"):  # a str: no Path per job
                found[job.job_id] = lock_id(job.job_id)
        return found

    def _start(self, task: JobTask) -> JobHandle:
        task.job_dir.mkdir(parents=True, exist_ok=True)
        gpus = self._take_gpus(task.resources.gpus)
        env = dict(os.environ)
        env.update(task.env)
        if task.resources.gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
        # Append, never truncate: a log of an earlier attempt is never lost.
        out, err = open(task.files.stdout, "ab"), open(task.files.stderr, "ab")  # noqa: SIM115
        fault_point(FILES_WRITTEN)
        env.pop("MLE_LIVE_FD", None)
        live: int | None = None
        try:
            # The wrapper's .live lock, taken here and handed over (files/jobfiles.py);
            # inside the try: a full disk refusing the lock file closes the logs too.
            live = take_live_lock(f"{task.job_dir}/{LIVE_LOCK_NAME}")
            if live is not None:
                env["MLE_LIVE_FD"] = str(live)
            popen = subprocess.Popen(
                ["bash", self._wrapper, str(task.job_dir), *task.argv],
                cwd=task.cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, pass_fds=() if live is None else (live,),
            )
        except OSError:
            out.close()
            err.close()
            self._free_gpus.extend(gpus)
            raise
        finally:
            if live is not None:
                os.close(live)  # the wrapper holds the lock now, or nobody does
        pid = str(popen.pid)
        self._procs[pid] = _Proc(popen, task, (out, err), gpus, _pidfd(popen.pid))
        fault_point(ACCEPTED)
        return JobHandle(backend=self.name, job_id=task.job_id, native_id=pid)

    def _take_gpus(self, count: int) -> tuple[str, ...]:
        if not count:
            return ()
        self.visible_gpus()
        if len(self._free_gpus) < count:
            # The runner never runs more jobs than GPUs allow; this is a bug guard.
            raise BackendUnavailable(f"no {count} free GPU(s) left for the next job")
        taken, self._free_gpus = self._free_gpus[:count], self._free_gpus[count:]
        return tuple(taken)

    def release(self, handles: Sequence[JobHandle]) -> None:
        """Nothing is held: a local job starts when it is submitted."""

    def status(self, handles: Sequence[JobHandle]) -> Mapping[JobHandle, JobStatus]:
        """Poll each process without blocking."""
        return {handle: self._status(handle) for handle in handles}

    def attach(self, jobs: Sequence[tuple[FollowedJob, str]]) -> list[JobHandle]:
        """Follow wrappers an earlier launcher started (they run in their own sessions)."""
        for task, native in jobs:
            self._foreign[native] = task
        return [JobHandle(backend=self.name, job_id=t.job_id, native_id=n) for t, n in jobs]

    def _foreign_status(self, native: str, task: FollowedJob) -> JobStatus:
        if _runs_job(native, task) or (is_lock_id(native)
                                       and live_lock_held(task.files.live_lock)):
            return JobStatus(JobState.RUNNING)
        code = read_exit_code(task.files.exit_code)  # read after the process is gone
        del self._foreign[native]
        status = status_from_exit_code(code) if code is not None else JobStatus(
            JobState.FAILED, reason=f"lost: process {native} ended with its launcher and "
            "wrote no exit code")
        self._ended[native] = status
        return status

    def _status(self, handle: JobHandle) -> JobStatus:
        foreign = self._foreign.get(handle.native_id)
        if foreign is not None:
            return self._foreign_status(handle.native_id, foreign)
        proc = self._procs.get(handle.native_id)
        if proc is None:
            return self._ended.get(handle.native_id) or JobStatus(
                JobState.UNKNOWN, reason="not started by this launcher")
        if proc.popen.returncode is None:
            if not _exited(proc.popen.pid):
                return JobStatus(JobState.RUNNING)
            _kill_leftovers(proc.popen.pid)
        returncode = proc.popen.wait()  # reaps now: the leftovers were killed first
        self._release(handle.native_id)
        code = read_exit_code(proc.task.files.exit_code)
        if code is None and returncode == REQUEUE_EXIT:
            # The wrapper saw JOB_DIR/requeue: not finished, run it again.
            status = JobStatus(JobState.FAILED, exit_code=returncode, requeue=True,
                               reason=f"asked to be requeued (exit code {returncode})")
        else:
            # No exit_code file: the wrapper itself was killed; its own status is all we have.
            status = status_from_exit_code(returncode if code is None else code)
        self._ended[handle.native_id] = status  # a final state stays final
        return status

    def _release(self, native_id: str) -> None:
        proc = self._procs.pop(native_id)
        for handle in proc.files:
            handle.close()
        if proc.pidfd is not None:
            os.close(proc.pidfd)
        self._free_gpus.extend(proc.gpus)

    def cancel(self, handles: Sequence[JobHandle], *, force: bool = False) -> None:
        """SIGTERM (or SIGKILL with ``force``) to each job's whole process group."""
        sig = signal.SIGKILL if force else signal.SIGTERM
        for handle in handles:
            proc = self._procs.get(handle.native_id)
            foreign = self._foreign.get(handle.native_id)
            if proc is not None and not _exited(proc.popen.pid):
                pid = proc.popen.pid
            elif foreign is not None and _runs_job(handle.native_id, foreign):
                pid = int(handle.native_id)
            else:
                continue
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                continue  # exited between poll and kill: nothing left to stop

    def wait_fds(self) -> Sequence[int]:
        """pidfds of running jobs: readable as soon as a job exits."""
        return [p.pidfd for p in self._procs.values() if p.pidfd is not None]


def _wrapper_pids(job_dirs: set[bytes]) -> dict[bytes, int]:
    """Live job wrappers of ``job_dirs`` (``bash job_wrapper.sh JOB_DIR ...``), by job dir."""
    found: dict[bytes, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            args = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended while we looked
        # A zombie's cmdline is empty: only running wrappers match.
        if len(args) > 2 and args[1].endswith(b"job_wrapper.sh") and args[2] in job_dirs:
            found[args[2]] = int(name)
    return found


def _exited(pid: int) -> bool:
    """True once the wrapper has exited; it stays a zombie (not reaped) until waited for."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True  # already reaped


def _kill_leftovers(pgid: int) -> None:
    """SIGKILL what is left of a finished job's process group (helpers that ignore SIGTERM).

    Called while the wrapper, the group's leader, is an unreaped zombie: its pid, and so the
    group id, cannot have been reused by an unrelated process.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):  # nothing left: usual
        os.killpg(pgid, signal.SIGKILL)


def _runs_job(native: str, task: FollowedJob) -> bool:
    """True while process ``native`` is the job wrapper of ``task`` (not a reused pid)."""
    try:
        raw = Path(f"/proc/{int(native)}/cmdline").read_bytes()
        state = Path(f"/proc/{int(native)}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return False
    args = raw.split(b"\0")
    return state != "Z" and os.fsencode(task.files.job_dir) in args and any(
        a.endswith(b"job_wrapper.sh") for a in args)


def _pidfd(pid: int) -> int | None:
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except OSError:
        return None  # kernels before 5.3: the runner falls back to timed polls
    return fd


def _discover_gpus() -> tuple[str, ...]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = tuple(v.strip() for v in visible.split(",") if v.strip())
        return () if ids in ((), ("-1",)) else ids
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(line.strip() for line in out.splitlines() if line.strip())
