"""What runs inside a job: MLExperiment, the metric logger, checkpoints and the requeue helpers."""
