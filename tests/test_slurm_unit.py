"""Slurm backend without a cluster: parsers on recorded output (tests/data/slurm),
script rendering, quoting of hostile values, submission retries and status rules
against a scripted sbatch / squeue / scontrol."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from mle_toolbox.backends.arrays import write_task_files
from mle_toolbox.backends.commands import RetryPolicy
from mle_toolbox.backends.slurm import SlurmBackend, scancel
from mle_toolbox.backends.slurm_parse import (
    parse_max_array_size,
    parse_sbatch_parsable,
    parse_scontrol_job,
    parse_squeue,
)
from mle_toolbox.backends.slurm_script import SlurmOptions, render_script
from mle_toolbox.errors import CommandError, ConfigError, SubmissionError
from mle_toolbox.spec import JobHandle, JobState, Resources
from mle_toolbox.templates import template_path
from tests.test_sge_unit import ScriptedQueue, _no_commands, _out, _task

DATA = Path(__file__).parent / "data" / "slurm"
GOLDEN = Path(__file__).parent / "golden" / "slurm_job.sh.expected"


def _read(name: str) -> str:
    return (DATA / name).read_text()


@pytest.mark.parametrize(("text", "job_id"), [
    ("3\n", "3"), ("4\n", "4"), ("77;cluster\n", "77"),
    ("sbatch: warning: something\n12\n", "12"),
])
def test_sbatch_parsable_ids(text: str, job_id: str) -> None:
    assert parse_sbatch_parsable(text) == job_id


def test_recorded_sbatch_outputs() -> None:
    assert parse_sbatch_parsable(_read("sbatch_parsable_array.txt")) == "3"
    assert parse_sbatch_parsable(_read("sbatch_parsable_single.txt")) == "4"
    for name in ("sbatch_bad_partition", "sbatch_bad_gres", "sbatch_array_too_large"):
        with pytest.raises(SubmissionError, match="sbatch printed no job id"):
            parse_sbatch_parsable(_read(f"{name}.stderr.txt"))
    with pytest.raises(SubmissionError):
        parse_sbatch_parsable("")


def test_squeue_tables() -> None:
    jobs = parse_squeue(_read("squeue_array_running.txt"))
    assert [(j.native_id, j.state, j.reason, j.array_id) for j in jobs] == [
        ("3_2", "PENDING", "JobArrayTaskLimit", "3"), ("3_3", "PENDING", "JobArrayTaskLimit", "3"),
        ("3_4", "PENDING", "JobArrayTaskLimit", "3"), ("3_5", "PENDING", "JobArrayTaskLimit", "3"),
        ("4", "PENDING", "Resources", "4"), ("3_0", "RUNNING", "None", "3"),
        ("3_1", "RUNNING", "None", "3")]
    assert {j.job_state for j in jobs} == {JobState.PENDING, JobState.RUNNING}
    assert {j.name for j in jobs} == {"rec_array", "rec_single"}
    assert parse_squeue("") == []
    [requeued] = parse_squeue(_read("squeue_requeued.txt"))
    assert (requeued.native_id, requeued.reason, requeued.job_state) == (
        "79_0", "BeginTime", JobState.PENDING)


def test_squeue_compressed_array_ranges_names_with_bars_and_ended_states() -> None:
    jobs = parse_squeue("12_[3-5,9%2]|PENDING|JobArrayTaskLimit|a|b\n"
                        "13|COMPLETED|None|x\ngarbage line\n14_[1-7:3]|PENDING|None|y\n")
    assert [j.native_id for j in jobs] == ["12_3", "12_4", "12_5", "12_9", "13",
                                           "14_1", "14_4", "14_7"]
    assert jobs[0].name == "a|b"
    assert jobs[4].job_state is None  # ended: no longer the scheduler's


def test_scontrol_tables() -> None:
    assert parse_max_array_size(_read("scontrol_show_config.txt")) == 1001
    assert parse_max_array_size("MaxArraySize            = 20\n") == 20
    assert parse_max_array_size("") == 1001
    cancelled = parse_scontrol_job(_read("scontrol_show_job_cancelled.txt"))
    assert cancelled is not None
    assert (cancelled.state, cancelled.is_over, cancelled.started) == ("CANCELLED", True, False)
    done = parse_scontrol_job(_read("scontrol_show_job_completed.txt"))
    assert done is not None and (done.state, done.exit_code, done.started) == (
        "COMPLETED", 0, True)
    failed = parse_scontrol_job(_read("scontrol_show_job_exit3.txt"))
    assert failed is not None and (failed.state, failed.exit_code, failed.reason) == (
        "FAILED", 3, "NonZeroExitCode")
    running = parse_scontrol_job(_read("scontrol_show_job_running.txt"))
    assert running is not None and not running.is_over
    assert parse_scontrol_job(_read("scontrol_show_job_unknown.stderr.txt")) is None


def test_golden_script() -> None:
    resources = Resources(cores=4, gpus=1, memory_mb=8000, time_limit_s=5400,
                          queue="gpu", project="ml", extra_directives=("--constraint=a100",))
    tasks = [_task(Path("/p"), seed=s, resources=resources) for s in range(3)]
    text = render_script(tasks, task_list=Path("/p/exp/.mle/slurm/sweep_1_abc.tasks"),
                         name="sweep_1_abc", max_running=2, options=SlurmOptions())
    text = text.replace(str(template_path("job_wrapper.sh")), "WRAPPER")
    if os.environ.get("MLE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), (
        "rendered Slurm script changed; if on purpose, rerun with MLE_REGENERATE_GOLDEN=1")


def test_directive_options() -> None:
    def script(resources: Resources, options: SlurmOptions | None = None,
               max_running: int | None = None) -> str:
        return render_script([_task(Path("/p"), resources=resources)], name="n",
                             task_list=Path("/p/t.tasks"), max_running=max_running,
                             options=options or SlurmOptions())

    plain = script(Resources())
    assert "#SBATCH --array=0-0\n" in plain and "#SBATCH --cpus-per-task=1\n" in plain
    assert "--mem" not in plain and "--gres" not in plain and "--time" not in plain
    assert "#SBATCH --signal=B:USR1@60\n" in plain
    per_cpu = script(Resources(memory_per_cpu_mb=500, gpus=2),
                     SlurmOptions(gpu_gres="gpu:a100", signal=""))
    assert "#SBATCH --mem-per-cpu=500M\n" in per_cpu
    assert "#SBATCH --gres=gpu:a100:2\n" in per_cpu and "#SBATCH --signal" not in per_cpu
    assert "#SBATCH --array=0-0\n" in script(Resources(), max_running=5)  # no %5 for 1 task
    odd = script(Resources(queue="a b'c"))
    assert "#SBATCH '--partition=a b'\"'\"'c'\n" in odd
    with pytest.raises(ConfigError, match="line break"):
        script(Resources(extra_directives=("--x\n#SBATCH --y",)))


def test_options_from_env() -> None:
    opts = SlurmOptions.from_env({"MLE_SLURM_GPU": "shard", "MLE_SLURM_SIGNAL": "USR2@120",
                                  "MLE_SLURM_GRACE": "5"})
    assert (opts.gpu_gres, opts.signal, opts.vanish_grace_s) == ("shard", "USR2@120", 5.0)
    assert SlurmOptions.from_env({}).signal == "B:USR1@60"
    with pytest.raises(ConfigError, match="MLE_SLURM_GRACE"):
        SlurmOptions.from_env({"MLE_SLURM_GRACE": "soon"})
    with pytest.raises(ConfigError, match="MLE_SLURM_SIGNAL"):
        SlurmOptions.from_env({"MLE_SLURM_SIGNAL": "USR1; rm -rf /"})


def _fake_scontrol(bin_dir: Path, log: Path) -> None:
    bin_dir.mkdir()
    fake = bin_dir / "scontrol"
    fake.write_text(f'#!/bin/bash\nprintf "%s\\n" "$*" >> {log}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)


def test_hostile_values_do_not_execute(tmp_path: Path) -> None:
    evil = "x'; touch pwned; $(touch pwned2) `touch pwned3`\n;echo"
    root = tmp_path / "dir with 'quotes' $(x) and ; %A"
    out = tmp_path / "proof"
    task = _task(root, run="r", argv=("bash", "-c", 'printf "%s" "$1" > "$2"', "_", evil,
                                      str(out)),
                 env=(("MLE_CONDA_ENV", ""), ("EVIL", evil)))
    backend = SlurmBackend(options=SlurmOptions(), run=_no_commands)
    backend._max_tasks = 100
    [(argv, script)] = backend.scripts([task], max_running=1)
    # sbatch expands %-patterns in --output: the directory's own % are doubled
    assert argv[-1] == f"--output={str(root).replace('%', '%%')}/exp/.mle/slurm/out/%x_%A_%a.out"
    task_list = task.internal_dir / "slurm" / "sweep_1_XXXXXX.tasks"  # type: ignore[operator]
    write_task_files([task], task_list=task_list)
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env={**os.environ,
                          "SLURM_ARRAY_TASK_ID": "0"}, capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr + (task.job_dir / "stderr.log").read_text()
    assert out.read_text() == evil  # the value arrived intact, as one argument
    assert (task.job_dir / "exit_code").read_text() == "0\n"
    assert not list(tmp_path.rglob("pwned*"))


def test_requeue_request_runs_scontrol_requeue_with_the_array_task_id(tmp_path: Path) -> None:
    log = tmp_path / "scontrol.log"
    _fake_scontrol(tmp_path / "bin", log)
    task = _task(tmp_path, argv=("bash", "-c", 'echo "saw=${MLE_SLURM_REQUEUE_ID-unset}"; '
                                 f"touch {tmp_path}/exp/run/jobs/seed_0/requeue"))
    backend = SlurmBackend(options=SlurmOptions(), run=_no_commands)
    backend._max_tasks = 100
    [(_, script)] = backend.scripts([task])
    write_task_files([task], task_list=task.internal_dir / "slurm" / "sweep_1_XXXXXX.tasks")  # type: ignore[operator]
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
           "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_JOB_ID": "41", "SLURM_JOB_ID": "44"}
    for _ in range(2):  # each requeued attempt's logs move to attempts/<k>/
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0
    assert log.read_text() == "requeue 41_0\nrequeue 41_0\n"
    assert not task.files.exit_code.exists()  # not finished: it runs again
    for attempt in ("1", "2"):
        kept = task.job_dir / "attempts" / attempt
        assert (kept / "stdout.log").read_text() == "saw=unset\n"  # the job does not see it
        assert (kept / "stderr.log").read_text().count("scontrol requeue 41_0") == 1


def _backend(queue: ScriptedQueue, **kwargs: object) -> SlurmBackend:
    return SlurmBackend(options=SlurmOptions(vanish_grace_s=10), run=queue,
                        sleep=lambda _: None, retry=RetryPolicy(attempts=3, first_delay=0.01),
                        **kwargs)  # type: ignore[arg-type]


TRANSIENT = _out(rc=1, stderr="sbatch: error: Batch job submission failed: Socket timed out "
                              "on send/recv operation")
CONFIG = _out("MaxArraySize            = 2\n")


@pytest.mark.parametrize(("listed", "sbatches"), [(False, 2), (True, 1)])
def test_transient_sbatch_error_is_retried_without_duplicates(
    tmp_path: Path, listed: bool, sbatches: int,
) -> None:
    tasks = [_task(tmp_path, seed=s) for s in range(3)]  # MaxArraySize 2: two arrays
    queue = ScriptedQueue({"scontrol": [CONFIG], "sbatch": [TRANSIENT, _out("41\n"),
                                                            _out("42\n")], "squeue": []})
    backend = _backend(queue)
    real = backend._submit_array

    def submit_array(chunk: list, *, name: str, max_running: int | None) -> list:  # type: ignore[type-arg]
        queue.answers["squeue"].append(_out(f"40_0|PENDING|None|{name}\n" if listed else ""))
        return real(chunk, name=name, max_running=max_running)

    backend._submit_array = submit_array  # type: ignore[method-assign]
    handles = backend.submit(tasks, max_running=2)
    assert [c[0] for c in queue.calls].count("sbatch") == sbatches + 1
    first = "40" if listed else "41"
    second = "41" if listed else "42"
    assert [h.native_id for h in handles] == [f"{first}_0", f"{first}_1", f"{second}_0"]
    [first_script] = (tmp_path / "exp" / ".mle" / "slurm").glob("sweep_1_*.sh")
    assert "#SBATCH --array=0-1\n" in first_script.read_text()  # 2 tasks, cap 2: no throttle


def test_other_sbatch_errors_stop_with_command_and_stderr(tmp_path: Path) -> None:
    queue = ScriptedQueue({"scontrol": [_out("")], "sbatch": [
        _out(rc=1, stderr=_read("sbatch_bad_partition.stderr.txt"))]})
    with pytest.raises(CommandError, match="Invalid partition name specified") as caught:
        _backend(queue).submit([_task(tmp_path)])
    assert "sbatch --parsable" in str(caught.value) and "exit code 1" in str(caught.value)


def test_status_reads_exit_files_queue_states_stuck_and_vanished_jobs(tmp_path: Path) -> None:
    tasks = [_task(tmp_path, seed=s) for s in range(6)]
    clock = [0.0]
    listing = ("3_0|RUNNING|None|n\n3_1|RUNNING|None|n\n3_2|PENDING|Priority|n\n"
               "3_3|PENDING|PartitionConfig|n\n")
    queue = ScriptedQueue({"scontrol": [_out(""), _out(_read("scontrol_show_job_cancelled.txt")),
                                        _out(_read("scontrol_show_job_completed.txt"))],
                           "sbatch": [_out("3\n")], "squeue": [_out(listing)] * 5,
                           "scancel": [_out()]})
    backend = _backend(queue, clock=lambda: clock[0])
    handles = backend.submit(tasks)
    tasks[0].files.exit_code.write_text("0\n")
    tasks[1].files.exit_code.write_text("137\n")
    states = backend.status(handles)
    # 3_1 was killed but squeue still lists it: it may be requeued (scontrol requeue),
    # so its exit code stands only once it leaves the queue or after the grace.
    assert [states[h].state for h in handles] == [
        JobState.COMPLETED, JobState.RUNNING, JobState.PENDING, JobState.FAILED,
        JobState.FAILED, JobState.RUNNING]
    assert states[handles[3]].reason == "Slurm cannot run it: pending with reason PartitionConfig"
    assert ("scancel", "3_3") in queue.calls
    assert states[handles[4]].reason.startswith("Slurm ended it before it started (state "
                                                "CANCELLED")
    assert len([c for c in queue.calls if c[0] == "squeue"]) == 1  # one query for all
    assert backend.status(handles[5:])[handles[5]].state is JobState.RUNNING  # grace period
    clock[0] = 11.0
    final = backend.status(handles[5:])[handles[5]]
    assert final.state is JobState.FAILED and "left the queue" in final.reason
    assert backend.status(handles[1:2])[handles[1]].reason == (
        "killed by signal SIGKILL (exit code 137)")
    assert len([c for c in queue.calls if c[0] == "scontrol"]) == 3  # once per vanished job


def test_status_from_handles_alone(tmp_path: Path) -> None:
    queue = ScriptedQueue({"squeue": [_out("7_1|RUNNING|None|n\n")], "scontrol": [
        _out(_read("scontrol_show_job_completed.txt")), _out(_read("scontrol_show_job_exit3.txt")),
        _out(rc=1, stderr=_read("scontrol_show_job_unknown.stderr.txt"))]})
    backend = _backend(queue)
    handles = [JobHandle(backend="slurm", job_id=f"j{i}", native_id=f"7_{i}") for i in range(4)]
    states = backend.status(handles)
    assert [states[h].state for h in handles] == [JobState.COMPLETED, JobState.RUNNING,
                                                  JobState.FAILED, JobState.UNKNOWN]
    assert states[handles[2]].exit_code == 3
    backend.attach([(_task(tmp_path), handles[0].native_id)])
    _task(tmp_path).job_dir.mkdir(parents=True)
    _task(tmp_path).files.exit_code.write_text("5\n")
    queue.answers["squeue"].append(_out(""))
    assert backend.status(handles[:1])[handles[0]].exit_code == 5  # its own file wins


def test_scancel_is_chunked_deduplicated_and_idempotent() -> None:
    queue = ScriptedQueue({"scancel": [_out()] * 3 + [
        _out(rc=1, stderr="scancel: error: Kill job error on job id 9: Invalid job id specified"),
        _out(rc=1, stderr="scancel: error: Access/permission denied")]})
    ids = [f"5_{i}" for i in range(250)]
    scancel([*ids, "5_0"], force=False, run=queue)
    assert [len(c) - 1 for c in queue.calls] == [200, 50]
    scancel(["9"], force=True, run=queue)
    assert queue.calls[-1] == ("scancel", "--full", "--signal=KILL", "9")
    scancel(["9"], force=False, run=queue)  # already gone: fine
    with pytest.raises(CommandError, match="permission denied"):
        scancel(["9"], force=False, run=queue)


def test_a_controller_time_out_on_squeue_is_retried_then_reported(tmp_path: Path) -> None:
    timed_out = _out(rc=1, stderr="slurm_load_jobs error: Socket timed out on send/recv "
                                  "operation")
    queue = ScriptedQueue({"squeue": [timed_out, _out("7_0|RUNNING|None|n\n"),
                                      timed_out, timed_out, timed_out]})
    handle = JobHandle(backend="slurm", job_id="j", native_id="7_0")
    backend = _backend(queue)
    assert backend.status([handle])[handle].state is JobState.RUNNING
    with pytest.raises(CommandError, match="cannot read the queue"):
        backend.status([handle])
    assert len(queue.calls) == 5  # 2, then 3 tries (the policy's bound)


def test_arrays_go_in_held_and_release_is_per_array_retried_and_idempotent(
        tmp_path: Path) -> None:
    """sbatch --hold; release: one scontrol release per array (packed and plain tasks of
    array 41 count once), a busy controller is tried again, an ended array is fine, any
    other refusal is an error naming the command."""
    tasks = [_task(tmp_path, seed=s) for s in range(3)]  # MaxArraySize 2: two arrays
    busy = _out(rc=1, stderr="slurm_suspend error: Socket timed out on send/recv operation")
    ended = _out(rc=1, stderr="41_0-1: Job has already finished\n")
    queue = ScriptedQueue({"scontrol": [CONFIG, busy, _out(), ended,
                                        _out(rc=1, stderr="Access/permission denied")],
                           "sbatch": [_out("41\n"), _out("42\n")]})
    backend = _backend(queue)
    handles = backend.submit(tasks)
    assert [c[:3] for c in queue.calls if c[0] == "sbatch"] == [
        ("sbatch", "--parsable", "--hold")] * 2
    backend.release([*handles, JobHandle("slurm", "x", "41_1@2")])
    assert queue.calls[-2:] == [("scontrol", "release", "41", "42")] * 2
    backend.release(handles[:1])
    assert queue.calls[-1] == ("scontrol", "release", "41")
    with pytest.raises(CommandError, match="permission denied"):
        backend.release(handles[2:])
