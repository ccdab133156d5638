"""Grid Engine backend without a cluster: parsers on recorded output, script rendering,
quoting of hostile values, and submission retries against a scripted qsub."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from mle_toolbox.backends.commands import Output, RetryPolicy
from mle_toolbox.backends.sge import SgeBackend
from mle_toolbox.backends.sge_parse import (
    parse_error_reason,
    parse_max_aj_tasks,
    parse_qstat_xml,
    parse_qsub_terse,
    queue_states,
)
from mle_toolbox.backends.sge_script import SgeOptions, render_script
from mle_toolbox.errors import CommandError, SubmissionError
from mle_toolbox.spec import Environment, JobSpec, JobState, JobTask, Resources
from mle_toolbox.templates import template_path

DATA = Path(__file__).parent / "data" / "sge"
GOLDEN = Path(__file__).parent / "golden" / "sge_job.sh.expected"


def _read(name: str) -> str:
    return (DATA / name).read_text()


@pytest.mark.parametrize(("text", "number", "first", "last"), [
    ("8.1-6:1\n", "8", 1, 6), ("9\n", "9", None, None), ("Your job 3 ...\n12\n", "12", None, None),
])
def test_qsub_terse_ids(text: str, number: str, first: int | None, last: int | None) -> None:
    sub = parse_qsub_terse(text)
    assert (sub.job_number, sub.first_task, sub.last_task) == (number, first, last)


@pytest.mark.parametrize("text", ["", 'Unable to run job: unknown resource "x"\nExiting.\n'])
def test_qsub_without_id_is_a_submission_error(text: str) -> None:
    with pytest.raises(SubmissionError, match="qsub printed no job id"):
        parse_qsub_terse(text)


def test_recorded_terse_outputs() -> None:
    assert parse_qsub_terse(_read("qsub_terse_array.txt")).last_task == 6
    assert parse_qsub_terse(_read("qsub_terse_single.txt")).first_task is None


def test_qstat_xml_tables() -> None:
    assert parse_qstat_xml(_read("qstat_empty.xml")) == []
    assert parse_qstat_xml("") == []
    states = queue_states(parse_qstat_xml(_read("qstat_array.xml")))
    assert states == {"8.1": "r", "8.2": "r", "8.3": "qw", "8.4": "qw", "8.5": "qw",
                      "8.6": "qw", "9": "r"}
    eqw = parse_qstat_xml(_read("qstat_eqw.xml"))
    assert [(j.job_number, j.name, j.state) for j in eqw] == [("6", "eqwjob", "Eqw")]
    with pytest.raises(SubmissionError, match="cannot parse qstat -xml"):
        parse_qstat_xml("<job_info><unclosed>")


def test_task_ranges_with_steps_and_lists() -> None:
    xml = ("<job_info><job_info><job_list><JB_job_number>5</JB_job_number><JB_name>n"
           "</JB_name><state>qw</state><tasks>1-7:3,10</tasks></job_list></job_info></job_info>")
    assert set(queue_states(parse_qstat_xml(xml))) == {"5.1", "5.4", "5.7", "5.10"}


def test_error_reason_and_config() -> None:
    reason = parse_error_reason(_read("qstat_j_eqw.txt"))
    assert "error: can't open output file \"/nonexistent/dir/out.txt\"" in reason
    assert parse_error_reason("") == ""
    assert parse_max_aj_tasks(_read("qconf_sconf.txt")) == 75000
    assert parse_max_aj_tasks("max_aj_tasks 0\n") == 75000
    assert parse_max_aj_tasks("max_aj_tasks 2000\n") == 2000


def _task(root: Path, *, seed: int = 0, name: str = "sweep", run: str = "run",
          resources: Resources | None = None, argv: tuple[str, ...] = ("python", "t.py"),
          env: tuple[tuple[str, str], ...] = (("PYTHONUNBUFFERED", "1"),)) -> JobTask:
    return JobTask(job=JobSpec(run_id=run, seed=seed, config_hash="h"), name=f"{name}-{seed}",
                   argv=argv, cwd=root, job_dir=root / "exp" / run / "jobs" / f"seed_{seed}",
                   resources=resources or Resources(), environment=Environment(), env=env,
                   internal_dir=root / "exp" / ".mle", sweep_name=name)


def test_golden_script(tmp_path: Path) -> None:
    resources = Resources(cores=4, gpus=1, memory_mb=8000, time_limit_s=5400,
                          queue="gpu.q", project="ml", extra_directives=("-l scratch=1G",))
    tasks = [_task(Path("/p"), seed=s, resources=resources) for s in range(3)]
    text = render_script(tasks, task_list=Path("/p/exp/.mle/sge/sweep_1_abc.tasks"),
                         name="sweep_1_abc", max_running=2, options=SgeOptions())
    text = text.replace(str(template_path("job_wrapper.sh")), "WRAPPER")
    if os.environ.get("MLE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), (
        "rendered SGE script changed; if on purpose, rerun with MLE_REGENERATE_GOLDEN=1")


def test_hostile_values_do_not_execute(tmp_path: Path) -> None:
    evil = "x'; touch pwned; $(touch pwned2) `touch pwned3`\n;echo"
    root = tmp_path / "dir with 'quotes' $(x) and ;"
    out = tmp_path / "proof"
    task = _task(root, run="r", argv=("bash", "-c", 'printf "%s" "$1" > "$2"', "_", evil,
                                      str(out)),
                 env=(("MLE_CONDA_ENV", ""), ("EVIL", evil)))
    task.job_dir.mkdir(parents=True)
    backend = SgeBackend(options=SgeOptions(), run=_no_commands)
    backend._max_tasks = 100
    [(_, script)] = backend.scripts([task], max_running=1)
    from mle_toolbox.backends.arrays import write_task_files
    task_list = task.internal_dir / "sge" / "sweep_1_XXXXXX.tasks"  # type: ignore[operator]
    write_task_files([task], task_list=task_list)
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env={**os.environ,
                          "SGE_TASK_ID": "1"}, capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done.stderr + (task.job_dir / "stderr.log").read_text()
    assert out.read_text() == evil  # the value arrived intact, as one argument
    assert (task.job_dir / "exit_code").read_text() == "0\n"
    assert not list(tmp_path.rglob("pwned*"))


def _no_commands(argv: Sequence[str]) -> Output:
    raise AssertionError(f"unexpected command {argv}")


class ScriptedQueue:
    """qsub / qstat answers in order; records every call."""

    def __init__(self, answers: dict[str, list[Output]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> Output:
        self.calls.append(tuple(argv))
        return dataclasses.replace(self.answers[argv[0]].pop(0), argv=tuple(argv))


def _out(stdout: str = "", rc: int = 0, stderr: str = "") -> Output:
    return Output(argv=("x",), returncode=rc, stdout=stdout, stderr=stderr)


TRANSIENT = _out(rc=1, stderr="error: Error reading answer list from qmaster")
EMPTY_QUEUE = _out((DATA / "qstat_empty.xml").read_text())


@pytest.mark.parametrize(("qstat_after_failure", "qsubs"), [
    ("empty", 2),  # first try did not go through: submit again
    ("listed", 1),  # it did go through: never submit twice
])
def test_transient_qsub_error_is_retried_without_duplicates(
    tmp_path: Path, qstat_after_failure: str, qsubs: int,
) -> None:
    tasks = [_task(tmp_path, seed=s) for s in range(3)]
    queue = ScriptedQueue({"qconf": [_out("max_aj_tasks 75000\n")],
                           "qsub": [TRANSIENT, _out("41.1-3:1\n")], "qstat": []})
    backend = SgeBackend(options=SgeOptions(), run=queue, sleep=lambda _: None,
                         retry=RetryPolicy(attempts=3, first_delay=0.01))
    real_submit = backend._submit_array

    def submit_array(chunk: list[JobTask], *, name: str, max_running: int | None) -> list:  # type: ignore[type-arg]
        listed = (f"<job_info><job_info><job_list><JB_job_number>40</JB_job_number><JB_name>"
                  f"{name}</JB_name><state>qw</state><tasks>1-3:1</tasks></job_list>"
                  "</job_info></job_info>")
        queue.answers["qstat"].append(EMPTY_QUEUE if qstat_after_failure == "empty"
                                      else _out(listed))
        return real_submit(chunk, name=name, max_running=max_running)

    backend._submit_array = submit_array  # type: ignore[method-assign]
    handles = backend.submit(tasks, max_running=2)
    assert [c[0] for c in queue.calls].count("qsub") == qsubs
    expected = "41" if qsubs == 2 else "40"
    assert [h.native_id for h in handles] == [f"{expected}.{i}" for i in (1, 2, 3)]


def test_other_qsub_errors_stop_with_command_and_stderr(tmp_path: Path) -> None:
    queue = ScriptedQueue({"qconf": [_out("")], "qsub": [
        _out(rc=1, stderr='Unable to run job: unknown resource "nosuch"')]})
    backend = SgeBackend(options=SgeOptions(), run=queue, sleep=lambda _: None)
    with pytest.raises(Exception, match='unknown resource "nosuch"') as caught:
        backend.submit([_task(tmp_path)])
    assert "qsub -terse" in str(caught.value) and "exit code 1" in str(caught.value)


def test_status_reads_exit_files_queue_states_and_vanished_jobs(tmp_path: Path) -> None:
    tasks = [_task(tmp_path, seed=s) for s in range(4)]
    clock = [0.0]
    queue = ScriptedQueue({"qconf": [_out("")], "qsub": [_out("8.1-4:1\n")],
                           "qstat": [_out(_read("qstat_array.xml"))] * 4})
    backend = SgeBackend(options=dataclasses.replace(SgeOptions(), vanish_grace_s=10),
                         run=queue, clock=lambda: clock[0])
    handles = backend.submit(tasks)
    tasks[0].files.exit_code.write_text("0\n")
    tasks[1].files.exit_code.write_text("137\n")
    states = backend.status(handles)
    # 8.2 was killed but qstat still lists it running: it may be rescheduled (qmod -rj),
    # so its exit code stands only once it leaves the queue or after the grace.
    assert [states[h].state for h in handles] == [JobState.COMPLETED, JobState.RUNNING,
                                                   JobState.PENDING, JobState.PENDING]
    assert len([c for c in queue.calls if c[0] == "qstat"]) == 1  # one query for all
    gone = [dataclasses.replace(h, native_id="8.9") for h in handles[:1]]
    backend._jobs["8.9"] = backend._jobs["8.3"]
    assert backend.status(gone)[gone[0]].state is JobState.RUNNING  # grace period
    clock[0] = 11.0
    final = backend.status(gone)[gone[0]]
    assert final.state is JobState.FAILED and "left the queue" in final.reason
    assert backend.status(handles[1:2])[handles[1]].reason == (
        "killed by signal SIGKILL (exit code 137)")


def _wrapper(job_dir: Path, *command: str) -> subprocess.CompletedProcess[str]:
    job_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["bash", str(template_path("job_wrapper.sh")), str(job_dir),
                           *command], capture_output=True, text=True, timeout=30, check=False)


def test_wrapper_never_exits_100_and_maps_a_requeue_request_to_99(tmp_path: Path) -> None:
    hundred = _wrapper(tmp_path / "a", "bash", "-c", "exit 100")
    assert hundred.returncode == 1  # exit 100 would put an SGE job into error state
    assert (tmp_path / "a" / "exit_code").read_text() == "100\n"  # reported exactly
    own = _wrapper(tmp_path / "c", "bash", "-c", "exit 99")
    assert own.returncode == 1  # a script's own 99 would make SGE requeue it forever
    assert (tmp_path / "c" / "exit_code").read_text() == "99\n"
    requeue = _wrapper(tmp_path / "b", "bash", "-c", f"touch {tmp_path / 'b' / 'requeue'}")
    assert requeue.returncode == 99
    assert not (tmp_path / "b" / "exit_code").exists()  # not finished: it runs again
    assert not (tmp_path / "b" / "requeue").exists()
    assert "asked to be requeued" in requeue.stderr


def test_error_state_is_failed_with_the_reason_and_deleted(tmp_path: Path) -> None:
    queue = ScriptedQueue({"qconf": [_out("")], "qsub": [_out("6\n")],
                           "qstat": [_out(_read("qstat_eqw.xml")),
                                     _out(_read("qstat_j_eqw.txt")), EMPTY_QUEUE],
                           "qdel": [_out("root has deleted job 6\n")]})
    backend = SgeBackend(options=SgeOptions(), run=queue)
    [handle] = backend.submit([_task(tmp_path)])
    handle = dataclasses.replace(handle, native_id="6")
    backend._jobs["6"] = backend._jobs.pop("6.1")
    status = backend.status([handle])[handle]
    assert status.state is JobState.FAILED
    assert status.reason.startswith("SGE error state Eqw: ")
    assert "can't open output file" in status.reason
    assert ("qdel", "-f", "6") in queue.calls
    assert backend.status([handle])[handle] == status  # reported once, stays failed


def test_forced_qdel_of_tasks_partly_gone_is_not_an_error() -> None:
    # Seen on the real SGE: qdel -f of an ended and a running task exits 1.
    from mle_toolbox.backends.sge import qdel

    out = _out('job "269" task "1" does not exist\n', rc=1,
               stderr="root forced the deletion of job-array task 269.2\n")
    calls: list[Sequence[str]] = []
    qdel(["269.1", "269.2"], force=True, run=lambda argv: calls.append(argv) or out)
    assert calls == [["qdel", "-f", "269.1", "269.2"]]


def test_arrays_go_in_held_and_release_is_per_array_retried_and_idempotent(
        tmp_path: Path) -> None:
    """qsub -h; release: one qrls per array (packed ids count once), a qmaster hiccup is
    tried again, an array already gone is fine, any other refusal is an error."""
    tasks = [_task(tmp_path, seed=s) for s in range(3)]
    gone = _out(rc=3, stderr='denied: job "8" does not exist\n')
    queue = ScriptedQueue({"qconf": [_out("max_aj_tasks 75000\n")], "qsub": [_out("8.1-3:1\n")],
                           "qrls": [TRANSIENT, _out("modified hold of job-array task 8.1\n"),
                                    gone, _out(rc=1, stderr="denied: not the owner")]})
    backend = SgeBackend(options=SgeOptions(), run=queue, sleep=lambda _: None,
                         retry=RetryPolicy(attempts=3, first_delay=0.01))
    handles = backend.submit(tasks)
    [qsub] = [c for c in queue.calls if c[0] == "qsub"]
    assert qsub[:3] == ("qsub", "-terse", "-h")
    backend.release([*handles, dataclasses.replace(handles[0], native_id="8.1@2")])
    assert [c for c in queue.calls if c[0] == "qrls"] == [("qrls", "8")] * 2
    backend.release(handles)
    with pytest.raises(CommandError, match="not the owner") as refused:
        backend.release(handles)
    assert "qrls failed: the arrays stay held, their ids are in the job table; mle run or " \
        "mle resume releases them, mle cancel removes them" in str(refused.value)
