"""``mle report``: tables checked against the metrics logs, real PNGs, no-matplotlib path."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import struct
import sys
from pathlib import Path
from typing import Any

import pytest

from mle_toolbox.files.layout import ExperimentLayout
from mle_toolbox.results import report as report_module
from mle_toolbox.results.report import report_after_run, write_report
from tests.conftest import run_mle, write

pytestmark = pytest.mark.timeout(120)

TRAIN = '''\
import sys
from mle_toolbox import MLExperiment

mle = MLExperiment()
cfg = mle.train_config
if cfg.lrate == 0.2 and cfg.steps == 4 and mle.seed_id == 1:
    print("diverged: loss is nan", file=sys.stderr)
    sys.exit(5)
for step in range(cfg.steps):
    loss = cfg.lrate * (10 - step) + 0.1 * mle.seed_id * step
    mle.log.update({"step": step}, {"loss": loss, "acc": 1 / (1 + loss)}, save=True)
'''

META = """\
meta_job_args:
  project_name: tiny_grid
  experiment_type: hyperparameter-search
  base_train_fname: train.py
  base_train_config: base.json
  experiment_dir: runs/tiny_grid
param_search_args:
  search_logging:
    eval_metrics: [loss]
    max_objective: false
  search_resources:
    num_seeds_per_eval: 2
  search_config:
    search_type: grid
    search_params:
      categorical:
        lrate: [0.1, 0.2]
        steps: [3, 4]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 x 2 grid x 2 seeds sweep with one failing job, run by ``mle run``."""
    project = tmp_path_factory.mktemp("report")
    write(project / "train.py", TRAIN)
    write(project / "base.json", '{"train_config": {"lrate": 0.5, "steps": 2}}\n')
    write(project / "meta.yaml", META)
    result = run_mle("run", "meta.yaml", cwd=project)
    assert result.returncode == 1, result.stderr  # one job failed; the report is written
    exp = project / "runs" / "tiny_grid"
    assert f"mle: report in {exp / 'report.md'}" in result.stdout
    return exp


def _params(exp: Path) -> dict[str, dict[str, Any]]:
    plan = json.loads((exp / "plan.json").read_text())
    return {run["run_id"]: run["params"] for run in plan["runs"]}


def _table(markdown: str, metric: str) -> dict[str, list[str]]:
    section = markdown.split(f"### `{metric}`\n", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert rows[0] == "| run | lrate | steps | seeds | final | best |"
    assert rows[1] == "| --- | --- | --- | --- | --- | --- |"
    return {cells[0]: cells[1:] for cells in
            ([c.strip() for c in row.strip("|").split("|")] for row in rows[2:])}


def _expected(exp: Path, run_id: str, metric: str) -> tuple[list[float], list[float]]:
    """(final per seed, best per seed) straight from the JSON-lines logs."""
    finals, bests = [], []
    for log in sorted((exp / run_id / "logs").glob("seed_*.jsonl")):
        values = [json.loads(line)["stats"][metric] for line in log.read_text().splitlines()]
        finals.append(values[-1])
        bests.append(min(values))  # max_objective: false, so best is the lowest
    return finals, bests


def _mean_std(cell: str) -> tuple[float, float]:
    mean, std = cell.split(" ± ")
    return float(mean), float(std)


def test_tables_equal_values_computed_from_the_logs(swept: Path) -> None:
    markdown = (swept / "report.md").read_text()
    params = _params(swept)
    for metric in ("loss", "acc"):
        table = _table(markdown, metric)
        assert sorted(table) == sorted(params)
        for run_id, (lrate, steps, seeds, final, best) in table.items():
            assert (float(lrate), int(steps)) == (params[run_id]["lrate"],
                                                  params[run_id]["steps"])
            finals, bests = _expected(swept, run_id, metric)
            assert int(seeds) == len(finals)
            for cell, values in ((final, finals), (best, bests)):
                mean, std = _mean_std(cell)
                assert mean == pytest.approx(statistics.fmean(values), rel=1e-5)
                assert std == pytest.approx(statistics.pstdev(values), rel=1e-5, abs=1e-12)
    # the failing point kept only seed 0
    failing = next(r for r, p in params.items() if p == {"lrate": 0.2, "steps": 4})
    assert _table(markdown, "loss")[failing][2] == "1"


def test_best_run_failed_jobs_and_config(swept: Path) -> None:
    markdown = (swept / "report.md").read_text()
    params = _params(swept)
    best = next(r for r, p in params.items() if p == {"lrate": 0.1, "steps": 4})
    # final loss = 0.1 * 7 + 0.1 * seed * 3: 0.7 and 1.0, the lowest mean of the grid
    # A grid search writes best_config.json: the report names the same run.
    assert json.loads((swept / "best_config.json").read_text())["eval_id"] == best
    assert (f"**{best}**: lowest final `loss` as the search ranks it (best_config.json); "
            "mean over 2 seeds = 0.85 ± 0.15; lrate=0.1, steps=4") in markdown
    failing = next(r for r, p in params.items() if p == {"lrate": 0.2, "steps": 4})
    assert "## Failed jobs (1)" in markdown
    assert f"`{failing}-seed1`: failed: exit code 5\n\n```\ndiverged: loss is nan\n```" \
        in markdown
    assert "Last launch on local: 7 completed, 1 failed in" in markdown
    assert f"```yaml\n{META}```" in markdown
    html = (swept / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("<table>") == 2
    assert "<br>\nLast launch on local: 7 completed, 1 failed in" in html
    assert f"<b>{best}</b>: lowest final <code>loss</code>" in html
    assert '<img src="figures/heatmap_loss.png"' in html


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    assert len(data) > 5000, f"{path} is only {len(data)} bytes"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_figures_are_real_pngs_linked_from_the_report(swept: Path) -> None:
    from matplotlib.image import imread

    markdown = (swept / "report.md").read_text()
    figures = sorted((swept / "figures").iterdir())
    assert [p.name for p in figures] == sorted(
        ["heatmap_loss.png", *(f"curves_{r}.png" for r in _params(swept))])
    for path in figures:
        width, height = _png_size(path)
        assert width >= 300 and height >= 200
        pixels = imread(path)
        assert pixels.shape[:2] == (height, width)
        assert pixels[..., :3].std() > 0.05  # not a blank canvas
        assert f"](figures/{path.name})" in markdown


def test_without_matplotlib_tables_are_written_and_the_fix_is_named(
    swept: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    copy = tmp_path / "exp"
    shutil.copytree(swept, copy, ignore=shutil.ignore_patterns("figures", "report.*"))
    for name in ("matplotlib", "matplotlib.figure"):  # import -> ImportError, even if cached
        monkeypatch.setitem(sys.modules, name, None)
    written = write_report(copy)
    assert written.figures == ()
    assert not (copy / "figures").exists()
    markdown = written.markdown.read_text()
    assert "Figures need matplotlib: `pip install 'mle_toolbox[plot]'`" in markdown
    assert _table(markdown, "loss") == _table((swept / "report.md").read_text(), "loss")
    assert "<code>pip install &#x27;mle_toolbox[plot]&#x27;</code>" in written.html.read_text()


def test_a_plotting_failure_only_warns(swept: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "exp"
    shutil.copytree(swept, copy, ignore=shutil.ignore_patterns("figures", "report.*"))

    def broken(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("no usable font")

    monkeypatch.setattr(report_module, "learning_curves", broken)
    report_after_run(ExperimentLayout(copy))
    err = capsys.readouterr().err
    assert "mle: warning: report not written: RuntimeError: no usable font" in err


def test_report_command(swept: Path, tmp_path: Path) -> None:
    copy = tmp_path / "exp"
    shutil.copytree(swept, copy, ignore=shutil.ignore_patterns("figures", "report.*"))
    result = run_mle("report", copy, "--no-figures")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"mle: report in {copy / 'report.md'} and report.html, " \
                            "report.pdf\n"
    assert "## Figures" not in (copy / "report.md").read_text()
    assert (copy / "report.pdf").read_bytes().startswith(b"%PDF-")
    refused = run_mle("report", tmp_path)
    assert refused.returncode == 2
    assert f"{tmp_path} is not an mle_toolbox experiment directory (no plan.json)" \
        in refused.stderr


def test_multiple_configs_report_has_no_objective(project: Path) -> None:
    assert run_mle("run", "meta.yaml", cwd=project).returncode == 0
    markdown = (project / "out" / "report.md").read_text()
    assert "No objective: the meta YAML names no " \
           "`param_search_args.search_logging.eval_metrics`." in markdown
    table = _table_plain(markdown)
    # TRAIN_PY: loss = lrate * (10 - step) + seed over 3 steps; final at step 2
    assert table["a"] == ["2", f"{(0.8 + 1.8) / 2:.6g} ± 0.5", f"{(0.8 + 1.8) / 2:.6g} ± 0.5"]
    assert re.search(r"!\[learning curves of b\]\(figures/curves_b\.png\)", markdown)


def _table_plain(markdown: str) -> dict[str, list[str]]:
    section = markdown.split("### `loss`\n", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert rows[0] == "| run | seeds | final | best |"
    return {cells[0]: cells[1:] for cells in
            ([c.strip() for c in row.strip("|").split("|")] for row in rows[2:])}


def _hand_made(exp: Path, *, points: list[tuple[Any, Any]], metric: str) -> None:
    """An experiment directory with one seed per point, as the launcher leaves it."""
    from mle_toolbox import MetricLogger

    layout = ExperimentLayout(exp)
    runs = []
    for index, (a, b) in enumerate(points):
        runs.append({"run_id": f"r{index}", "params": {"a": a, "b": b}})
        log = MetricLogger(layout.job(f"r{index}", 0).metrics_log)
        log.update({"step": 0}, {metric: float(index)})
        log.close()
    layout.plan.write_text(json.dumps({"runs": runs, "seeds": [0]}))
    layout.meta_copy.write_text(
        f"param_search_args:\n  search_logging:\n    eval_metrics: ['{metric}']\n"
        "    max_objective: false\n")


def test_hostile_metric_names_stay_inside_the_figures_folder(tmp_path: Path) -> None:
    metric = "../../escaped/loss"
    exp = tmp_path / "deep" / "exp"
    _hand_made(exp, points=[(1, "x"), (1, "y"), (2, "x"), (2, "y")], metric=metric)
    written = write_report(exp)
    assert [p.relative_to(exp).as_posix() for p in written.figures] == [
        "figures/heatmap__.._escaped_loss.png", *(f"figures/curves_r{i}.png" for i in range(4))]
    assert not (tmp_path / "escaped").exists() and not (exp.parent / "escaped").exists()
    assert f"**r0**: lowest final `{metric}` (mean over 1 seed) = 0 ± 0; a=1, b=x" in \
        written.markdown.read_text()


def test_no_heatmap_when_the_points_are_not_a_full_grid(tmp_path: Path) -> None:
    # a random search over two parameters: 3 points, 3 x 3 distinct values
    _hand_made(tmp_path / "exp", points=[(0.1, 3), (0.7, 1), (0.4, 2)], metric="loss")
    written = write_report(tmp_path / "exp")
    assert [p.name for p in written.figures] == [f"curves_r{i}.png" for i in range(3)]


def test_a_corrupt_plan_is_one_clear_error(swept: Path, tmp_path: Path) -> None:
    copy = tmp_path / "exp"
    shutil.copytree(swept, copy, ignore=shutil.ignore_patterns("figures", "report.*"))
    (copy / "plan.json").write_text('{"runs": [')
    result = run_mle("report", copy)
    assert result.returncode == 2
    assert result.stderr == (f"mle: error: {copy / 'plan.json'}:1: JSON syntax error: Expecting "
                             "value; plan.json is damaged; move the experiment directory away "
                             "and run mle run again\n")
    assert not (copy / "report.md").exists()
