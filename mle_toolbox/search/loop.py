"""The batched search loop: propose -> write configs -> run_jobs -> objective -> observe.

Every batch goes through the same files as any sweep (plan.json, run configs,
job dirs, summaries), so run ids, config hashes and resume-by-hash work as usual.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

from ..backends.base import Backend
from ..configs import load_configs
from ..expand import Plan, apply_params, config_hash
from ..fsutil import write_json_atomic, write_text_atomic
from ..launch import _launcher_log, _write_results, print_summary
from ..layout import ExperimentLayout
from ..lock import ExperimentLock
from ..meta import MetaConfig, SearchConfig
from ..prepare import existing_plan, plan_document, split_done
from ..progress import Progress
from ..results import summarize_run
from ..runner import RunReport, run_jobs
from ..source import display_name
from ..spec import JobResult, JobSpec, RunSpec
from ..tasks import make_tasks
from .base import Evaluation, Proposal, Strategy
from .best import loss_of, print_best, write_best
from .halving import HalvingStrategy
from .log import SearchLog
from .objective import objective
from .pbt import PbtStrategy
from .smbo import SmboStrategy

log = logging.getLogger("mle_toolbox")
STRATEGIES: dict[str, type[Strategy]] = {
    "smbo": SmboStrategy, "successive-halving": HalvingStrategy,
    "hyperband": HalvingStrategy, "pbt": PbtStrategy,
}


@dataclass
class _Search:
    """What one launch of a search knows and has done so far."""

    meta: MetaConfig
    search: SearchConfig
    layout: ExperimentLayout
    backend: Backend
    max_running: int | None  # None: the backend's default for each batch
    base: dict[str, Any]
    runs: list[RunSpec] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)
    results: list[JobResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    previous: dict[str, Any] | None = None  # plan.json as the last launch left it
    started: float = field(default_factory=time.monotonic)


def run_search(plan: Plan, *, layout: ExperimentLayout, backend: Backend,
               max_running: int | None) -> int:
    """Run (or resume) an adaptive search; returns the exit code of ``mle run``."""
    meta = plan.meta
    assert meta.search is not None
    # Before the lock: a missing extra (Optuna) is reported with nothing written.
    strategy = STRATEGIES[meta.search.search_type](meta.search)
    state = _Search(meta=meta, search=meta.search, layout=layout, backend=backend,
                    max_running=max_running, base=load_configs(meta.config_files)[
                        meta.config_files[0]])
    _check_paths(state)
    with ExperimentLock(layout.lock), _launcher_log(layout):
        return _search(state, plan=plan, strategy=strategy)


def _search(state: _Search, *, plan: Plan, strategy: Strategy) -> int:
    meta, layout = state.meta, state.layout
    state.previous = existing_plan(plan, layout)  # refuses another experiment's directory
    if state.previous is None:  # plan.json first: it marks the directory as ours
        write_json_atomic(layout.plan, plan_document(plan))
    write_text_atomic(layout.meta_copy, meta.path.read_text(encoding="utf-8"))
    search_log = SearchLog(layout.search_log)
    logged = search_log.read(fingerprint=_fingerprint(state))
    for batch in itertools.count(1):
        entry = logged.get(batch)
        if entry is not None:
            strategy.replay(batch, entry.proposals)
            proposals = entry.proposals
        else:
            proposals = strategy.propose(batch)
            if not proposals:
                break
            search_log.proposals(batch, proposals)
        runs = [_materialise(state, proposal, batch=batch) for proposal in proposals]
        state.runs += runs
        if entry is not None and entry.finished:
            evaluations = entry.evaluations()
        else:
            ran = _run_batch(state, runs=runs, proposals=proposals, batch=batch)
            if ran is None:
                return _finish(state, interrupted=True)
            evaluations = ran
            for evaluation in evaluations:
                search_log.result(batch, evaluation)
        strategy.observe(evaluations)
        state.evaluations += evaluations
        best = write_best(state.evaluations, search=state.search, layout=layout,
                          configs={r.run_id: r.config for r in state.runs})
        if entry is None or not entry.finished:
            search_log.batch_done(batch, best)
        _print_batch(state, batch=batch, evaluations=evaluations, best=best)
    return _finish(state, interrupted=False)


def _check_paths(state: _Search) -> None:
    """Every searched name and the budget key can be set in the base config (else ConfigError)."""
    names = {p.name: None for p in state.search.params}
    names[state.search.options.budget_key] = None
    apply_params(state.base, names, meta_display=display_name(state.meta.path))


def _fingerprint(state: _Search) -> str:
    # A log only resumes the search that wrote it: same space, settings and base config.
    search = dataclasses.asdict(state.search)
    return config_hash({"search": search, "base": state.base,
                        "script": str(state.meta.train_script)})


def _materialise(state: _Search, proposal: Proposal, *, batch: int) -> RunSpec:
    """The run of a proposal: base config + params + budget + the ``mle_search`` block."""
    layout, opts = state.layout, state.search.options
    params = dict(proposal.params)
    if proposal.budget is not None:
        params[opts.budget_key] = proposal.budget
    config = apply_params(state.base, params, meta_display=display_name(state.meta.path))
    run_id = proposal.eval_id
    config["mle_search"] = {
        "search_type": state.search.search_type, "batch": batch, "eval_id": run_id,
        "budget": proposal.budget, "budget_key": opts.budget_key,
        "checkpoint_dir": str(layout.checkpoint_dir(run_id)),
        "resume_from": str(layout.resume_dir(run_id)) if proposal.parent else None,
        "resume_budget": proposal.resume_budget, "parent": proposal.parent,
    }
    return RunSpec(run_id=run_id, source=state.meta.config_files[0], config=config,
                   config_hash=config_hash(config), params=proposal.params)


def _jobs(state: _Search, runs: list[RunSpec]) -> tuple[JobSpec, ...]:
    return tuple(JobSpec(run_id=r.run_id, seed=s, config_hash=r.config_hash)
                 for r in runs for s in state.meta.seeds)


def _run_batch(state: _Search, *, runs: list[RunSpec], proposals: list[Proposal],
               batch: int) -> list[Evaluation] | None:
    """Write and run one batch; None when interrupted."""
    layout = state.layout
    whole = Plan(meta=state.meta, runs=tuple(state.runs), jobs=_jobs(state, state.runs))
    this = Plan(meta=state.meta, runs=tuple(runs), jobs=_jobs(state, runs))
    done, todo = split_done(this, layout=layout, previous=state.previous)
    write_json_atomic(layout.plan, plan_document(whole))
    for run, proposal in zip(runs, proposals, strict=True):
        write_json_atomic(layout.run_config(run.run_id), run.config)
        _copy_checkpoints(layout, proposal)
    for job in todo:
        layout.job(job.run_id, job.seed).archive_attempt()
    state.skipped += [j.job_id for j in done]
    tasks = make_tasks(this, layout=layout, jobs=todo)
    max_running = state.max_running or state.backend.default_max_running(
        state.meta.resources, jobs=len(tasks))
    print(f"mle: batch {batch}: {len(runs)} evaluations, {len(todo)} jobs to run on "
          f"{state.backend.name}, at most {max_running} at once"
          + (f" ({len(done)} completed earlier)" if done else ""), flush=True)
    report = run_jobs(tasks, backend=state.backend, max_running=max_running,
                      on_result=Progress(total=len(tasks)))
    state.results += report.results
    if report.interrupted:
        return None
    failed = {r.job_id: r for r in report.failed}
    return [_evaluate(state, run=r, proposal=p, failed=failed)
            for r, p in zip(runs, proposals, strict=True)]


def _copy_checkpoints(layout: ExperimentLayout, proposal: Proposal) -> None:
    # Exploit/promote: the run continues from a copy, so the parent's files stay as they were.
    if proposal.parent is None:
        return
    source = layout.checkpoint_dir(proposal.parent)
    if source.is_dir():
        shutil.copytree(source, layout.resume_dir(proposal.eval_id), dirs_exist_ok=True)
    else:
        log.warning("%s: parent %s saved no checkpoints in %s", proposal.eval_id,
                    proposal.parent, source)


def _evaluate(state: _Search, *, run: RunSpec, proposal: Proposal,
              failed: dict[str, JobResult]) -> Evaluation:
    search = state.search
    bad = [failed[j.job_id] for j in _jobs(state, [run]) if j.job_id in failed]
    if bad:
        reason = "; ".join(f"{r.job_id} {r.state.value}: {r.reason}" for r in bad)
        return Evaluation(proposal=proposal, loss=None, objective=None, reason=reason)
    maximize = search.eval_metrics[:1] if search.max_objective else ()
    summary = summarize_run(state.layout.run_dir(run.run_id), maximize=maximize)
    write_json_atomic(state.layout.summary(run.run_id), summary)
    value, reason = objective(summary, search=search, seeds=state.meta.seeds)
    if value is None:
        return Evaluation(proposal=proposal, loss=None, objective=None, reason=reason)
    return Evaluation(proposal=proposal, loss=loss_of(value, search), objective=value)


def _print_batch(state: _Search, *, batch: int, evaluations: list[Evaluation],
                 best: dict[str, Any] | None) -> None:
    failed = sum(e.failed for e in evaluations)
    note = f", {failed} failed" if failed else ""
    print(f"mle: batch {batch} done: {len(evaluations)} evaluations{note}", flush=True)
    for evaluation in evaluations:
        if evaluation.failed:
            print(f"mle:   failed {evaluation.proposal.eval_id}: {evaluation.reason}")
    print_best(best)


def _finish(state: _Search, *, interrupted: bool) -> int:
    report = RunReport(results=state.results, interrupted=interrupted,
                       elapsed_s=time.monotonic() - state.started)
    whole = Plan(meta=state.meta, runs=tuple(state.runs), jobs=_jobs(state, state.runs))
    _write_results(whole, layout=state.layout, report=report, backend=state.backend.name,
                   skipped=state.skipped)
    print_summary(report, layout=state.layout)
    if interrupted:
        print("mle: search interrupted; run the same command again to continue from the "
              "last finished batch", flush=True)
        return 130
    failed = sum(e.failed for e in state.evaluations)
    print(f"mle: search finished: {len(state.evaluations)} evaluations, {failed} failed; "
          f"best config in {state.layout.best_config}", flush=True)
    return 1 if failed or report.failed else 0
