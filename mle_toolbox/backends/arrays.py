"""What cluster backends share: array chunks, task lists and scheduler-safe names.

Packing (``single_job_args.jobs_per_task`` N > 1): array task k runs the jobs N(k-1)+1
.. Nk of the array's task list one after another (templates/pack_task.sh, reading their
commands from the task's own file, ``packed_commands``), each in its own job folder.
A packed job's native id is its task's id, ``@`` and its place in the task
(``123.4@2``): status comes from its exit_code and its task's place in the queue,
and cancelling it alone stops only it (``JOB_DIR/.stop``), not its siblings.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from string import Template

from ..errors import CommandError, ConfigError
from ..files.arrayfiles import ArrayFiles, packed_commands
from ..files.atomic import write_text_atomic
from ..files.jobdir import STARTED_NAME, STDERR_NAME, STDOUT_NAME, STOP_NAME
from ..files.jobfiles import live_lock_held
from ..files.layout import scheduler_dir
from ..records import field, record, replace
from ..spec import FollowedJob, JobHandle, JobTask, Resources
from ..templates import read_template, template_path
from .base import is_lock_id, lock_id
from .commands import Output, RetryPolicy, Runner, is_transient, run_command, run_with_retry
from .packed_ids import PACK_SEP, is_packed, task_of
from .tracked import Siblings, Tracked, stop_job

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import ClassVar

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_NAME = 64


def chunks(tasks: Sequence[JobTask], size: int) -> list[list[JobTask]]:
    """``tasks`` cut into consecutive arrays of at most ``size`` tasks."""
    size = max(1, size)
    return [list(tasks[i:i + size]) for i in range(0, len(tasks), size)]


def jobs_per_task(tasks: Sequence[JobTask]) -> int:
    """How many jobs each array task of ``tasks`` runs (1: not packed).

    Read from the first task: rendering checks that the tasks of an array share their
    resources (``resources_of``), once, not on every question.
    """
    return tasks[0].resources.jobs_per_task if tasks else 1


def task_count(tasks: Sequence[JobTask]) -> int:
    """How many array tasks run ``tasks``."""
    size = jobs_per_task(tasks)
    return -(-len(tasks) // size)


def task_shape(tasks: Sequence[JobTask], *, max_running: int | None,
               ) -> tuple[Resources, int, int | None]:
    """(resources, number of tasks, tasks at once) of the array that runs ``tasks``.

    Packed, a task's time limit is N times a job's (each job keeps its own inside the
    task) and at most ``max_running // N`` tasks run at once, so never more jobs.
    """
    resources, size = resources_of(tasks), jobs_per_task(tasks)
    if size == 1:
        return resources, len(tasks), max_running
    limit = resources.time_limit_s
    # As many at once as jobs (the default): no throttle, as unpacked.
    at_once = None if max_running is None or max_running >= len(tasks) else (
        max(1, max_running // size))
    return (replace(resources, time_limit_s=limit * size if limit else None),
            task_count(tasks), at_once)


def write_task_files(tasks: Sequence[JobTask], *, task_list: Path) -> None:
    """The array's list of job dirs, and how each job's command reaches its task.

    Task ``k`` (1-based) of the array runs the ``k``-th directory of ``task_list``,
    reading the NUL-separated argv the job dir holds. Packed (N jobs per task), the
    commands go into one file per task instead (``packed_commands``), and the job dirs
    are made by the task: 10,000 jobs cost a few hundred files at submission, not
    20,000 (a stop request or start mark of an earlier submission is removed). NUL
    separation keeps any byte of a path or argument intact; nothing is parsed by a shell.
    """
    size = jobs_per_task(tasks)
    if size > 1:
        _write_packed_commands(tasks, folder=packed_commands(task_list), size=size)
    else:
        for task in tasks:
            task.job_dir.mkdir(parents=True, exist_ok=True)
            argv_file = task.files.argv
            write_text_atomic(argv_file, "".join(f"{arg}\0" for arg in task.argv))
    task_list.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(task_list, "".join(f"{task.job_dir}\0" for task in tasks))


def read_task_list(path: Path) -> list[Path]:
    """The job dirs of an array's task list, in task order ([] when there is none)."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    return [Path(os.fsdecode(entry)) for entry in data.split(b"\0") if entry]


