"""Grid Engine through DRMAA (the optional ``drmaa`` package).

One DRMAA session per launch. Arrays go in as bulk jobs running the same script
as the qsub backend; the qsub options travel as the native specification. Each
job's own exit_code file is read first: a new session cannot see the jobs of an
old one, and DRMAA forgets finished jobs once their status was reaped.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..errors import BackendUnavailable, MleError, PreloadNeededError
from ..faults import ACCEPTED, FILES_WRITTEN, fault_point
from ..files.arrayfiles import scheduler_log_dir
from ..records import replace
from ..spec import FollowedJob, JobHandle, JobState, JobStatus, JobTask, Resources
from .arrays import array_names, jobs_per_task, task_count, task_shape
from .packed_ids import is_packed, member_ids, task_of
from .sge import SgeBackend, array_of
from .sge_script import SgeOptions, directives, write_array
from .tracked import Siblings, Tracked, stop_job

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any, ClassVar

MAX_BULK = 75000
PENDING_STATES = ("queued_active", "system_on_hold", "user_on_hold", "user_system_on_hold")
RUNNING_STATES = ("running", "system_suspended", "user_suspended", "user_system_suspended")
# Where libdrmaa lives when DRMAA_LIBRARY_PATH is not set: under SGE_ROOT (a site install),
# then the distributions' packages (Debian's gridengine-drmaa1.0 first).
LIBDRMAA_NAMES = ("libdrmaa.so", "libdrmaa.so.1.0", "libdrmaa.so.1")
LIBDRMAA_DIRS = ("/usr/lib/gridengine-drmaa/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib64",
                 "/usr/lib", "/usr/local/lib")
# Debian's libdrmaa uses initial-exec TLS and fails to dlopen() into a running Python
# ("cannot allocate memory in static TLS block") unless jemalloc is preloaded at start.
JEMALLOC_PATHS = ("/lib/x86_64-linux-gnu/libjemalloc.so.2", "/usr/lib/x86_64-linux-gnu/"
                  "libjemalloc.so.2", "/lib/aarch64-linux-gnu/libjemalloc.so.2",
                  "/usr/lib64/libjemalloc.so.2", "/usr/lib/libjemalloc.so.2")
JEMALLOC = JEMALLOC_PATHS[0]


def find_libdrmaa(env: Mapping[str, str]) -> str | None:
    """DRMAA_LIBRARY_PATH, else the first libdrmaa under SGE_ROOT or the usual folders."""
    if env.get("DRMAA_LIBRARY_PATH"):
        return env["DRMAA_LIBRARY_PATH"]
    dirs: list[Path] = []
    if env.get("SGE_ROOT"):
        root = Path(env["SGE_ROOT"])
        dirs += [root / "lib", *sorted((root / "lib").glob("*"))]
        dirs.append(root / "drmaa" / "lib")
    dirs += [Path(d) for d in LIBDRMAA_DIRS]
    found = (d / name for d in dirs for name in LIBDRMAA_NAMES)
    return next((str(path) for path in found if path.is_file()), None)


def load_drmaa() -> Any:
    """The drmaa module, or BackendUnavailable saying how to get it working."""
    library = find_libdrmaa(os.environ)
    if library is not None:
        os.environ.setdefault("DRMAA_LIBRARY_PATH", library)  # read by drmaa's import
    try:
        import drmaa
    except ImportError as err:
        raise BackendUnavailable(
            "backend 'sge-drmaa' needs the drmaa package: pip install 'mle_toolbox[drmaa]'"
        ) from err
    except (OSError, RuntimeError) as err:
        raise _load_error(err, library=library) from err
    return drmaa


def _load_error(err: BaseException, *, library: str | None) -> MleError:
    preload = next((p for p in JEMALLOC_PATHS if Path(p).is_file()), None)
    if "static TLS" in str(err) and preload is not None:
        return PreloadNeededError(
            f"cannot load libdrmaa ({err}); start mle with LD_PRELOAD={preload}",
            preload=preload)
    where = (f"found {library}" if library is not None
             else "no libdrmaa found under SGE_ROOT or the usual library folders")
    return BackendUnavailable(
        f"cannot load libdrmaa ({err}; {where}). Set DRMAA_LIBRARY_PATH to your cluster's "
        "libdrmaa.so (Debian: /usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0)")


_SESSIONS: list[Any] = []


def _process_session(drmaa: Any) -> Any:
    # DRMAA allows one session per process: open it once, end it at exit.
    if not _SESSIONS:
        session = drmaa.Session()
        session.initialize()
        atexit.register(session.exit)
        _SESSIONS.append(session)
    return _SESSIONS[0]


class SgeDrmaaBackend:
    """Submits bulk jobs through one DRMAA session; follows them by job files first."""

    name: ClassVar[str] = "sge-drmaa"
    throttles: ClassVar[bool] = True
    jobs_outlive_launcher: ClassVar[bool] = True
    shows_scripts_in_dry_run: ClassVar[bool] = False  # bulk jobs: rendered at submit
    packs_jobs: ClassVar[bool] = True
    orphan_folder: ClassVar[str | None] = SgeBackend.orphan_folder  # the same arrays

    @classmethod
    def cancel_orphans(cls, names: set[str], *, force: bool) -> int:
        """As the qsub backend: by name in qstat, with qdel."""
        return SgeBackend.cancel_orphans(names, force=force)

    def scripts(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
                ) -> list[tuple[list[str], str]]:
        """None shown: DRMAA takes a template, not a script on a command line."""
        return []

    def __init__(self, *, options: SgeOptions | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.drmaa = load_drmaa()
        self.options = options or SgeOptions.from_env()
        self.clock = clock
        self.session = _process_session(self.drmaa)
        self._jobs: dict[str, Tracked] = {}
        self._siblings = Siblings()
        # A DRMAA session cannot see the jobs of another session: jobs of an earlier
        # launcher are followed and cancelled with qstat / qdel instead.
        self._earlier: SgeBackend | None = None

    def attach(self, jobs: Sequence[tuple[FollowedJob, str]]) -> list[JobHandle]:
        """Follow bulk tasks an earlier launcher submitted (through qstat and qdel)."""
        return [replace(h, backend=self.name) for h in self._qstat().attach(jobs)]

    def find_submitted(self, jobs: Sequence[tuple[FollowedJob, str | None]], *,
                       internal_dir: Path) -> dict[str, str]:
        """As the qsub backend: bulk jobs carry the same names and task lists."""
        return self._qstat().find_submitted(jobs, internal_dir=internal_dir)

    def _qstat(self) -> SgeBackend:
        if self._earlier is None:
            self._earlier = SgeBackend(options=self.options, clock=self.clock)
        return self._earlier

    def _split(self, handles: Sequence[JobHandle]) -> tuple[list[JobHandle], list[JobHandle]]:
        mine = [h for h in handles if h.native_id in self._jobs]
        return mine, [h for h in handles if h.native_id not in self._jobs]

    def default_max_running(self, resources: Resources, *, jobs: int) -> int:
        """The scheduler decides; no cap unless the user asks for one."""
        return max(1, jobs)

    def wait_fds(self) -> Sequence[int]:
        """Nothing to wait on: the runner polls with back-off."""
        return ()

    def submit(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
               token: str | None = None) -> list[JobHandle]:
        """Submit the tasks as bulk jobs named with ``token``; one handle per task."""
        handles: list[JobHandle] = []
        for name, chunk in array_names(tasks, MAX_BULK * jobs_per_task(tasks), token=token):
            handles += self._submit_bulk(chunk, name=name, max_running=max_running)
        return handles

    def _submit_bulk(self, chunk: list[JobTask], *, name: str,
                     max_running: int | None) -> list[JobHandle]:
        script = write_array(chunk, name=name, max_running=max_running, options=self.options)
        fault_point(FILES_WRITTEN)
        logs = scheduler_log_dir(script.parent)
        template = self.session.createJobTemplate()
        try:
            template.remoteCommand = "/bin/bash"
            template.args = [str(script)]
            template.jobName = name
            # Held until the launcher has recorded the ids (release), as with qsub -h.
            template.jobSubmissionState = self.drmaa.SUBMISSION_STATE_HOLD
            template.nativeSpecification = native_specification(
                chunk, name=name, max_running=max_running, options=self.options)
            index = self.drmaa.JobTemplate.PARAMETRIC_INDEX
            res = chunk[0].resources  # log_file / err_file name the scheduler's logs
            template.outputPath = f":{logs / (res.log_file or name)}.o{index}"
            template.errorPath = f":{logs / (res.err_file or name)}.e{index}"
            ids = self.session.runBulkJobs(template, 1, task_count(chunk), 1)
        finally:
            self.session.deleteJobTemplate(template)
        fault_point(ACCEPTED)
        handles = []
        natives = member_ids(list(ids), jobs=len(chunk), size=jobs_per_task(chunk))
        for native, task in zip(natives, chunk, strict=True):
            self._jobs[native] = Tracked(task=task, packed=is_packed(native))
            self._siblings.add(native)
            handles.append(JobHandle(backend=self.name, job_id=task.job_id, native_id=native))
        return handles

    def release(self, handles: Sequence[JobHandle]) -> None:
        """Release the bulk jobs of ``handles`` (one control call per bulk job); jobs of an
        earlier launcher through qrls. Released, running or ended jobs are fine."""
        mine, earlier = self._split(handles)
        if earlier:
            self._qstat().release(earlier)
        for job_number in sorted({array_of(task_of(h.native_id)) for h in mine}):
            # InvalidJobException: already finished and gone, nothing to release.
            with contextlib.suppress(self.drmaa.errors.InvalidJobException):
                self.session.control(job_number, self.drmaa.JobControlAction.RELEASE)

    def status(self, handles: Sequence[JobHandle]) -> Mapping[JobHandle, JobStatus]:
        """Job files first; DRMAA only for jobs that have not written an exit code."""
        now = self.clock()
        mine, earlier = self._split(handles)
        out: dict[JobHandle, JobStatus] = {h: self._status_of(h, now=now) for h in mine}
        if earlier and self._earlier is not None:
            out.update(self._earlier.status(earlier))
        return out

    def _status_of(self, handle: JobHandle, *, now: float) -> JobStatus:
        tracked = self._jobs.get(handle.native_id)
        if tracked is None:
            return JobStatus(JobState.FAILED, reason="not submitted by this launcher")
        ended = tracked.ended()
        return ended if ended is not None else self._scheduler_status(handle, tracked, now=now)

    def _scheduler_status(self, handle: JobHandle, tracked: Tracked, *,
                          now: float) -> JobStatus:
        state = self._drmaa_state(task_of(handle.native_id))
        if state in PENDING_STATES or state in RUNNING_STATES:
            tracked.seen()
            return tracked.in_task(JobStatus(
                JobState.PENDING if state in PENDING_STATES else JobState.RUNNING))
        if state == "failed":
            tracked.final = JobStatus(JobState.FAILED, reason=(
                "DRMAA reports the job failed before it wrote an exit code; "
                f"see {tracked.task.files.stderr}"))
            return tracked.final
        # done, undetermined or forgotten, and no exit code yet
        return tracked.missing(now=now, grace_s=self.options.vanish_grace_s)

    def _drmaa_state(self, native_id: str) -> str:
        try:
            return str(self.session.jobStatus(native_id))
        except self.drmaa.errors.InvalidJobException:
            return "gone"

    def cancel(self, handles: Sequence[JobHandle], *, force: bool = False) -> None:
        """Terminate every job; jobs already gone are fine."""
        mine, earlier = self._split(handles)
        if earlier and self._earlier is not None:
            self._earlier.cancel(earlier, force=force)
        whole, alone = self._siblings.split([h.native_id for h in mine], jobs=self._jobs)
        for tracked in alone:  # packed jobs cancelled without their siblings
            stop_job(tracked.task)
        for native in whole:
            # InvalidJobException: already finished and gone, nothing to stop.
            with contextlib.suppress(self.drmaa.errors.InvalidJobException):
                self.session.control(native, self.drmaa.JobControlAction.TERMINATE)


def native_specification(tasks: Sequence[JobTask], *, name: str, max_running: int | None,
                         options: SgeOptions) -> str:
    """The qsub options of the array except name and range, which DRMAA sets itself."""
    resources, count, at_once = task_shape(tasks, max_running=max_running)
    args = [arg for arg in directives(resources, name=name, tasks=count,
                                      max_running=at_once, options=options)
            if arg[0] not in ("-N", "-t")]
    parts = [shlex.join(arg) for arg in args] + list(resources.extra_directives)
    return " ".join(["-b y", *parts])
