"""Malformed meta YAMLs and configs: one exact message, exit code 2, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mle_toolbox.config.base_configs import load_configs
from mle_toolbox.config.expand import expand
from mle_toolbox.config.meta import load_meta
from mle_toolbox.errors import ConfigError
from tests.conftest import run_mle, write

HEAD = "meta_job_args:\n  base_train_fname: train.py\n"
SINGLE = HEAD + "  base_train_config: a.json\n"
SEARCH = HEAD + ("  experiment_type: hyperparameter-search\n  base_train_config: a.json\n"
                 "param_search_args:\n  search_config:\n")
SPACE = "    search_type: grid\n    search_params:\n"
SLURM = "resource_to_run: slurm-cluster\nsingle_job_args:\n"
# search_resources and search_logging of an adaptive search, after search_config
TAIL = ("  search_resources: {num_search_batches: 2, num_evals_per_batch: 4}\n"
        "  search_logging: {eval_metrics: [loss]}\n")
# successive halving with a valid budget key (a.json has train_config.lrate)
HALVING = ("    search_type: successive-halving\n    budget_key: lrate\n    min_budget: 1\n"
           "    max_budget: 9\n    search_params:\n      categorical: {y: [1]}\n")

# (case id, meta.yaml text, the exact error after "mle: error: ")
CASES = [
    ("yaml-syntax", SINGLE + "  foo: [\n",
     "meta.yaml:5: YAML syntax error: expected the node content, but found '<stream end>'"),
    ("not-a-mapping", "- a\n- b\n",
     "meta.yaml:1: meta YAML must be a mapping of keys to values, got list"),
    ("empty-file", "", "meta.yaml: meta YAML is empty"),
    ("duplicate-key", SINGLE + "  base_train_config: a.json\n",
     "meta.yaml:4: meta_job_args.base_train_config: duplicate key"),
    ("no-train-script-key", "meta_job_args:\n  base_train_config: a.json\n",
     "meta.yaml:1: meta_job_args.base_train_fname: required key is missing"),
    ("train-script-missing", "meta_job_args:\n  base_train_fname: nope.py\n"
     "  base_train_config: a.json\n",
     "meta.yaml:2: meta_job_args.base_train_fname: train script 'nope.py' does not exist"),
    ("config-missing", HEAD + "  base_train_config: missing.json\n",
     "meta.yaml:3: meta_job_args.base_train_config: base config 'missing.json' does not exist"),
    ("config-is-dir", HEAD + "  base_train_config: cfgdir\n",
     "meta.yaml:3: meta_job_args.base_train_config: base config 'cfgdir' is not a file"),
    ("config-not-mapping", HEAD + "  base_train_config: list.json\n",
     "list.json:1: config file must be a mapping of keys to values, got list"),
    ("config-json-syntax", HEAD + "  base_train_config: bad.json\n",
     "bad.json:4: JSON syntax error: unexpected '}'"),
    ("config-commentjson-syntax", HEAD + "  base_train_config: badc.json\n",
     "badc.json:3: JSON syntax error: unexpected ','"),
    ("config-yaml-syntax", HEAD + "  base_train_config: bad.yaml\n",
     "bad.yaml:2: YAML syntax error: expected ',' or ']', but got '<stream end>'"),
    ("multi-config-missing", HEAD + "multi_config_args:\n  config_fnames: [a.json, gone.json]\n",
     "meta.yaml:4: multi_config_args.config_fnames[1]: config file 'gone.json' does not exist"),
    ("random-seeds-string", SINGLE + "multi_config_args:\n  random_seeds: abc\n",
     "meta.yaml:5: multi_config_args.random_seeds: expected a list of integers, got 'abc'"),
    ("random-seeds-item", SINGLE + "multi_config_args:\n  random_seeds: [1, abc]\n",
     "meta.yaml:5: multi_config_args.random_seeds: expected a list of integers, got [1, 'abc']"),
    ("random-seeds-duplicate", HEAD + "multi_config_args:\n  config_fnames: [a.json]\n"
     "  random_seeds: [1, 1]\n",
     "meta.yaml:5: multi_config_args.random_seeds: seed 1 is listed twice"),
    ("num-seeds-zero", HEAD + "multi_config_args:\n  config_fnames: [a.json]\n  num_seeds: 0\n",
     "meta.yaml:5: multi_config_args.num_seeds: must be at least 1, got 0"),
    ("num-seeds-bool", HEAD + "multi_config_args:\n  config_fnames: [a.json]\n"
     "  num_seeds: true\n",
     "meta.yaml:5: multi_config_args.num_seeds: expected an integer, got True"),
    ("num-seeds-mismatch", HEAD + "multi_config_args:\n  config_fnames: [a.json]\n"
     "  num_seeds: 2\n  random_seeds: [1, 2, 3]\n",
     "meta.yaml:5: multi_config_args.num_seeds: is 2 but random_seeds lists 3 seeds"),
    ("old-dialect-num-seeds", HEAD + "  job_type: multiple-experiments\n"
     "multi_experiment_args:\n  config_fnames: [a.json]\n  num_seeds: -1\n",
     "meta.yaml:6: multi_experiment_args.num_seeds: must be at least 1, got -1"),
    ("both-multi-sections", HEAD + "multi_config_args:\n  config_fnames: [a.json]\n"
     "multi_experiment_args:\n  config_fnames: [a.json]\n",
     "meta.yaml:5: multi_experiment_args: give multi_config_args or multi_experiment_args "
     "(older name), not both"),
    ("unknown-experiment-type", HEAD + "  experiment_type: multi-configs\n"
     "multi_config_args:\n  config_fnames: [a.json]\n",
     "meta.yaml:3: meta_job_args.experiment_type: expected one of hyperparameter-search, "
     "multiple-configs, multiple-experiments, single-config, single-experiment; "
     "got 'multi-configs'"),
    ("type-and-job-type", HEAD + "  experiment_type: multiple-configs\n"
     "  job_type: multiple-configs\nmulti_config_args:\n  config_fnames: [a.json]\n",
     "meta.yaml:4: meta_job_args.job_type: give experiment_type or job_type, not both"),
    ("config-listed-twice", HEAD + "multi_config_args:\n  config_fnames: [a.json, a.json]\n",
     "meta.yaml: multi_config_args.config_fnames: config file 'a.json' is listed twice "
     "(entries 0 and 1)"),
    ("cores-zero", SINGLE + "single_job_args:\n  num_logical_cores: 0\n",
     "meta.yaml:5: single_job_args.num_logical_cores: must be at least 1, got 0"),
    ("cores-string", SINGLE + "single_job_args:\n  num_logical_cores: two\n",
     "meta.yaml:5: single_job_args.num_logical_cores: expected an integer, got 'two'"),
    ("time-format", SINGLE + "single_job_args:\n  time_per_job: 1 hour\n",
     "meta.yaml:5: single_job_args.time_per_job: expected a time as dd:hh:mm (days, hours, "
     "minutes, as in mle-toolbox), D:HH:MM:SS, or with units like 90m, 1h30m, 45s; got "
     "'1 hour'"),
    ("time-hours-past-23", SINGLE + "single_job_args:\n  time_per_job: '00:24:00'\n",
     "meta.yaml:5: single_job_args.time_per_job: expected a time as dd:hh:mm (days, hours, "
     "minutes, as in mle-toolbox), D:HH:MM:SS, or with units like 90m, 1h30m, 45s; got "
     "'00:24:00'"),
    ("memory-format", SINGLE + "single_job_args:\n  memory_per_job: lots\n",
     "meta.yaml:5: single_job_args.memory_per_job: expected memory in MB (e.g. 2000) or with "
     "a unit (e.g. '4G'), got 'lots'"),
    ("venv-missing", SINGLE + "single_job_args:\n  env_name: ./venv\n",
     "meta.yaml:5: single_job_args.env_name: 'venv' is not a virtual environment "
     "(no bin/activate)"),
    ("resource-unknown", SINGLE + "resource_to_run: aws\n",
     "meta.yaml:4: resource_to_run: expected one of local, sge-cluster, slurm-cluster; "
     "got 'aws'"),
    ("max-running-zero", SINGLE + "max_running_jobs: 0\n",
     "meta.yaml:4: max_running_jobs: must be at least 1, got 0"),
    ("hostile-extra-arg-name", SINGLE + "single_job_args:\n  extra_cmd_line_input:\n"
     "    \"a;$(touch pwned)\": 1\n",
     "meta.yaml:6: single_job_args.extra_cmd_line_input.a;$(touch pwned): argument names "
     "must be identifiers"),
    ("extra-arg-dict", SINGLE + "single_job_args:\n  extra_cmd_line_input:\n    ab: {x: 1}\n",
     "meta.yaml:6: single_job_args.extra_cmd_line_input.ab: expected a single value, "
     "got {'x': 1}"),
    ("search-type", SEARCH + "    search_type: hyperopt\n    search_params:\n"
     "      categorical: {x: [1]}\n",
     "meta.yaml:7: param_search_args.search_config.search_type: 'hyperopt' is not supported; "
     "supported: Random (random), Grid (grid), Coordinate (coordinate), SMBO (smbo), "
     "Nevergrad (nevergrad), Halving (halving, successive-halving, successive_halving), "
     "Hyperband (hyperband), PBT (pbt)"),
    ("grid-without-bins", SEARCH + SPACE + "      real: {x: {begin: 1, end: 2}}\n",
     "meta.yaml:9: param_search_args.search_config.search_params.real.x.bins: grid search "
     "needs the number of grid points (bins)"),
    ("range-reversed", SEARCH + SPACE + "      real: {x: {begin: 2, end: 1, bins: 2}}\n",
     "meta.yaml:9: param_search_args.search_config.search_params.real.x.end: must be greater "
     "than begin (2.0), got 1.0"),
    ("log-uniform-zero", SEARCH + SPACE
     + "      real: {x: {begin: 0, end: 1, bins: 2, prior: log-uniform}}\n",
     "meta.yaml:9: param_search_args.search_config.search_params.real.x.begin: log-uniform "
     "prior needs begin > 0, got 0.0"),
    ("prior-unknown", SEARCH + SPACE
     + "      real: {x: {begin: 1, end: 2, bins: 2, prior: normal}}\n",
     "meta.yaml:9: param_search_args.search_config.search_params.real.x.prior: expected one "
     "of log-uniform, uniform; got 'normal'"),
    ("integer-fraction", SEARCH + SPACE + "      integer: {x: {begin: 1.5, end: 3, bins: 2}}\n",
     "meta.yaml:9: param_search_args.search_config.search_params.integer.x: integer range "
     "needs whole numbers, got 1.5 .. 3.0"),
    ("categorical-empty", SEARCH + SPACE + "      categorical: {x: []}\n",
     "meta.yaml:9: param_search_args.search_config.search_params.categorical.x: expected a "
     "non-empty list of values, got []"),
    ("search-space-empty", SEARCH + "    search_type: grid\n    search_params: {}\n",
     "meta.yaml:8: param_search_args.search_config.search_params: no parameters to search: "
     "give real, integer or categorical"),
    ("random-without-budget", SEARCH + "    search_type: random\n    search_params:\n"
     "      categorical: {x: [1, 2]}\n",
     "meta.yaml:5: param_search_args.search_resources: random search needs num_total_evals, "
     "or num_search_batches and num_evals_per_batch"),
    ("param-into-non-mapping", SEARCH + SPACE + "      categorical: {lrate.deep: [1, 2]}\n",
     "meta.yaml: param_search_args.search_config.search_params: cannot set search parameter "
     "'lrate.deep': lrate is not a mapping in the base config"),
    ("post-process-not-mapping", SINGLE + "post_process_args: eval.py\n",
     "meta.yaml:4: post_process_args: expected a mapping, got 'eval.py'"),
    ("post-process-no-script", SINGLE + "post_process_args:\n  checkpoint: final\n",
     "meta.yaml:4: post_process_args.process_fname: required key is missing"),
    ("post-process-script-missing", SINGLE + "post_process_args:\n  process_fname: nope.py\n",
     "meta.yaml:5: post_process_args.process_fname: post-process script 'nope.py' does not "
     "exist"),
    ("post-process-checkpoint", SINGLE + "post_process_args:\n  process_fname: train.py\n"
     "  checkpoint: newest\n",
     "meta.yaml:6: post_process_args.checkpoint: expected final, best, last, step_<k> or a "
     "checkpoint file name, got 'newest'"),
    ("post-process-checkpoint-path", SINGLE + "post_process_args:\n  process_fname: train.py\n"
     "  checkpoint: ../../etc/passwd.json\n",
     "meta.yaml:6: post_process_args.checkpoint: expected final, best, last, step_<k> or a "
     "checkpoint file name, got '../../etc/passwd.json'"),
    ("post-process-time", SINGLE + "post_process_args:\n  process_fname: train.py\n"
     "  time_per_job: 5 min\n",
     "meta.yaml:6: post_process_args.time_per_job: expected a time as dd:hh:mm (days, hours, "
     "minutes, as in mle-toolbox), D:HH:MM:SS, or with units like 90m, 1h30m, 45s; got "
     "'5 min'"),
    ("post-process-reserved-arg", SINGLE + "post_process_args:\n  process_fname: train.py\n"
     "  extra_cmd_line_input:\n    checkpoint: other.npz\n",
     "meta.yaml:7: post_process_args.extra_cmd_line_input.checkpoint: is set by mle for every "
     "evaluation; choose another name"),
    ("post-process-hostile-arg", SINGLE + "post_process_args:\n  process_fname: train.py\n"
     "  extra_cmd_line_input:\n    \"x;rm -rf\": 1\n",
     "meta.yaml:7: post_process_args.extra_cmd_line_input.x;rm -rf: argument names must be "
     "identifiers"),
    # Keys added with reliability, Slurm, search and the starter kit (issues 4-8).
    ("max-retries-negative", SINGLE + "  max_retries: -1\n",
     "meta.yaml:4: meta_job_args.max_retries: must be at least 0, got -1"),
    ("max-retries-string", SINGLE + "  max_retries: three\n",
     "meta.yaml:4: meta_job_args.max_retries: expected an integer, got 'three'"),
    ("max-retries-bool", SINGLE + "  max_retries: true\n",
     "meta.yaml:4: meta_job_args.max_retries: expected an integer, got True"),
    ("max-retries-float", SINGLE + "  max_retries: 1.5\n",
     "meta.yaml:4: meta_job_args.max_retries: expected an integer, got 1.5"),
    ("max-retries-unbounded", SINGLE + "  max_retries: 1000000\n",
     "meta.yaml:4: meta_job_args.max_retries: must be at most 100, got 1000000"),
    ("post-process-script-not-string", SINGLE + "post_process_args:\n  process_fname: [a]\n",
     "meta.yaml:5: post_process_args.process_fname: expected a non-empty string, got ['a']"),
    ("post-process-hostile-missing", SINGLE + "post_process_args:\n"
     "  process_fname: \"x;$(touch pwned).py\"\n",
     "meta.yaml:5: post_process_args.process_fname: post-process script 'x;$(touch pwned).py' "
     "does not exist"),
    ("post-process-script-is-dir", SINGLE + "post_process_args:\n  process_fname: cfgdir\n",
     "meta.yaml:5: post_process_args.process_fname: post-process script 'cfgdir' is not a file"),
    ("slurm-partition-space", SINGLE + SLURM + "  partition: a b\n",
     "meta.yaml:6: single_job_args.partition: expected a name without spaces or line breaks, "
     "got 'a b'"),
    ("slurm-partition-newline", SINGLE + SLURM + "  partition: \"a\\n#SBATCH --wrap=x\"\n",
     "meta.yaml:6: single_job_args.partition: expected a name without spaces or line breaks, "
     "got 'a\\n#SBATCH --wrap=x'"),
    ("sge-queue-newline", SINGLE + "resource_to_run: sge-cluster\nsingle_job_args:\n"
     "  queue: \"all.q\\n#$ -l x\"\n",
     "meta.yaml:6: single_job_args.queue: expected a name without spaces or line breaks, "
     "got 'all.q\\n#$ -l x'"),
    ("slurm-account-newline", SINGLE + SLURM + "  account: \"me\\n\"\n",
     "meta.yaml:6: single_job_args.account: expected a name without spaces or line breaks, "
     "got 'me\\n'"),
    ("slurm-cores-negative", SINGLE + SLURM + "  num_logical_cores: -2\n",
     "meta.yaml:6: single_job_args.num_logical_cores: must be at least 1, got -2"),
    ("slurm-time-short", SINGLE + SLURM + "  time_per_job: \"1:2\"\n",
     "meta.yaml:6: single_job_args.time_per_job: expected a time as dd:hh:mm (days, hours, "
     "minutes, as in mle-toolbox), D:HH:MM:SS, or with units like 90m, 1h30m, 45s; got "
     "'1:2'"),
    ("slurm-memory-lots", SINGLE + SLURM + "  memory_per_job: lots\n",
     "meta.yaml:6: single_job_args.memory_per_job: expected memory in MB (e.g. 2000) or with "
     "a unit (e.g. '4G'), got 'lots'"),
    ("directive-not-string", SINGLE + SLURM + "  extra_directives: [1]\n",
     "meta.yaml:6: single_job_args.extra_directives: expected a list of strings, got [1]"),
    ("directive-newline-item", SINGLE + SLURM + "  extra_directives:\n  - --exclusive\n"
     "  - \"--x\\n#SBATCH --wrap=evil\"\n",
     "meta.yaml:8: single_job_args.extra_directives[1]: a line break or control character "
     "would start a new line of the job script, got '--x\\n#SBATCH --wrap=evil'"),
    ("directive-newline-string", SINGLE + "resource_to_run: sge-cluster\nsingle_job_args:\n"
     "  extra_directives: \"-l x\\n#$ -l y\"\n",
     "meta.yaml:6: single_job_args.extra_directives: a line break or control character would "
     "start a new line of the job script, got '-l x\\n#$ -l y'"),
    ("search-bound-nan", SEARCH + "    search_type: smbo\n    search_params:\n"
     "      real: {x: {begin: .nan, end: 1}}\n" + TAIL,
     'meta.yaml:9: param_search_args.search_config.search_params.real.x.begin: '
     'expected a finite number, got nan'),
    ("search-bound-inf", SEARCH + "    search_type: smbo\n    search_params:\n"
     "      real: {x: {begin: 0, end: 1e999}}\n" + TAIL,
     'meta.yaml:9: param_search_args.search_config.search_params.real.x.end: expected '
     "a finite number, got '1e999'"),
    ("search-hostile-param", SEARCH + "    search_type: smbo\n    search_params:\n"
     "      real: {\"x;$(touch pwned)\": {begin: 0, end: 1}}\n" + TAIL,
     'meta.yaml:9: param_search_args.search_config.search_params.real.x;$(touch '
     'pwned): a search parameter is a config key: letters, digits, _ and -, dotted '
     'for a nested key (model_config.width)'),
    ("smbo-unknown-sampler", SEARCH + "    search_type: smbo\n    sampler: random\n"
     "    search_params:\n      real: {x: {begin: 0, end: 1}}\n" + TAIL,
     'meta.yaml:8: param_search_args.search_config.sampler: expected one of gp, tpe; '
     "got 'random'"),
    ("smbo-no-eval-metrics", SEARCH + "    search_type: smbo\n    search_params:\n"
     "      real: {x: {begin: 0, end: 1}}\n"
     "  search_resources: {num_search_batches: 2, num_evals_per_batch: 4}\n",
     'meta.yaml:5: param_search_args.search_logging.eval_metrics: smbo search needs '
     'the metric to optimise (the first of eval_metrics)'),
    ("halving-eta-1", SEARCH + HALVING + "    eta: 1\n" + TAIL,
     'meta.yaml:13: param_search_args.search_config.eta: must be at least 2, got 1'),
    ("halving-eta-too-large", SEARCH + HALVING + "    eta: 10\n" + TAIL,
     "meta.yaml:13: param_search_args.search_config.eta: min_budget * eta (1 * 10) is above "
     "max_budget (9): there would be nothing to halve; lower eta or widen the budgets"),
    ("halving-bounds-reversed", SEARCH + HALVING.replace("max_budget: 9", "max_budget: 1")
     + TAIL,
     'meta.yaml:10: param_search_args.search_config.max_budget: must be greater than '
     'min_budget (1), got 1'),
    ("halving-budget-key-nowhere", SEARCH + HALVING.replace("lrate", "nowhere") + TAIL,
     'meta.yaml: param_search_args.search_config.budget_key: successive-halving '
     "writes each run's budget to train_config.nowhere, which the base config a.json "
     'does not have; set budget_key to the key your train script reads its number of '
     'steps from'),
    ("halving-budget-key-searched", SEARCH + HALVING.replace("{y: [1]}", "{lrate: [1]}")
     + TAIL, "meta.yaml:8: param_search_args.search_config.budget_key: 'lrate' is also a "
     'searched parameter; the budget would overwrite it'),
    ("halving-budget-key-hostile", SEARCH + HALVING.replace("lrate", "\"a;b\"") + TAIL,
     'meta.yaml:8: param_search_args.search_config.budget_key: expected a config key '
     "(letters, digits, _ and -, dotted for a nested key), got 'a;b'"),
    ("pbt-factor-inf", SEARCH + "    search_type: pbt\n    budget_key: lrate\n"
     "    steps_per_generation: 2\n    perturb_factors: [.inf]\n    search_params:\n"
     "      real: {x: {begin: 0, end: 1}}\n" + TAIL,
     'meta.yaml:10: param_search_args.search_config.perturb_factors: expected a list '
     'of positive numbers, got [inf]'),
]


def _project(root: Path) -> None:
    write(root / "train.py", "print('ran')\n")
    write(root / "a.json", '{"train_config": {"lrate": 0.1}, "lrate": 3}\n')
    (root / "cfgdir").mkdir()
    write(root / "list.json", "[1, 2]\n")
    write(root / "bad.json", '{\n "a": 1,\n "b": \n}\n')
    write(root / "badc.json", '// comment\n{\n "a": 1,,\n}\n')
    write(root / "bad.yaml", "a: [1\n")


def _snapshot(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*")}


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_message_and_writes_nothing(
    tmp_path: Path, text: str, message: str,
) -> None:
    _project(tmp_path)
    write(tmp_path / "meta.yaml", text)
    before = _snapshot(tmp_path)
    result = run_mle("run", "meta.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines()[-1] == f"mle: error: {message}"
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert _snapshot(tmp_path) == before  # nothing written, no job started


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", ["random-seeds-string", "config-listed-twice",
                                  "param-into-non-mapping"])
def test_python_api_raises_config_error_with_the_same_message(tmp_path: Path,
                                                              case: str) -> None:
    _, text, message = next(c for c in CASES if c[0] == case)
    _project(tmp_path)
    meta_path = write(tmp_path / "meta.yaml", text)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # messages name files relative to the working directory
    try:
        with pytest.raises(ConfigError) as caught:
            meta = load_meta(meta_path)
            expand(meta, configs=load_configs(meta.config_files))
    finally:
        os.chdir(cwd)
    assert str(caught.value) == message


def test_unknown_key_warns_with_valid_keys_and_suggestion(tmp_path: Path) -> None:
    _project(tmp_path)
    write(tmp_path / "meta.yaml", SINGLE + "  experimnt_dir: out\n")
    result = run_mle("run", "meta.yaml", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warning = result.stderr.splitlines()[0]
    assert warning.startswith("mle: warning: meta.yaml:4: meta_job_args.experimnt_dir: "
                              "unknown key")
    assert "unknown key, ignored. Did you mean 'experiment_dir'? Valid keys here:" in warning
    assert "base_train_config" in warning and "project_name" in warning


def test_scheduler_keys_are_named_once_as_unused_locally_and_run(tmp_path: Path) -> None:
    _project(tmp_path)
    write(tmp_path / "meta.yaml", SINGLE + "  experiment_dir: out\nsingle_job_args:\n"
          "  log_file: log\n  err_file: err\n")
    result = run_mle("run", "meta.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "unknown key" not in result.stderr and "has no effect" not in result.stderr
    assert result.stderr.count("mle: note: single_job_args not used on the local backend: "
                               "log_file, err_file (for the sge and slurm backends)\n") == 1
    assert (tmp_path / "out" / "a" / "jobs" / "seed_0" / "exit_code").read_text() == "0\n"


def test_hostile_config_names_get_safe_run_ids_and_run_nothing_else(tmp_path: Path) -> None:
    _project(tmp_path)
    hostile = ["we ird's.json", "a;touch pwned.json", "$(touch pwned2).json"]
    for name in hostile:
        write(tmp_path / "cfgs" / name, '{"train_config": {}}\n')
    names = ", ".join(f'"cfgs/{n}"' for n in hostile)
    write(tmp_path / "meta.yaml", HEAD + f"  experiment_dir: out\nmulti_config_args:\n"
          f"  config_fnames: [{names}]\n")
    result = run_mle("run", "meta.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()
                  and not p.name.startswith("."))
    assert runs == ["a_touch_pwned", "touch_pwned2", "we_ird_s"]
    assert not list(tmp_path.rglob("pwned*"))
