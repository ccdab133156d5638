"""The batched search loop: propose -> write configs -> run_jobs -> objective -> observe.

Every batch goes through the same files as any sweep (plan.json, run configs,
job dirs, summaries), so run ids, config hashes and resume-by-hash work as usual.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..backends.base import Backend
from ..config.base_configs import load_configs
from ..config.expand import Plan, apply_params, config_hash
from ..config.meta_types import MetaConfig, SearchConfig
from ..config.source import display_name
from ..errors import ConfigError
from ..files.atomic import write_json_atomic, write_text_atomic
from ..files.documents import PlanDocument, SummaryDocument
from ..files.layout import ExperimentLayout
from ..launcher.decide import Decision
from ..launcher.history import Recording
from ..launcher.launcher_log import log
from ..launcher.pipeline import (
    close_launch,
    history_row,
    locked,
    print_summary,
    run_with_progress,
    settle,
    write_results,
)
from ..launcher.prepare import existing_plan, plan_document, prepare
from ..launcher.recorded_run import LaunchOptions, print_decision
from ..launcher.run_types import RunReport
from ..results.merge import summarize_run
from ..spec import JobResult, JobSpec, JobState, RunSpec
from .base import Evaluation, Proposal, Strategy
from .best import loss_of, print_best, write_best
from .log import SearchLog
from .objective import objective, objectives
from .pareto import write_pareto
from .registry import get as search_type


def make_strategy(search: SearchConfig) -> Strategy:
    """The strategy of a search, by its registry row; a missing extra is refused first."""
    row = search_type(search.search_type)
    row.check_installed(search.options.needs())
    assert row.strategy is not None, f"{row.name} is an expansion, not a strategy"
    factory = getattr(row.load(), row.strategy)
    strategy: Strategy = factory(search)
    return strategy


@dataclass
class _Search:
    """What one launch of a search knows and has done so far."""

    meta: MetaConfig
    search: SearchConfig
    layout: ExperimentLayout
    backend: Backend
    max_running: int | None  # None: the backend's default for each batch
    base: dict[str, Any]
    options: LaunchOptions = field(default_factory=LaunchOptions)
    entry: Recording | None = None  # this launch's history row
    runs: list[RunSpec] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)
    results: list[JobResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    total: int = 0  # jobs run or followed by this launch
    detached: list[str] = field(default_factory=list)  # left running by a Ctrl+C
    previous: PlanDocument | None = None  # plan.json as the last launch left it
    started: float = field(default_factory=time.monotonic)
    ckpt_key: str | None = None  # train_config.extra key of the parent's checkpoint
    stopped_by: int = signal.SIGINT  # the signal that interrupted a batch


def run_search(plan: Plan, *, layout: ExperimentLayout, backend: Backend,
               max_running: int | None, options: LaunchOptions | None = None) -> int:
    """Run (or resume) an adaptive search; returns the exit code of ``mle run``.

    Each batch goes through the job table like a sweep (retries, re-attach, detach
    on Ctrl+C, ``mle status`` / ``mle cancel``); the launch gets one history row
    and one report.
    """
    options = options or LaunchOptions()
    _check_flags(options, layout=layout)
    # Before the lock: a missing extra (Optuna) is reported with nothing written.
    strategy, state = _start(plan, layout=layout, backend=backend, max_running=max_running)
    state.options = options
    with (locked(layout),
          history_row(plan, layout=layout, backend=backend, options=options, total=0,
                      skipped=0) as entry):
        state.entry = entry
        return _search(state, plan=plan, strategy=strategy)


def _start(plan: Plan, *, layout: ExperimentLayout, backend: Backend,
           max_running: int | None) -> tuple[Strategy, _Search]:
    """The strategy and the state of a launch; ConfigError before anything is written."""
    meta = plan.meta
    assert meta.search is not None
    strategy = make_strategy(meta.search)
    state = _Search(meta=meta, search=meta.search, layout=layout, backend=backend,
                    max_running=max_running, base=load_configs(meta.config_files)[
                        meta.config_files[0]], ckpt_key=strategy.CKPT_KEY)
    _check_paths(state)
    return strategy, state


def _check_flags(options: LaunchOptions, *, layout: ExperimentLayout) -> None:
    """Refuse flags a search cannot honour; say what --rerun-failed covers."""
    if options.detach:
        raise ConfigError("an adaptive search proposes each batch from the "
                          "results of the last one, so mle must run to follow it; Ctrl+C "
                          "detaches from a cluster batch, and mle run again (or mle resume "
                          f"{layout.root}) re-attaches and goes on", key="--detach")
    if options.flags.force:
        raise ConfigError("finished batches of an adaptive search are replayed "
                          f"from {layout.search_log}; to start the search over, choose "
                          "another experiment_dir", key="--force")
    if options.flags.rerun_failed:
        print("mle: warning: --rerun-failed reruns the failed jobs of the unfinished batch "
              f"only; finished batches are replayed from {layout.search_log.name}",
              file=sys.stderr)


def next_batch(plan: Plan, *, layout: ExperimentLayout, backend: Backend) -> Plan:
    """The batch ``mle run`` would run next, as a plan (for ``--dry-run``); writes nothing.

    Finished batches in the search log are replayed into the strategy; an unfinished
    one is shown as logged. The notes name the batch and each proposal.
    """
    strategy, state = _start(plan, layout=layout, backend=backend, max_running=None)
    logged = (SearchLog(layout.search_log).read(fingerprint=_fingerprint(state))
              if layout.search_log.is_file() else {})
    batch = 1
    while (entry := logged.get(batch)) is not None and entry.finished:
        strategy.replay(batch, entry.proposals)
        strategy.observe(entry.evaluations())
        batch += 1
    proposals = entry.proposals if entry is not None else strategy.propose(batch)
    runs = [_materialise(state, p, batch=batch) for p in proposals]
    kind = state.search.spelling or state.search.search_type
    head = (f"{kind} search: batch {batch} shown, {len(proposals)} evaluations:" if proposals
            else f"{kind} search: finished after {batch - 1} batches; nothing left to run")
    notes = (*plan.notes, head, *(_describe(p) for p in proposals))
    return Plan(meta=plan.meta, runs=tuple(runs), jobs=_jobs(state, runs), notes=notes)


def _describe(proposal: Proposal) -> str:
    params = " ".join(f"{k}={v}" for k, v in proposal.params.items())
    budget = f" budget={proposal.budget}" if proposal.budget is not None else ""
    parent = f" from {proposal.parent}" if proposal.parent else ""
    return f"  {proposal.eval_id}: {params}{budget}{parent}"


def _search(state: _Search, *, plan: Plan, strategy: Strategy) -> int:
    meta, layout = state.meta, state.layout
    state.previous = existing_plan(plan, layout)  # refuses another experiment's directory
    if state.previous is None:  # plan.json first: it marks the directory as ours
        write_json_atomic(layout.plan, plan_document(plan).to_json())
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
                search_log.result(batch, evaluation, seeds=state.meta.seeds)
        strategy.observe(evaluations)
        state.evaluations += evaluations
        best = write_best(state.evaluations, search=state.search, layout=layout,
                          configs={r.run_id: r.config for r in state.runs})
        write_pareto(state.evaluations, search=state.search, layout=layout)
        if entry is None or not entry.finished:
            search_log.batch_done(batch, best)
        _print_batch(state, batch=batch, evaluations=evaluations, best=best)
    return _finish(state, interrupted=False)


def _check_paths(state: _Search) -> None:
    """Every searched name and the budget key can be set in the base config (else ConfigError)."""
    names = {_param_path(state.search, p.name): None for p in state.search.params}
    if state.search.options.budget_key is not None:
        names[state.search.options.budget_key] = None
    apply_params(state.base, names, meta_display=display_name(state.meta.path))


def _fingerprint(state: _Search) -> str:
    # A log only resumes the search that wrote it: same space, settings and base config.
    search = dataclasses.asdict(state.search)
    return config_hash({"search": search, "base": state.base,
                        "script": str(state.meta.train_script)})


def _param_path(search: SearchConfig, name: str) -> str:
    """Where a searched value goes: mle-hyperopt's budgeted proposals nest it in ``params``."""
    if search.options.upstream and search_type(search.search_type).budgeted and "." not in name:
        return f"train_config.params.{name}"
    return name


