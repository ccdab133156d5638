"""The report of an experiment (``mle report``, end of ``mle run``): report.md,
report.html (and report.pdf) with tables and PNG figures.

Contents: what ran (counts, backend), the best run for the objective
(``param_search_args.search_logging``: first of ``eval_metrics``, ``max_objective``),
one table per tracked metric (final and best value, mean ± std over seeds), failed
jobs with their stderr tails, learning curves per run, a heatmap for a grid over two
parameters, and the experiment's meta YAML. Without matplotlib the tables are
written and the report says how to get the figures.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ExperimentDirError, MleError
from ..files.atomic import write_text_atomic
from ..files.documents import Objective, PlanDocument, ReportDocument, SummaryDocument
from ..files.expdir import open_experiment
from ..files.layout import ExperimentLayout
from .document import Block, Code, Heading, Image, Para, Table, to_html, to_markdown
from .document_pdf import pdf_available, to_pdf
from .merge import load_log, seed_logs, summarize_run
from .plots import INSTALL_HINT, figure_class, heatmap, learning_curves

MAX_RUN_FIGURES = 24  # learning-curve PNGs per report; a big grid gets its heatmap instead


@dataclass(frozen=True, slots=True)
class Written:
    """Files a report consists of."""

    markdown: Path
    html: Path
    figures: tuple[Path, ...]
    pdf: Path | None = None  # None when not asked for (or fpdf2 is missing)


@dataclass(frozen=True, slots=True)
class _Experiment:
    layout: ExperimentLayout
    plan: PlanDocument
    outcome: ReportDocument | None  # report.json of the last launch
    objective: Objective | None
    summaries: dict[str, SummaryDocument]


def _load(exp_dir: Path) -> _Experiment:
    experiment = open_experiment(exp_dir.resolve())
    layout, plan = experiment.layout, experiment.plan
    outcome = _read_outcome(layout.report) if layout.report.is_file() else None
    objective = plan.objective
    # As the launcher's summary.json: every eval metric is maximised with max_objective.
    maximize = objective.metrics if objective and objective.maximize else ()
    summaries = {run.run_id: _summary(layout, run.run_id, maximize=maximize)
                 for run in plan.runs}
    return _Experiment(layout=layout, plan=plan, outcome=outcome, objective=objective,
                       summaries=summaries)


def _summary(layout: ExperimentLayout, run_id: str, *,
             maximize: tuple[str, ...]) -> SummaryDocument:
    """The summary.json the launcher wrote; merged again only when a seed's log is newer
    (jobs that ended after a detached launch) or there is none."""
    path, run_dir = layout.summary(run_id), layout.run_dir(run_id)
    try:
        written = path.stat().st_mtime_ns
        if all(log.stat().st_mtime_ns <= written for log in seed_logs(run_dir).values()):
            return SummaryDocument.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass  # missing or unreadable: merge the logs as the launcher would
    return SummaryDocument.from_json(summarize_run(run_dir, maximize=maximize))


def _read_outcome(path: Path) -> ReportDocument:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ExperimentDirError(f"{path} is unreadable ({err})") from err
    if not isinstance(doc, dict) or not isinstance(doc.get("jobs", []), list):
        raise ExperimentDirError(f"{path} is not an mle_toolbox {path.name}")
    try:
        return ReportDocument.from_json(doc)
    except (KeyError, TypeError, ValueError) as err:
        raise ExperimentDirError(f"{path} is not an mle_toolbox {path.name} ({err})") from err


def write_report(exp_dir: Path, *, figures: bool = True, pdf: bool = False) -> Written:
    """Write report.md, report.html and figures/ into ``exp_dir``; report.pdf with ``pdf``
    when fpdf2 is installed."""
    exp = _load(exp_dir)
    blocks = [Heading(f"Experiment report: {exp.plan.project_name or '?'}", 1),
              *_overview(exp), *_best(exp), *_metric_tables(exp), *_failures(exp)]
    written: list[Path] = []
    pareto_blocks, pareto_figure = _pareto(exp, figures=figures)
    blocks += pareto_blocks
    written += pareto_figure
    if figures:
        figure_blocks, more = _figures(exp)
        blocks += figure_blocks
        written += more
    blocks += _config(exp)
    layout = exp.layout
    write_text_atomic(layout.report_md, to_markdown(blocks))
    write_text_atomic(layout.report_html, to_html(blocks, title=f"{layout.root.name} report"))
    pdf_path = None
    if pdf and pdf_available():
        pdf_path = layout.report_pdf
        to_pdf(blocks, path=pdf_path, base_dir=layout.root,
               title=f"{layout.root.name} report")
    return Written(markdown=layout.report_md, html=layout.report_html, figures=tuple(written),
                   pdf=pdf_path)


def _overview(exp: _Experiment) -> list[Block]:
    plan, outcome = exp.plan, exp.outcome
    lines = [f"Experiment directory: `{exp.layout.root}`",
             f"Type: {plan.experiment_type or '?'}; {len(plan.runs)} runs x "
             f"{len(plan.seeds)} seeds; meta YAML `{plan.meta_path or '?'}`",
             f"Report written {time.strftime('%Y-%m-%d %H:%M:%S')}"]
    if outcome is not None:
        counts = ", ".join(f"{n} {state}" for state, n in outcome.counts.items())
        skipped = len(outcome.skipped)
        lines.append(f"Last launch on {outcome.backend}: {counts or 'no jobs'}"
                     f"{f', {skipped} skipped (completed earlier)' if skipped else ''} in "
                     f"{outcome.elapsed_s:.1f}s")
    return [Para("  \n".join(lines))]


def number(value: float | None) -> str:
    """A metric value as the report prints it."""
    return "-" if value is None else f"{value:.6g}"


def _mean_std(stat: dict[str, Any]) -> str:
    return f"{number(stat['mean'])} ± {number(stat['std'])}"


def _params(exp: _Experiment) -> tuple[list[str], dict[str, dict[str, Any]]]:
    by_run = {run.run_id: run.params for run in exp.plan.runs}
    names = list(dict.fromkeys(name for params in by_run.values() for name in params))
    return names, by_run


def _value(value: Any) -> str:
    return number(value) if isinstance(value, float) else str(value)


def best_run(exp: _Experiment) -> tuple[str, dict[str, Any]] | None:
    """Run id and final-value statistics of the best run for the objective.

    A search's own choice (best_config.json) wins: it aggregates seeds as the YAML
    says and compares budgeted runs (halving, PBT) only at the largest budget.
    """
    if exp.objective is None:
        return None
    chosen = _search_choice(exp)
    if chosen is not None:
        return chosen
    scored = [(run_id, stat) for run_id, summary in exp.summaries.items()
              if (stat := summary.final(exp.objective.metric)) and stat["mean"] is not None]
    if not scored:
        return None
    pick = max if exp.objective.maximize else min
    return pick(scored, key=lambda item: float(item[1]["mean"]))


def _search_choice(exp: _Experiment) -> tuple[str, dict[str, Any]] | None:
    try:
        run_id = json.loads(exp.layout.best_config.read_text(encoding="utf-8"))["eval_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    assert exp.objective is not None
    summary = exp.summaries.get(run_id)
    final = summary.final(exp.objective.metric) if summary is not None else None
    return (run_id, final) if final and final.get("mean") is not None else None


def _best(exp: _Experiment) -> list[Block]:
    blocks: list[Block] = [Heading("Best run")]
    objective = exp.objective
    if objective is None:
        return [*blocks, Para("No objective: the meta YAML names no "
                              "`param_search_args.search_logging.eval_metrics`.")]
    found = best_run(exp)
    goal = "highest" if objective.maximize else "lowest"
    direction = "maximised" if objective.maximize else "minimised"
    blocks.append(Para(f"Objective: `{objective.metric}`, {direction} (max_objective: "
                       f"{str(objective.maximize).lower()})."))
    if found is None:
        return [*blocks, Para(f"No run logged `{objective.metric}`.")]
    run_id, stat = found
    names, params = _params(exp)
    setting = ", ".join(f"{n}={_value(params[run_id].get(n))}" for n in names)
    seeds = f"{len(stat['per_seed'])} seed{'s' if len(stat['per_seed']) != 1 else ''}"
    how = (f"as the search ranks it (best_config.json); mean over {seeds} ="
           if _search_choice(exp) == found else f"(mean over {seeds}) =")
    return [*blocks, Para(f"**{run_id}**: {goal} final `{objective.metric}` {how} "
                          f"{_mean_std(stat)}" + (f"; {setting}" if setting else ""))]


def _metric_tables(exp: _Experiment) -> list[Block]:
    names, params = _params(exp)
    metrics = list(dict.fromkeys(m for s in exp.summaries.values() for m in s.metrics))
    blocks: list[Block] = [Heading("Metrics per run")]
    if not metrics:
        return [*blocks, Para("No run logged any numeric metric.")]
    blocks.append(Para("Final = last logged value, best = lowest (highest for a maximised "
                       "objective); mean ± population std over seeds."))
    for metric in metrics:
        rows = []
        for run_id, summary in exp.summaries.items():
            stats = summary.metrics.get(metric)
            if stats is None:
                continue
            rows.append((run_id, *(_value(params[run_id].get(n)) for n in names),
                         str(len(stats["final"]["per_seed"])), _mean_std(stats["final"]),
                         _mean_std(stats["best"])))
        blocks += [Heading(f"`{metric}`", 3),
                   Table(("run", *names, "seeds", "final", "best"), tuple(rows))]
    return blocks


def _failures(exp: _Experiment) -> list[Block]:
    jobs = [] if exp.outcome is None else [
        job for job in exp.outcome.jobs if job.state != "completed"]
    if not jobs:
        return []
    blocks: list[Block] = [Heading(f"Failed jobs ({len(jobs)})")]
    for job in jobs:
        code = job.exit_code
        why = job.reason or (f"exit code {code}" if code is not None else "-")
        blocks.append(Para(f"`{job.job_id}`: {job.state}: {why}"))
        if job.stderr_tail:
            blocks.append(Code(job.stderr_tail))
    return blocks


def _figures(exp: _Experiment) -> tuple[list[Block], list[Path]]:
    blocks: list[Block] = [Heading("Figures")]
    figure = figure_class()
    if figure is None:
        return [*blocks, Para(f"Figures need matplotlib: `{INSTALL_HINT}`")], []
    written: list[Path] = []
    grid = _heatmap(figure, exp)
    if grid is not None:
        written.append(grid)
        blocks.append(Image(_relative(exp, grid), "heatmap of the objective"))
    runs = [r for r in exp.summaries if seed_logs(exp.layout.run_dir(r))]
    for run_id in runs[:MAX_RUN_FIGURES]:
        path = exp.layout.figures_dir / f"curves_{run_id}.png"
        agg = load_log(exp.layout.run_dir(run_id), aggregate_seeds=True)
        if learning_curves(figure, agg=agg, run_id=run_id, path=path):
            written.append(path)
            blocks.append(Image(_relative(exp, path), f"learning curves of {run_id}"))
    if len(runs) > MAX_RUN_FIGURES:
        blocks.append(Para(f"Learning curves of the first {MAX_RUN_FIGURES} of {len(runs)} "
                           "runs; `load_meta_log` gives every run's curves."))
    return blocks, written


def _pareto(exp: _Experiment, *, figures: bool) -> tuple[list[Block], list[Path]]:
    """A search over several metrics: its Pareto front as a table and a scatter figure."""
    from ..search.pareto import read_pareto, scatter
    doc = read_pareto(exp.layout.pareto_front)
    if doc is None:
        return [], []
    metrics = [str(m) for m in doc["metrics"]]
    rows = tuple((str(r["eval_id"]), *(number(r["objectives"][m]) for m in metrics),
                  ", ".join(f"{k}={_value(v)}" for k, v in r["params"].items()))
                 for r in doc["front"])
    blocks: list[Block] = [
        Heading("Pareto front"),
        Para(f"{len(doc['front'])} of {len(doc['evaluations'])} evaluations are not beaten "
             f"on every metric at once ({'maximised' if doc['max_objective'] else 'minimised'}"
             "; `pareto_front.json`)."),
        Table(header=("run", *metrics, "parameters"), rows=rows)]
    figure = figure_class() if figures else None
    if figure is None:
        return blocks, []
    path = exp.layout.figures_dir / "pareto_front.png"
    scatter(figure, doc=doc, path=path)
    return [*blocks, Image(_relative(exp, path), "Pareto front")], [path]


def _relative(exp: _Experiment, path: Path) -> str:
    return path.relative_to(exp.layout.root).as_posix()


def _heatmap(figure: Any, exp: _Experiment) -> Path | None:
    names, params = _params(exp)
    if exp.objective is None or len(names) != 2:
        return None
    metric = exp.objective.metric
    xs, ys = (sorted({params[r].get(n) for r in params}, key=_order) for n in names)
    if len(xs) * len(ys) != len(params):
        return None  # not a full grid (a random search): most cells would be empty
    grid = [[math.nan] * len(xs) for _ in ys]
    for run_id, summary in exp.summaries.items():
        final = summary.final(metric)
        if final and final["mean"] is not None:
            where = params[run_id]
            grid[ys.index(where.get(names[1]))][xs.index(where.get(names[0]))] = final["mean"]
    path = exp.layout.figures_dir / f"heatmap_{_file_safe(metric)}.png"
    heatmap(figure, grid=grid, xs=xs, ys=ys, path=path,
            labels=(names[0], names[1], f"final {metric} (mean over seeds)"))
    return path


def _file_safe(name: str) -> str:
    # Metric names come from the YAML: keep the file inside figures/ whatever they are.
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".") or "objective"


def _order(value: Any) -> tuple[int, Any]:
    # Numbers sort numerically, anything else by its text, numbers first.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def _config(exp: _Experiment) -> list[Block]:
    meta = exp.layout.meta_copy
    text = meta.read_text(encoding="utf-8") if meta.is_file() else "(no experiment_config.yaml)"
    return [Heading("Configuration"), Para(f"`{meta.name}`:"), Code(text, "yaml")]


def report_after_run(layout: ExperimentLayout) -> None:
    """Write the report at the end of ``mle run``; a failure only warns.

    The sweep's outcome is already on disk: a broken figure must not change it.
    """
    try:
        written = write_report(layout.root)
    except (MleError, OSError, ValueError, TypeError, KeyError, RuntimeError) as err:
        print(f"mle: warning: report not written: {type(err).__name__}: {err}",
              file=sys.stderr)
        return
    print(f"mle: report in {written.markdown}")