def packed_size(task_list: Path) -> int:
    """Jobs per task of the array of ``task_list``, from the commands its first task runs
    (``_write_packed_commands``): 1 when the array is not packed."""
    try:
        records = (packed_commands(task_list) / "0").read_bytes().split(b"\0")
    except OSError:
        return 1
    jobs, index = 0, 0
    while index + 1 < len(records) and records[index + 1].isdigit():
        jobs += 1
        index += 2 + int(records[index + 1])  # job dir, argc, the argv
    return max(1, jobs)


def _write_packed_commands(tasks: Sequence[JobTask], *, folder: Path, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(tasks), size)):
        records = []
        for task in tasks[start:start + size]:
            job_dir = str(task.job_dir)
            for mark in (STOP_NAME, STARTED_NAME):  # plain strings: no Path per file
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{job_dir}/{mark}")
            records += [job_dir, str(len(task.argv)), *task.argv]
        # Read only after the submission that follows: no temp file and rename needed.
        (folder / str(number)).write_text("".join(f"{r}\0" for r in records),
                                          encoding="utf-8")


def backend_folder(tasks: Sequence[JobTask], *, scheduler: str) -> Path:
    """The backend's folder in the experiment's ``.mle/`` (layout.scheduler_dir)."""
    task = tasks[0]
    return scheduler_dir(task.internal_dir or task.job_dir.parent, scheduler)


def write_array_files(tasks: Sequence[JobTask], *, files: ArrayFiles, script: str) -> Path:
    """Task files, the rendered ``script``, its task list and the scheduler's log folder.

    Returns the script's path, ready for the scheduler.
    """
    write_task_files(tasks, task_list=files.task_list)
    files.script.write_text(script, encoding="utf-8")
    files.log_dir.mkdir(exist_ok=True)
    return files.script


def render_array_script(tasks: Sequence[JobTask], *, template: str, prefix: str,
                        directives: Sequence[str], task_list: Path) -> str:
    """Fill a job script template: ``prefix`` directives, exports and quoted paths.

    Packed (N > 1 jobs per task), ``<scheduler>_job.sh`` becomes ``<scheduler>_pack.sh``,
    which hands its share of the task list to templates/pack_task.sh.

    ``directives`` arrive rendered and quoted; the user's ``extra_directives`` are
    added verbatim after them (but never a line break, which would start a command).
    """
    lines = [f"{prefix} {directive}" for directive in directives]
    for extra in resources_of(tasks).extra_directives:
        if "\n" in extra or "\r" in extra:
            raise ConfigError("a directive cannot contain a line break",
                              key="single_job_args.extra_directives")
        lines.append(f"{prefix} {extra}")
    env = shared_value(tasks, "env")
    assert isinstance(env, tuple)
    exports = [f"export {key}={shlex.quote(value)}" for key, value in env]
    # modules_to_load (mle-scheduler): `module` is a shell function of the site's
    # profile; a module that does not load fails the task before the job starts.
    for module in resources_of(tasks).modules:
        name = shlex.quote(module)
        exports.append(f"module load {name} || {{ printf 'mle_toolbox: module load %s "
                       f"failed\\n' {name} >&2; exit 1; }}")
    size = jobs_per_task(tasks)
    if size > 1:
        template = template.replace("_job.sh", "_pack.sh")
    limit = resources_of(tasks).time_limit_s or 0
    return Template(read_template(template)).substitute(
        directives="\n".join(lines), exports="\n".join(exports),
        jobs_per_task=shlex.quote(str(size)), job_limit=shlex.quote(str(limit)),
        packer=shlex.quote(str(template_path("pack_task.sh"))),
        commands=shlex.quote(str(packed_commands(task_list))),
        task_list=shlex.quote(str(task_list)),
        workdir=shlex.quote(str(shared_value(tasks, "cwd"))),
        wrapper=shlex.quote(str(template_path("job_wrapper.sh"))),
        stdout_name=STDOUT_NAME, stderr_name=STDERR_NAME,  # plain names: nothing to quote
    )


def resources_of(tasks: Sequence[JobTask]) -> Resources:
    """The resources every task of one array shares."""
    resources = shared_value(tasks, "resources")
    assert isinstance(resources, Resources)
    return resources


