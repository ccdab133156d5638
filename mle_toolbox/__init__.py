"""mle_toolbox: a meta-launcher for ML experiment sweeps.

``import mle_toolbox`` stays light: no numpy, yaml, drmaa or plotting imports.
mle-logging's and mle-toolbox's analysis names load on first use.
"""

from __future__ import annotations

__version__ = "0.4.0"  # the successor of mle-toolbox 0.3.5 (mle_toolbox>=0.3 is met)

TYPE_CHECKING = False  # typing's flag without importing typing (~8 ms of a job's start)
if TYPE_CHECKING:
    from typing import Any

    from .job.experiment import MLExperiment, experiment
    from .job.metrics import MetricLogger
    from .job.mle_logger import MLELogger

# name -> module: imported when first asked for (PEP 562), not at ``import mle_toolbox``.
# Every submodule import (the launcher's too) runs this file first, so even the job-side
# names load on first use: a job's ``from mle_toolbox import MLExperiment`` loads them at
# once, ``mle run`` never does.
_LAZY = {
    "MLExperiment": ".job.experiment", "experiment": ".job.experiment",
    "MetricLogger": ".job.metrics", "MLELogger": ".job.mle_logger",
    "load_checkpoint": ".job.checkpoints", "load_model": ".job.checkpoints",
    "load_log": ".results.merge", "load_meta_log": ".results.merge",
    "MetaLog": ".results.meta_log", "HyperLog": ".results.hyper_log",
    "load_hyper_log": ".results.hyper_log", "load_config": ".results.upstream",
    "load_experiment_config": ".utils.job_side", "load_result_logs": ".results.upstream",
    "combine_experiments": ".results.upstream", "merge_seed_logs": ".results.upstream",
    "merge_config_logs": ".results.upstream",
    # mle-toolbox 0.3.5's top-level helpers (mle_toolbox.utils has them all)
    "mle_config": ".utils.toolbox_config", "setup_proxy_server": ".utils.toolbox_config",
    "check_single_job_args": ".utils.toolbox_config",
}

__all__ = ["HyperLog", "MLELogger", "MLExperiment", "MetaLog", "MetricLogger", "__version__",
           "check_single_job_args", "combine_experiments", "experiment", "load_checkpoint",
           "load_config", "load_experiment_config", "load_hyper_log", "load_log",
           "load_meta_log", "load_model", "load_result_logs", "merge_config_logs",
           "merge_seed_logs", "mle_config", "setup_proxy_server"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        # A relative import of the submodule: what importlib.import_module does, without
        # importing importlib on a job's import path.
        module = __import__(_LAZY[name][1:], globals(), None, [name], 1)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mle_toolbox' has no attribute {name!r}")