def _materialise(state: _Search, proposal: Proposal, *, batch: int) -> RunSpec:
    """The run of a proposal: base config + params + budget + extra + ``mle_search``."""
    layout, search = state.layout, state.search
    params = {_param_path(search, k): v for k, v in proposal.params.items()}
    if proposal.budget is not None and search.options.budget_key is not None:
        params[search.options.budget_key] = proposal.budget
    config = apply_params(state.base, params, meta_display=display_name(state.meta.path))
    run_id = proposal.eval_id
    if proposal.extra or proposal.parent:
        config["train_config"] = dict(config.get("train_config") or {})
        extra = dict(proposal.extra)
        ckpt = _parent_checkpoint(state, proposal)
        if state.ckpt_key is not None and ckpt is not None:
            extra[state.ckpt_key] = ckpt
        config["train_config"]["extra"] = extra
    config["mle_search"] = {
        "search_type": search.search_type, "batch": batch, "eval_id": run_id,
        "budget": proposal.budget, "budget_key": search.options.budget_key,
        "checkpoint_dir": str(layout.checkpoint_dir(run_id)),
        "resume_from": str(layout.resume_dir(run_id)) if proposal.parent else None,
        "resume_budget": proposal.resume_budget, "parent": proposal.parent,
    }
    return RunSpec(run_id=run_id, source=state.meta.config_files[0], config=config,
                   config_hash=config_hash(config), params=proposal.params)


