"""Cost of the job table and of resume decisions.

    python benchmarks/bench_reliability.py [--json results.json]

Prints one line per figure (measured, target) and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench_foundation import BIG_META as FOUNDATION_META

if TYPE_CHECKING:
    from mle_toolbox.config.expand import Plan
    from mle_toolbox.files.layout import ExperimentLayout

# The planning benchmark's grid with 10 learning rates: 100 x 10 x 10 seeds = 10,000 jobs.
BIG_META = FOUNDATION_META.replace("bins: 100, prior", "bins: 10, prior")
TARGETS = {"table_ms_per_job": 2.0, "resume_10k_jobs_s": 2.0, "resume_10k_cut_s": 2.0}


def _plan(root: Path) -> tuple[Plan, ExperimentLayout]:
    from mle_toolbox.config.base_configs import load_configs
    from mle_toolbox.config.expand import expand
    from mle_toolbox.config.meta import load_meta
    from mle_toolbox.files.layout import ExperimentLayout

    root.mkdir(parents=True)
    (root / "train.py").write_text("")
    (root / "a.json").write_text('{"train_config": {}}')
    (root / "meta.yaml").write_text(BIG_META)
    meta = load_meta(root / "meta.yaml")
    return expand(meta, configs=load_configs(meta.config_files)), ExperimentLayout(root / "out")


def bench_table(root: Path, jobs: int = 2000) -> float:
    """One job at a time, as the local backend submits: 3 transactions per job."""
    from mle_toolbox.launcher.jobtable import JobTable, TableJournal
    from mle_toolbox.launcher.tasks import make_tasks
    from mle_toolbox.spec import JobHandle, JobResult, JobState

    plan, layout = _plan(root)
    tasks = make_tasks(plan, layout=layout, jobs=plan.jobs[:jobs])
    journal = TableJournal(JobTable.open(root / "jobs.sqlite"), backend="local")
    start = time.perf_counter()
    for number, task in enumerate(tasks):
        journal.submitting([task])
        journal.submitted([JobHandle("local", task.job_id, str(number))])
        journal.finished(JobResult(task.job_id, JobState.COMPLETED, 0, "", 1.0))
    return (time.perf_counter() - start) / jobs * 1000


def bench_resume(root: Path) -> float:
    """gather() and decide() over 10,000 jobs recorded as pending; the backend says RUNNING."""
    from mle_toolbox.backends.local import LocalBackend
    from mle_toolbox.files.atomic import write_json_atomic
    from mle_toolbox.files.expdir import read_plan
    from mle_toolbox.launcher.decide import ResumeFlags, decide, gather
    from mle_toolbox.launcher.jobtable import JobTable
    from mle_toolbox.launcher.prepare import plan_document
    from mle_toolbox.launcher.tasks import make_tasks
    from mle_toolbox.spec import JobHandle

    plan, layout = _plan(root)
    write_json_atomic(layout.plan, plan_document(plan).to_json())
    table = JobTable.open(layout.job_table)
    tasks = make_tasks(plan, layout=layout, jobs=plan.jobs)
    table.submitting(tasks, backend="local", attempts=[1] * len(tasks))
    table.submitted([JobHandle("local", t.job_id, "999999999") for t in tasks],
                    attempts=[1] * len(tasks))
    start = time.perf_counter()
    facts = gather(plan, layout=layout, previous=read_plan(layout.plan), table=table,
                   backend=LocalBackend())
    decision = decide(plan, facts=facts, flags=ResumeFlags())
    elapsed = time.perf_counter() - start
    assert len(decision.lost) == len(tasks)  # pid 999999999 runs nothing: all lost
    return elapsed


def bench_resume_cut(root: Path) -> float:
    """gather() and decide() over 10,000 jobs whose submission was cut short (rows
    ``submitting``, no native id): the local lookup (one pass over /proc, a ``.live``
    probe and an exit code per job) finds nothing, so every job is rerun."""
    from mle_toolbox.backends.local import LocalBackend
    from mle_toolbox.files.atomic import write_json_atomic
    from mle_toolbox.files.expdir import read_plan
    from mle_toolbox.launcher.decide import ResumeFlags, decide, gather
    from mle_toolbox.launcher.jobtable import JobTable
    from mle_toolbox.launcher.prepare import plan_document
    from mle_toolbox.launcher.tasks import make_tasks

    plan, layout = _plan(root)
    write_json_atomic(layout.plan, plan_document(plan).to_json())
    table = JobTable.open(layout.job_table)
    tasks = make_tasks(plan, layout=layout, jobs=plan.jobs)
    table.submitting(tasks, backend="local", attempts=[1] * len(tasks), token="ab12cd")
    start = time.perf_counter()
    facts = gather(plan, layout=layout, previous=read_plan(layout.plan), table=table,
                   backend=LocalBackend())
    decision = decide(plan, facts=facts, flags=ResumeFlags())
    elapsed = time.perf_counter() - start
    assert len(decision.lost) == len(tasks)  # nothing ran any of them: all rerun
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["table_ms_per_job"] = bench_table(Path(tmp) / "t")
    with tempfile.TemporaryDirectory() as tmp:
        results["resume_10k_jobs_s"] = bench_resume(Path(tmp) / "r")
    with tempfile.TemporaryDirectory() as tmp:
        results["resume_10k_cut_s"] = bench_resume_cut(Path(tmp) / "c")
    missed = 0
    for name, value in results.items():
        ok = value < TARGETS[name]
        missed += not ok
        print(f"{name:<20} {value:8.3f}  target < {TARGETS[name]}  {'ok' if ok else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
