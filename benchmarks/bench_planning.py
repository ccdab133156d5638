"""Planning at scale (issue 18): ``mle run --dry-run`` of 100,000 and 1,000,000 jobs, and of
a sweep over 20,000 config files, each next to a bare interpreter start of the same run.

    python benchmarks/bench_planning.py [--repeats 3] [--json out.json] [--skip-million]

Every case is a fresh ``python -m mle_toolbox run META --dry-run`` process (byte code cached
by one warm-up run), alternating with ``python -c pass``; wall time, CPU time (user +
system) and peak resident memory of the child come from ``os.wait4``. Prints min / median
/ max and the ratio to the bare start; exits 1 when a target is missed. A target on time is
checked on the median CPU time (waiting for a core on a shared machine does not count; on
a quiet machine it is the wall time), memory on the largest peak.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import alternate, bytecode_cached, child, describe

GRID_META = """\
meta_job_args:
  experiment_type: hyperparameter-search
  base_train_fname: train.py
  base_train_config: a.json
param_search_args:
  search_resources: {{num_seeds_per_eval: {seeds}}}
  search_config:
    search_type: grid
    search_params:
      integer: {{width: {{begin: 1, end: {width}, bins: {width}}}}}
      real: {{lrate: {{begin: 0.0001, end: 1.0, bins: 100, prior: log-uniform}}}}
"""
CONFIGS_META = """\
meta_job_args:
  experiment_type: multiple-configs
  base_train_fname: train.py
multi_config_args:
  config_fnames: [{names}]
  num_seeds: 1
"""
# case: (target wall s, target peak memory MB)
TARGETS = {"dry_run_100k_jobs": (1.0, 1024.0), "dry_run_1m_jobs": (10.0, 1024.0),
           "dry_run_20k_configs": (1.0, 1024.0)}


def _project(root: Path, *, configs: int) -> None:
    (root / "train.py").write_text("pass\n")
    (root / "a.json").write_text('{"train_config": {"lrate": 0.1}}')
    (root / "grid100k.yaml").write_text(GRID_META.format(seeds=10, width=100))
    (root / "grid1m.yaml").write_text(GRID_META.format(seeds=10, width=1000))
    folder = root / "cfgs"
    folder.mkdir()
    for index in range(configs):
        (folder / f"c{index}.json").write_text(f'{{"train_config": {{"lrate": {index}}}}}')
    names = ", ".join(f"cfgs/c{index}.json" for index in range(configs))
    (root / "configs.yaml").write_text(CONFIGS_META.format(names=names))


def main() -> int:
    """Run the cases, print the figures, return 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--skip-million", action="store_true", help="leave out the 1M case")
    args = parser.parse_args()
    cases = {"dry_run_100k_jobs": "grid100k.yaml", "dry_run_20k_configs": "configs.yaml"}
    if not args.skip_million:
        cases["dry_run_1m_jobs"] = "grid1m.yaml"
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}")
    figures: dict[str, object] = {}
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, bytecode_cached(Path(tmp) / "pycache"):
        root = Path(tmp)
        _project(root, configs=20_000)
        for name, meta in cases.items():
            argv = [sys.executable, "-m", "mle_toolbox", "run", meta, "--dry-run"]
            bare, runs = alternate(functools.partial(child, argv, cwd=root),
                                   functools.partial(child, [sys.executable, "-c", "pass"],
                                                     cwd=root),
                                   repeats=args.repeats)
            wall_target, memory_target = TARGETS[name]
            line, figure = describe(name, runs, bare=bare)
            peak = max(s.rss_mb for s in runs)
            # CPU time: what waiting for a core on a shared machine does not inflate (on a
            # quiet machine it is the wall time); the wall time is printed beside it.
            ok = figure["cpu_median_s"] <= wall_target and peak <= memory_target
            missed += [] if ok else [name]
            print(f"{line}; peak memory {peak:.0f} MB; target CPU <= {wall_target} s, "
                  f"<= {memory_target:.0f} MB {'ok' if ok else 'MISSED'}")
            figures[name] = {**figure, "peak_memory_mb": peak}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