def _parent_checkpoint(state: _Search, proposal: Proposal) -> str | None:
    """The copy (in resume_from) of the parent's final checkpoint of the first seed."""
    if proposal.parent is None:
        return None
    seed_dir = f"seed_{state.meta.seeds[0]}"
    source = state.layout.checkpoint_dir(proposal.parent) / seed_dir
    finals = sorted(source.glob("final.*")) if source.is_dir() else []
    if not finals:
        return None
    return str(state.layout.resume_dir(proposal.eval_id) / seed_dir / finals[0].name)


def _jobs(state: _Search, runs: list[RunSpec]) -> tuple[JobSpec, ...]:
    return tuple(JobSpec(run_id=r.run_id, seed=s, config_hash=r.config_hash)
                 for r in runs for s in state.meta.seeds)


def _run_batch(state: _Search, *, runs: list[RunSpec], proposals: list[Proposal],
               batch: int) -> list[Evaluation] | None:
    """Write and run one batch through the job table; None when interrupted."""
    layout = state.layout
    whole = Plan(meta=state.meta, runs=tuple(state.runs), jobs=_jobs(state, state.runs))
    this = Plan(meta=state.meta, runs=tuple(runs), jobs=_jobs(state, runs))
    decision = _decide(state, this)
    prepare(this, layout=layout, previous=state.previous, todo=decision.todo,
            meta_text=state.meta.path.read_text(encoding="utf-8"), recorded=whole)
    for proposal in proposals:
        _copy_checkpoints(layout, proposal)
    state.skipped += [j.job_id for j in decision.done]
    count = len(decision.todo) + len(decision.attach)
    state.total += count
    max_running = state.max_running or state.backend.default_max_running(
        state.meta.resources, jobs=count)
    print(f"mle: batch {batch}: {len(runs)} evaluations, {len(decision.todo)} jobs to run on "
          f"{state.backend.name}, at most {max_running} at once", flush=True)
    print_decision(decision, total=len(this.jobs))
    report = run_with_progress(this, layout=layout, backend=state.backend,
                               max_running=max_running, decision=decision,
                               options=state.options)
    state.results += report.results
    state.detached += report.detached
    if report.interrupted:
        state.stopped_by = report.stopped_by
        return None
    failed = {r.job_id: r for r in report.failed}
    failed.update({j.job_id: _kept_failed(j) for j in decision.failed})
    return [_evaluate(state, run=r, proposal=p, failed=failed)
            for r, p in zip(runs, proposals, strict=True)]


def _decide(state: _Search, plan: Plan) -> Decision:
    """Skip, re-attach or run each job of a batch (as a relaunch of a sweep does)."""
    return settle(plan, layout=state.layout, previous=state.previous, backend=state.backend,
                  flags=state.options.flags)


def _kept_failed(job: JobSpec) -> JobResult:
    return JobResult(job_id=job.job_id, state=JobState.FAILED, exit_code=None,
                     reason="failed in an earlier launch (--rerun-failed runs it again)",
                     duration_s=None)


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
    maximize = search.eval_metrics if search.max_objective else ()
    summary = SummaryDocument.from_json(
        summarize_run(state.layout.run_dir(run.run_id), maximize=maximize))
    write_json_atomic(state.layout.summary(run.run_id), summary.to_json())
    value, reason = objective(summary, search=search, seeds=state.meta.seeds)
    if value is None:
        return Evaluation(proposal=proposal, loss=None, objective=None, reason=reason)
    values, _ = objectives(summary, search=search, seeds=state.meta.seeds)
    return Evaluation(proposal=proposal, loss=loss_of(value, search), objective=value,
                      objectives=values)


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
                       elapsed_s=time.monotonic() - state.started, detached=state.detached,
                       stopped_by=state.stopped_by)
    failed = sum(e.failed for e in state.evaluations)
    if state.entry is not None:
        state.entry.finish(report, failed=bool(failed), total=state.total,
                           skipped=len(state.skipped))
    whole = Plan(meta=state.meta, runs=tuple(state.runs), jobs=_jobs(state, state.runs))
    write_results(whole, layout=state.layout, report=report, backend=state.backend.name,
                  skipped=state.skipped)
    print_summary(report, layout=state.layout)
    if interrupted:
        close_launch(report, layout=state.layout, backend=state.backend,
                     options=state.options)
        print("mle: search interrupted; run the same command again to continue from the "
              "last finished batch", flush=True)
        return report.exit_code
    print(f"mle: search finished: {len(state.evaluations)} evaluations, {failed} failed; "
          f"best config in {state.layout.best_config}", flush=True)
    close_launch(report, layout=state.layout, backend=state.backend, options=state.options)
    return 1 if failed or report.failed else 0
