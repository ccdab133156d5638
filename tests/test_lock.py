"""The experiment lock: a kernel lock that dies with its holder, clear messages, disk full."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mle_toolbox.errors import DiskFullError, ExperimentDirError
from mle_toolbox.launcher import lock as lock_module
from mle_toolbox.launcher.lock import ExperimentLock


def test_a_second_holder_is_refused_and_the_first_release_frees_it(tmp_path: Path) -> None:
    path = tmp_path / "exp" / ".mle-lock"
    with ExperimentLock(path):
        owner = json.loads(path.read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == os.uname().nodename
        with pytest.raises(ExperimentDirError, match=rf"another mle launcher \(pid {os.getpid()}"):
            ExperimentLock(path).acquire()
    assert not path.exists()
    with ExperimentLock(path):
        assert path.exists()


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    path = tmp_path / ".mle-lock"
    code = ("import sys, os\nfrom pathlib import Path\n"
            "from mle_toolbox.launcher.lock import ExperimentLock\n"
            f"ExperimentLock(Path({str(path)!r})).acquire()\n"
            "os.kill(os.getpid(), 9)\n")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == -9
    dead_pid = json.loads(path.read_text())["pid"]
    lock = ExperimentLock(path)
    lock.acquire()
    assert json.loads(path.read_text())["pid"] == os.getpid() != dead_pid
    lock.release()


def test_disk_full_while_recording_names_the_path_and_leaves_it_free(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / ".mle-lock"

    def full(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lock_module.os, "pwrite", full)
    with pytest.raises(DiskFullError) as caught:
        ExperimentLock(path).acquire()
    assert str(caught.value).startswith(f"cannot take the lock {path}: disk full")
    assert caught.value.exit_code == 74
    assert not path.exists()  # no empty lock left behind
    monkeypatch.undo()
    with ExperimentLock(path):  # the failed attempt holds nothing
        pass


def test_a_lock_replaced_between_open_and_flock_is_opened_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / ".mle-lock"
    real_open = lock_module.os.open
    calls = []

    def racing_open(name: str, flags: int, mode: int = 0o777) -> int:
        fd = real_open(name, flags, mode)
        calls.append(name)
        if len(calls) == 1:  # another launcher releases (unlinks) right after our open
            os.unlink(name)
        return fd

    monkeypatch.setattr(lock_module.os, "open", racing_open)
    lock = ExperimentLock(path)
    lock.acquire()
    assert len(calls) == 2
    assert json.loads(path.read_text())["pid"] == os.getpid()
    lock.release()