def scheduler_name(name: str, *, suffix: str = "") -> str:
    """A job name every scheduler accepts: safe characters, not starting with a digit."""
    text = _NAME_UNSAFE.sub("_", name).strip("_.-") or "mle"
    if not text[0].isalpha():
        text = f"j{text}"
    return text[:MAX_NAME - len(suffix)] + suffix


def array_names(tasks: Sequence[JobTask], size: int, *,
                token: str | None = None) -> list[tuple[str, list[JobTask]]]:
    """(name, tasks) of each array: the sweep's name, chunk number and a launch token.

    Unique per launch and chunk, so a retried submission can look itself up in the
    queue and ``mle cancel`` can find the arrays later. A dry run passes a
    placeholder ``token``: the real one is drawn at submission.
    """
    token = token or os.urandom(3).hex()  # secrets.token_hex(3), without its import
    return [(scheduler_name(chunk[0].sweep_name, suffix=f"_{number}_{token}"), chunk)
            for number, chunk in enumerate(chunks(tasks, size), start=1)]


def shared_value(tasks: Sequence[JobTask], what: str) -> object:
    """The value of attribute ``what`` that every task of one array must share."""
    values = {getattr(task, what) for task in tasks}
    if len(values) != 1:
        raise ValueError(f"tasks of one array differ in {what}: {sorted(map(str, values))}")
    return values.pop()


