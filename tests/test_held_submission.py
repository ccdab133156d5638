"""Cluster arrays wait held until the launcher has recorded their ids (then released).

Checked on the real schedulers by their own word (qstat's ``h`` state, squeue's reason
``JobHeldUser``) right after ``submit``, then again after ``release``: the job runs.
"""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path

import pytest

from mle_toolbox.backends.packed_ids import task_of
from mle_toolbox.backends.sge_parse import parse_qstat_xml
from mle_toolbox.spec import JobState
from tests.backend_contract import final_status, task
from tests.test_backend_contract import _factory


def _scheduler_says_held(name: str, native_id: str) -> bool:
    if name == "slurm":
        out = subprocess.run(["squeue", "-h", "-r", "-j", task_of(native_id).split("_")[0],
                              "-o", "%r"], capture_output=True, text=True, check=True,
                             timeout=60).stdout.split()
        return out == ["JobHeldUser"]
    xml = subprocess.run(["qstat", "-xml", "-u", getpass.getuser()], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    number = task_of(native_id).split(".")[0]
    states = [job.state for job in parse_qstat_xml(xml) if job.job_number == number]
    return bool(states) and all("h" in state for state in states)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", [
    pytest.param("sge", marks=pytest.mark.sge), pytest.param("sge-drmaa", marks=pytest.mark.sge),
    pytest.param("slurm", marks=pytest.mark.slurm)])
def test_a_submitted_array_is_held_until_released_then_runs(name: str, tmp_path: Path) -> None:
    backend = _factory(name)()
    job = task(tmp_path, 0, "print('ran')")
    [handle] = backend.submit([job], max_running=1)
    try:
        assert _scheduler_says_held(name, handle.native_id)
        assert backend.status([handle])[handle].state is JobState.PENDING
        backend.release([handle])
        backend.release([handle])  # twice is harmless
        state = final_status(backend, handle, within=90, what="the released job never ended")
        assert state.state is JobState.COMPLETED
        assert job.files.stdout.read_text() == "ran\n"
        backend.release([handle])  # and after it ended
    finally:
        backend.cancel([handle], force=True)
