"""mle-toolbox's command names: ``mle report -e_id / --use_last_id`` with report.pdf,
``mle protocol``, ``mle project``, ``mle retrieve`` and ``mle sync``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need_tools, run_mle, write
from tests.test_report import META, TRAIN

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose history holds two launches: tiny_grid (id 1), then solo (id 2)."""
    root = tmp_path_factory.mktemp("upstream")
    write(root / "train.py", TRAIN)
    write(root / "base.json", '{"train_config": {"lrate": 0.1, "steps": 3}}\n')
    write(root / "meta.yaml", META)
    write(root / "solo.yaml", META.replace("tiny_grid", "solo").replace(
        "steps: [3, 4]", "steps: [3]").replace("lrate: [0.1, 0.2]", "lrate: [0.1]"))
    first = run_mle("run", "meta.yaml", "--no-report", "--purpose", "grid it", cwd=root,
                    timeout=120)
    assert first.returncode == 1, first.stderr  # one seed diverges on purpose
    second = run_mle("run", "solo.yaml", "--no-report", cwd=root, timeout=120)
    assert second.returncode == 0, second.stderr
    return root


@need_tools("pdftoppm", "pdftotext")
def test_report_by_history_id_writes_a_pdf_that_renders(launched: Path,
                                                        tmp_path: Path) -> None:
    exp = launched / "runs" / "tiny_grid"
    done = run_mle("report", "-e_id", "1", cwd=launched)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"mle: report in {exp / 'report.md'} and report.html, "
                                  "report.pdf, ")
    pdf = exp / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True, timeout=60)
    [png] = tmp_path.glob("page*.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True, timeout=60).stdout
    assert "Experiment report: tiny_grid" in text
    # the loss table: header and one row per run, cells side by side in the layout text
    assert any(line.split()[:6] == ["run", "lrate", "steps", "seeds", "final", "best"]
               for line in text.splitlines()), text
    assert any(line.split()[:4] == ["b_1_eval_0", "0.1", "3", "2"]
               for line in text.splitlines()), text
    assert "Failed jobs (1)" in text and "diverged: loss is nan" in text
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                           check=True, timeout=60).stdout
    assert "learning curves of b_1_eval_0" in pages  # the figures came along


def test_report_use_last_id_and_the_upstream_id_form(launched: Path) -> None:
    last = run_mle("report", "--use_last_id", "--no-pdf", "--no-figures", cwd=launched)
    assert last.returncode == 0, last.stderr
    solo = launched / "runs" / "solo"
    assert last.stdout == f"mle: report in {solo / 'report.md'} and report.html\n"
    assert not (solo / "report.pdf").exists()
    short = run_mle("report", "-use_last", "--no-figures", cwd=launched)
    assert short.returncode == 0 and (solo / "report.pdf").is_file()
    upstream = run_mle("report", "--experiment_id", "e-id-2", "--no-figures", cwd=launched)
    assert upstream.returncode == 0 and str(solo / "report.md") in upstream.stdout


@pytest.mark.parametrize(("args", "message"), [
    ((), "mle report: give one of EXP_DIR, -e_id ID or --use_last_id (got none); "
         "mle protocol lists the ids"),
    (("-e_id", "1", "-use_last"), "mle report: give one of EXP_DIR, -e_id ID or "
     "--use_last_id (got -e_id and --use_last_id); mle protocol lists the ids"),
    (("-e_id", "first"), "-e_id: expected a history id such as 3 or e-id-3, got 'first'"),
])
def test_report_selection_errors(launched: Path, args: tuple[str, ...], message: str) -> None:
    done = run_mle("report", *args, cwd=launched)
    assert (done.returncode, done.stderr, done.stdout) == (2, f"mle: error: {message}\n", "")


def test_report_unknown_id_names_the_database(launched: Path, tmp_path: Path) -> None:
    done = run_mle("report", "-e_id", "9", cwd=launched)
    db = launched / ".mle" / "history.sqlite"
    assert (done.returncode, done.stderr) == (
        2, f"mle: error: -e_id: no experiment with id 9 in the experiment history {db} "
           "(mle protocol lists the ids)\n")
    nothing = run_mle("report", "--use_last_id", cwd=tmp_path)
    assert (nothing.returncode, nothing.stderr) == (
        2, "mle: error: --use_last_id: no experiment recorded yet (no experiment history "
           "found)\n")


def test_report_without_fpdf2_says_how_to_get_the_pdf(launched: Path,
                                                      tmp_path: Path) -> None:
    blocker = write(tmp_path / "fpdf.py", "raise ImportError('fpdf2 is not installed')\n")
    done = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "from mle_toolbox.cli import main; sys.exit(main(sys.argv[2:]))",
         str(blocker.parent), "report", str(launched / "runs" / "solo"), "--no-figures"],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        "mle: no report.pdf: it needs fpdf2 (pip install 'mle_toolbox[pdf]')")


def test_protocol_lists_newest_first_as_text_and_json(launched: Path) -> None:
    done = run_mle("protocol", cwd=launched)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "STATE", "NAME", "JOBS"]  # mle ls's columns
    assert [line.split()[:3] for line in lines[1:]] == [
        ["2", "completed", "solo"], ["1", "failed", "tiny_grid"]]
    assert "grid it" in lines[2]
    data = json.loads(run_mle("protocol", "--json", cwd=launched).stdout)
    assert [(e["id"], e["name"], e["purpose"]) for e in data] == [
        (2, "solo", None), (1, "tiny_grid", "grid it")]
    tail = run_mle("protocol", "--tail", "1", cwd=launched).stdout.splitlines()
    assert [line.split()[0] for line in tail[1:-1]] == ["2"]
    assert tail[-1] == "(1 newest of 2; --all lists every launch)"


def test_project_is_init_under_upstreams_name(tmp_path: Path) -> None:
    done = run_mle("project", "my_study", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("mle: created an experiment project in my_study:")
    assert (tmp_path / "my_study" / "train.py").is_file()
    assert (tmp_path / "my_study" / "meta_seeds.yaml").is_file()
    flag = run_mle("project", "-name", "other", cwd=tmp_path)
    assert flag.returncode == 0 and (tmp_path / "other" / "configs" / "base.json").is_file()
    default = run_mle("project", cwd=tmp_path)
    assert default.returncode == 0 and (tmp_path / "mle-project" / "train.py").is_file()
    again = run_mle("project", "my_study", cwd=tmp_path)
    assert again.returncode == 2 and "nothing was written" in again.stderr
    both = run_mle("project", "a", "--project_name", "b", cwd=tmp_path)
    assert (both.returncode, both.stderr) == (
        2, "mle: error: --project_name: two names given ('a' and 'b'); give one\n")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize(("args", "start"), [
    (("retrieve",), "mle: error: mle retrieve is not needed: "),
    (("retrieve", "-e_id", "3", "-local"), "mle: error: mle retrieve is not needed: "),
    (("sync",), "mle: error: mle sync (Google Cloud Storage) is not supported: "),
    (("sync-gcs",), "mle: error: mle sync (Google Cloud Storage) is not supported: "),
])
def test_retrieve_and_sync_say_what_to_use_in_one_line(tmp_path: Path, args: tuple[str, ...],
                                                       start: str) -> None:
    done = run_mle(*args, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(start) and done.stderr.count("\n") == 1
    assert "rsync" in done.stderr
    assert list(tmp_path.iterdir()) == []