@record(frozen=False, slots=False)
class ArrayBackend:
    """What the array-job backends (sge, slurm) share: submit and dry-run scripts,
    the scheduler commands' runner, clock and bounded retries, the jobs followed.

    Subclasses provide ``_query_max_array_tasks``, ``_submit_array`` and ``_script``,
    and keep the jobs they follow in ``_jobs`` (native id -> Tracked).
    """

    name: ClassVar[str]
    throttles: ClassVar[bool] = True
    jobs_outlive_launcher: ClassVar[bool] = True
    shows_scripts_in_dry_run: ClassVar[bool] = True
    packs_jobs: ClassVar[bool] = True
    orphan_folder: ClassVar[str | None]
    # Scheduler messages of errors worth trying again (a busy or restarting controller).
    transient: ClassVar[tuple[str, ...]] = ()

    run: Runner = field(default=run_command)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    _jobs: dict[str, Tracked] = field(default_factory=dict)
    _max_tasks: int | None = None
    _siblings: Siblings = field(default_factory=Siblings)

    def attach(self, jobs: Sequence[tuple[FollowedJob, str]]) -> list[JobHandle]:
        """Follow array tasks an earlier launcher submitted, by their recorded native ids."""
        handles = []
        for task, native in jobs:
            self._jobs[native] = Tracked(task=task, packed=is_packed(native))
            self._siblings.add(native)
            handles.append(JobHandle(backend=self.name, job_id=task.job_id, native_id=native))
        return handles

    def _to_cancel(self, handles: Sequence[JobHandle]) -> list[str]:
        """Scheduler ids to cancel for ``handles``; packed jobs cancelled alone are asked to
        stop (JOB_DIR/.stop) instead, so their task's other jobs run on."""
        whole, alone = self._siblings.split([h.native_id for h in handles], jobs=self._jobs)
        for tracked in alone:
            stop_job(tracked.task)
        return whole

    def default_max_running(self, resources: Resources, *, jobs: int) -> int:
        """The scheduler decides; no cap unless the user asks for one."""
        return max(1, jobs)

    def wait_fds(self) -> Sequence[int]:
        """Nothing to wait on: the runner polls with back-off."""
        return ()

    def max_array_tasks(self) -> int:
        """The most tasks one array may have on this cluster (asked once)."""
        if self._max_tasks is None:
            self._max_tasks = self._query_max_array_tasks()
        return self._max_tasks

    def _query_max_array_tasks(self) -> int:
        raise NotImplementedError

    def _submit_array(self, chunk: list[JobTask], *, name: str,
                      max_running: int | None) -> list[JobHandle]:
        raise NotImplementedError

    def _script(self, chunk: list[JobTask], *, name: str,
                max_running: int | None) -> tuple[list[str], str]:
        raise NotImplementedError

    def scripts(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
                ) -> list[tuple[list[str], str]]:
        """(submit argv, script text) of every array the tasks would be submitted as."""
        size = self.max_array_tasks() * jobs_per_task(tasks)
        return [self._script(chunk, name=name, max_running=max_running)
                for name, chunk in array_names(tasks, size, token="XXXXXX")]

    def submit(self, tasks: Sequence[JobTask], *, max_running: int | None = None,
               token: str | None = None) -> list[JobHandle]:
        """Submit the tasks as few array jobs, named with ``token``; one handle per task,
        same order."""
        handles: list[JobHandle] = []
        size = self.max_array_tasks() * jobs_per_task(tasks)
        for name, chunk in array_names(tasks, size, token=token):
            handles += self._submit_array(chunk, name=name, max_running=max_running)
        return handles

    def release(self, handles: Sequence[JobHandle]) -> None:
        """Release the arrays of ``handles`` (submitted held): one call per array chunk;
        arrays already released, running or gone are fine."""
        arrays = sorted({self._array_of(task_of(h.native_id)) for h in handles
                         if not is_lock_id(h.native_id)}, key=int)
        if not arrays:
            return
        try:
            self._release_arrays(arrays)
        except CommandError as err:  # say what is left behind, and how to go on
            raise CommandError(
                argv=err.argv, returncode=err.returncode, stdout=err.stdout,
                stderr=err.stderr, note=f"{err.note}: the arrays stay held, their ids are in "
                "the job table; mle run or mle resume releases them, mle cancel removes "
                "them") from err

    def _array_of(self, task_id: str) -> str:
        """The array job id of the array task ``task_id`` (inverse of ``_task_id``)."""
        raise NotImplementedError

    def _release_arrays(self, array_ids: list[str]) -> None:
        raise NotImplementedError

    def _with_retries(self, argv: Sequence[str], *,
                      before_retry: Callable[[], Output | None] | None = None) -> Output:
        """``self.run(argv)``, tried again (bounded, with back-off) while it fails with
        one of the scheduler's transient errors (``run_with_retry``'s ``before_retry``)."""
        return run_with_retry(lambda: self.run(argv),
                              transient=lambda o: is_transient(o, self.transient),
                              before_retry=before_retry, policy=self.retry, sleep=self.sleep)

    def _queued_arrays(self) -> dict[str, str]:
        """This user's arrays in the queue: name -> array job id (one queue query)."""
        raise NotImplementedError

    def _task_id(self, array_id: str, index: int) -> str:
        """The native id of the ``index``-th (0-based) task of array ``array_id``."""
        raise NotImplementedError

    def find_submitted(self, jobs: Sequence[tuple[FollowedJob, str | None]], *,
                       internal_dir: Path) -> dict[str, str]:
        """Tasks of the arrays a submission cut short put in the queue (one queue query).

        An array is this submission's when its name ends with the recorded token and its
        task list sits in this experiment's folder; the list says which task runs which
        job dir. A job whose array already left the queue has written its exit code.
        """
        found: dict[str, str] = {}
        tokens = {token for _, token in jobs if token}
        if tokens:
            wanted = {job.files.job_dir: job for job, token in jobs if token}
            # The folder whose task lists name this backend's arrays (orphan_folder).
            folder = scheduler_dir(internal_dir, str(self.orphan_folder))
            for name, array_id in self._queued_arrays().items():
                if name.rsplit("_", 1)[-1] not in tokens:
                    continue
                files = ArrayFiles(folder, name)
                size = packed_size(files.task_list)
                for index, job_dir in enumerate(read_task_list(files.task_list)):
                    job = wanted.get(job_dir)
                    if job is None:
                        continue
                    task = self._task_id(array_id, index // size)
                    # Packed, the job is the (index % size + 1)-th of its task (packed_ids).
                    found[job.job_id] = task if size == 1 else (
                        f"{task}{PACK_SEP}{index % size + 1}")
        # Not in the queue (or no token to look for) but a run holds its lock: follow that.
        for job, _ in jobs:
            if job.job_id not in found and live_lock_held(job.files.live_lock):
                found[job.job_id] = lock_id(job.job_id)
        return found
