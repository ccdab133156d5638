"""mle_toolbox: a meta-launcher for ML experiment sweeps.

``import mle_toolbox`` stays light: no numpy, yaml, drmaa or plotting imports.
"""

from __future__ import annotations

__version__ = "0.4.0"  # the successor of mle-toolbox 0.3.5 (mle_toolbox>=0.3 is met)

from .job.checkpoints import load_checkpoint, load_model
from .job.experiment import MLExperiment, experiment
from .job.metrics import MetricLogger
from .results.merge import load_log, load_meta_log

__all__ = ["MLExperiment", "MetricLogger", "__version__", "experiment", "load_checkpoint",
           "load_log", "load_meta_log", "load_model"]
