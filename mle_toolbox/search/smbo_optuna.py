"""SMBO through Optuna's ask/tell interface: our ``sampler: tpe | gp`` option.

TPE (``constant_liar`` so that one batch does not ask for the same point several
times), or Gaussian-process BO with ``sampler: gp``. Optuna is an optional extra
(``search``), imported when such a search starts. Without ``sampler``, SMBO runs
mle-hyperopt's surrogate models (``smbo.py``).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from ..config.meta_types import SearchConfig
from ..config.search_space import SearchParam
from .base import Evaluation, Proposal, Strategy
from .registry import MissingExtra
from .smbo import SmboOptions


def import_optuna() -> Any:
    """Import optuna, or say which extra installs it."""
    try:
        import optuna
    except ImportError as err:
        raise MissingExtra(
            "search_type smbo needs Optuna: pip install 'mle_toolbox[search]'"
        ) from err
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class OptunaStrategy(Strategy):
    """``num_search_batches`` batches of ``num_evals_per_batch`` points from one study."""

    def __init__(self, search: SearchConfig) -> None:
        super().__init__(search)
        optuna = import_optuna()
        self.optuna = optuna
        self.study = optuna.create_study(direction="minimize", sampler=self._sampler(optuna))
        self.distributions = {p.name: _distribution(optuna, p) for p in search.params}
        self.trials: dict[str, Any] = {}

    def _sampler(self, optuna: Any) -> Any:
        opts = self.options
        assert isinstance(opts, SmboOptions)
        # The first batch is random either way: a model needs results to learn from.
        startup = opts.num_startup_evals or opts.evals_per_batch or 10
        seed = self.search.sampler_seed
        if opts.sampler == "gp":
            if importlib.util.find_spec("torch") is None:
                raise MissingExtra("sampler: gp (Optuna's GPSampler) needs PyTorch: "
                                   "pip install 'mle_toolbox[search]' torch")
            return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup,
                                          constant_liar=True, multivariate=True)

    def propose(self, batch: int) -> list[Proposal]:
        """Ask the study for the next batch of points."""
        assert self.options.num_batches is not None and self.options.evals_per_batch
        if batch > self.options.num_batches:
            return []
        out = []
        for _ in range(self.options.evals_per_batch):
            trial = self.study.ask(self.distributions)
            proposal = Proposal(eval_id=self.new_id(batch), params=dict(trial.params))
            self.trials[proposal.eval_id] = trial
            out.append(proposal)
        return out

    def replay(self, batch: int, proposals: list[Proposal]) -> None:
        """Re-create the logged trials with their logged points (enqueue, then ask)."""
        for proposal in proposals:
            self.study.enqueue_trial(proposal.params, skip_if_exists=False)
            self.trials[proposal.eval_id] = self.study.ask(self.distributions)
            self.count += 1

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Tell the study each result; failed evaluations as failed trials."""
        for evaluation in evaluations:
            trial = self.trials.pop(evaluation.proposal.eval_id)
            if evaluation.loss is None:
                self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(trial, evaluation.loss)


def _distribution(optuna: Any, param: SearchParam) -> Any:
    dists = optuna.distributions
    if param.kind == "categorical":
        return dists.CategoricalDistribution(list(param.values))
    assert param.begin is not None and param.end is not None
    log = param.prior == "log-uniform"
    if param.kind == "integer":
        return dists.IntDistribution(int(param.begin), int(param.end), log=log)
    return dists.FloatDistribution(param.begin, param.end, log=log)
