"""mle-toolbox's ``mle_toolbox.utils`` analysis helpers, at their import path."""

from __future__ import annotations

from ..results.hyper_log import HyperLog, load_hyper_log
from ..results.upstream import (
    combine_experiments,
    load_config,
    load_experiment_config,
    load_result_logs,
)

__all__ = ["HyperLog", "combine_experiments", "load_config", "load_experiment_config",
           "load_hyper_log", "load_result_logs"]
