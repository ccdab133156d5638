"""mle-toolbox's ``experimental`` namespace: ``hypothesis.HypothesisTester``."""
