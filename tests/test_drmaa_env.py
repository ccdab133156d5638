"""sge-drmaa works without hand-set DRMAA_LIBRARY_PATH / LD_PRELOAD (issue 17, item 14).

libdrmaa is found from SGE_ROOT and the usual library folders; Debian's static-TLS error
is answered by starting mle again with jemalloc preloaded, once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mle_toolbox.backends.sge_drmaa import find_libdrmaa
from tests.test_sge_real import HAVE_SGE

CLEAN = {k: v for k, v in os.environ.items()
         if k not in ("DRMAA_LIBRARY_PATH", "LD_PRELOAD", "MLE_RESTARTED_WITH_PRELOAD")}


def test_libdrmaa_is_found_under_sge_root_before_the_usual_folders(tmp_path: Path) -> None:
    site = tmp_path / "sge" / "lib" / "lx-amd64"
    site.mkdir(parents=True)
    (site / "libdrmaa.so").write_bytes(b"")
    assert find_libdrmaa({"SGE_ROOT": str(tmp_path / "sge")}) == str(site / "libdrmaa.so")
    assert find_libdrmaa({"DRMAA_LIBRARY_PATH": "/x/libdrmaa.so",
                          "SGE_ROOT": str(tmp_path / "sge")}) == "/x/libdrmaa.so"


@pytest.mark.sge
@pytest.mark.timeout(150)
@pytest.mark.skipif(not HAVE_SGE, reason="no Grid Engine (qstat, SGE_ROOT)")
def test_sge_drmaa_runs_with_no_drmaa_variables_set(project: Path) -> None:
    meta = project / "meta.yaml"
    meta.write_text(meta.read_text().replace("project_name: demo", "project_name: nodrmaaenv"))
    done = subprocess.run([sys.executable, "-m", "mle_toolbox", "run", "meta.yaml",
                           "--backend", "sge-drmaa"], cwd=project, env=CLEAN,
                          capture_output=True, text=True, timeout=140, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "static TLS" not in done.stderr and "Traceback" not in done.stderr
    report = json.loads((project / "out" / "report.json").read_text())
    assert report["counts"] == {"completed": 4}
