"""Write an experiment directory before launch, and decide which jobs still need to run.

An experiment directory belongs to one meta YAML (recorded in plan.json); it may sit
in a folder shared with other experiments (their folders are left alone). Running
the same YAML again skips jobs that completed with the same config hash and reruns
the others, moving the files of their earlier attempt to ``attempts/<k>/``. A
directory of another experiment is never written into.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ExperimentDirError
from ..files.atomic import write_json_atomic, write_text_atomic
from ..files.jobfiles import read_exit_code
from ..records import asdict, record

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from ..config.expand import Plan
    from ..files.documents import PlanDocument
    from ..files.layout import ExperimentLayout
    from ..spec import JobSpec


@record
class Prepared:
    """What ``prepare`` found and wrote."""

    todo: tuple[JobSpec, ...]
    done: tuple[JobSpec, ...]
    archived: int


def existing_plan(plan: Plan, layout: ExperimentLayout) -> PlanDocument | None:
    """The plan.json of an earlier launch of the same YAML, if any.

    Raises ExperimentDirError when the directory holds anything else. Reads only.
    """
    root = layout.root
    if not root.exists():
        return None
    if not root.is_dir():
        raise ExperimentDirError(f"experiment_dir {root} exists and is not a directory")
    if not layout.plan.exists():
        # A shared folder (mle-toolbox's experiments/) may hold other experiments'
        # folders and files: only a name this launch would write is a conflict.
        taken = [p for p in _written_paths(plan, layout) if p.exists() or p.is_symlink()]
        if taken:
            names = ", ".join(p.name for p in taken[:5])
            raise ExperimentDirError(
                f"experiment_dir {root} already holds {names}, which this experiment would "
                "write, and no plan.json of an mle_toolbox experiment; move them away or "
                "choose another experiment_dir (or -exp_dir DIR) so nothing is overwritten"
            )
        return None
    from ..files.expdir import read_plan  # plan.json's reader: a new directory has none

    doc = read_plan(layout.plan)
    owner = str(doc.meta_path)
    if owner != str(plan.meta.path):
        raise ExperimentDirError(
            f"experiment_dir {root} holds the results of another experiment (launched from "
            f"{owner}); give this meta YAML its own experiment_dir (or run it with -exp_dir "
            "DIR) so nothing is overwritten"
        )
    return doc


def _written_paths(plan: Plan, layout: ExperimentLayout) -> list[Path]:
    """What a launch writes at the top of its experiment_dir (not the lock and log,
    which are written just before plan.json)."""
    files = [layout.meta_copy, layout.report, layout.report_md, layout.report_html,
             layout.figures_dir, layout.search_log, layout.best_config, layout.eval_report,
             layout.job_table]
    return files + [layout.run_dir(run.run_id) for run in plan.runs]


def plan_document(plan: Plan) -> PlanDocument:
    """The plan as plan.json records it, with the objective runs are ranked by."""
    from .. import __version__  # the package root re-exports MLExperiment: import on use
    from ..files.documents import Objective, PlanDocument, PlannedRun, code_hash

    meta = plan.meta
    search = meta.search
    objective = (Objective(metrics=search.eval_metrics, maximize=search.max_objective)
                 if search is not None and search.eval_metrics else None)
    return PlanDocument(
        meta_path=str(meta.path), project_name=meta.project_name,
        experiment_type=meta.experiment_type.value, train_script=str(meta.train_script),
        seeds=meta.seeds, objective=objective, mle_toolbox=__version__,
        code_hash=code_hash(meta.train_script),
        # mle resume reads the YAML again as this launch did (config/paths.py).
        work_dir=str(meta.work_dir or meta.path.parent), project_dir=str(meta.base_dir),
        overrides={k: v for k, v in asdict(meta.overrides).items() if v is not None},
        runs=tuple(PlannedRun(run_id=r.run_id, source=str(r.source),
                              config_hash=r.config_hash, params=r.params) for r in plan.runs),
        jobs=plan.jobs)


def split_done(plan: Plan, *, layout: ExperimentLayout, previous: PlanDocument | None,
               ) -> tuple[tuple[JobSpec, ...], tuple[JobSpec, ...]]:
    """(done, todo): done jobs completed earlier with the same config hash. Reads only.

    With no earlier plan nothing can be done: no job's files are looked at. Otherwise only
    the jobs whose config hash is unchanged have their exit code read.
    """
    if previous is None:
        return (), plan.jobs
    old_hashes = previous.config_hashes()
    if not old_hashes:
        return (), plan.jobs
    done: list[JobSpec] = []
    todo: list[JobSpec] = []
    for job in plan.jobs:
        same = old_hashes.get(job.job_id) == job.config_hash
        (done if same and read_exit_code(layout.exit_code_path(job.run_id, job.seed)) == 0
         else todo).append(job)
    return tuple(done), tuple(todo)


def prepare(plan: Plan, *, layout: ExperimentLayout, previous: PlanDocument | None,
            meta_text: str, todo: tuple[JobSpec, ...] | None = None,
            recorded: Plan | None = None) -> Prepared:
    """Write plan, meta copy and run configs; archive attempts of jobs to rerun.

    ``todo``: the jobs to run (decide.py); by default those not completed.
    ``recorded``: what plan.json records when it is more than ``plan`` (an adaptive
    search prepares one batch at a time and records every batch so far).
    """
    done, not_done = split_done(plan, layout=layout, previous=previous)
    if todo is None:
        todo = not_done
    write_json_atomic(layout.plan, plan_document(recorded or plan).to_json())
    write_text_atomic(layout.meta_copy, meta_text)
    for run in plan.runs:
        write_json_atomic(layout.run_config(run.run_id), run.config)
    # Without an earlier plan no job has files of an earlier attempt to move away.
    archived = 0 if previous is None else sum(
        layout.job(j.run_id, j.seed).archive_attempt() is not None for j in todo)
    return Prepared(todo=todo, done=done, archived=archived)
