"""Sequential model-based optimisation (SMBO) as mle-hyperopt runs it, or Optuna.

mle-hyperopt's options (either dialect; the older ``smbo_config`` block too):
``base_estimator`` GP | RF | ET | GBRT, ``acq_function`` LCB | EI | PI | gp_hedge,
``n_initial_points`` (random points before the model proposes; default 5) and
``metric_to_model`` (which eval metric; default the first). The first
``n_initial_points`` evaluations are random; then each point of a batch is the
best of the acquisition over candidates (random points plus jitter around the best
so far) under the surrogate fitted to every result, the points already chosen for
the batch counted at the mean loss so far (constant liar, skopt's ``cl_mean`` of
``ask(n_points)``). Models: ``surrogate.py`` (scikit-learn, extra ``smbo``).

Our ``sampler: tpe | gp`` (with ``num_startup_evals``) runs Optuna instead
(``smbo_optuna.py``, extra ``search``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..config.meta_types import SearchConfig
from ..config.search_space import SearchParam
from .base import Evaluation, Proposal, Strategy
from .options import OptionSource, SearchOptions
from .registry import SearchType
from .surrogate import ACQUISITIONS, CANDIDATES, Space, acquisition, fit_model

OPTION_KEYS = ("sampler", "num_startup_evals", "base_estimator", "acq_function",
               "n_initial_points", "metric_to_model")
ESTIMATORS = ("GP", "RF", "ET", "GBRT")
ACQ_FUNCTIONS = ("LCB", "EI", "PI", "gp_hedge")
SAMPLERS = ("tpe", "gp")


@dataclass(frozen=True, slots=True)
class SmboOptions(SearchOptions):
    """The surrogate model and acquisition, or our Optuna sampler."""

    sampler: str | None = None  # tpe | gp: Optuna
    num_startup_evals: int | None = None
    base_estimator: str = "GP"
    acq_function: str = "gp_hedge"
    n_initial_points: int = 5

    def needs(self) -> tuple[tuple[str, str], ...] | None:
        """Optuna when ``sampler`` is given (its GP sampler checks for PyTorch itself)."""
        return None if self.sampler is None else (("optuna", "search"),)


def parse_options(src: OptionSource, *, row: SearchType,
                  params: tuple[SearchParam, ...]) -> SmboOptions:
    """Read either dialect; batches are required (each one is proposed from the last)."""
    del row, params
    src.check_keys(OPTION_KEYS)
    batches, per_batch = src.require_batches("smbo")
    sampler = src.string("sampler", choices=SAMPLERS)
    model_keys = [k for k in ("base_estimator", "acq_function", "n_initial_points")
                  if src.has(k)]
    if sampler is not None and model_keys:
        raise src.error("sampler", message=f"sampler (Optuna) and {model_keys[0]} "
                        "(mle-hyperopt's surrogate models) exclude each other; give one")
    return SmboOptions(
        num_batches=batches, evals_per_batch=per_batch, upstream=src.upstream,
        metric_to_model=src.string("metric_to_model"), sampler=sampler,
        num_startup_evals=src.integer("num_startup_evals", minimum=1),
        base_estimator=src.string("base_estimator", choices=ESTIMATORS) or "GP",
        acq_function=src.string("acq_function", choices=ACQ_FUNCTIONS) or "gp_hedge",
        n_initial_points=src.integer("n_initial_points", default=5, minimum=1) or 5,
    )


def make_strategy(search: SearchConfig) -> Strategy:
    """Optuna for ``sampler``, else the surrogate model."""
    assert isinstance(search.options, SmboOptions)
    if search.options.sampler is not None:
        from .smbo_optuna import OptunaStrategy
        return OptunaStrategy(search)
    return SmboStrategy(search)


class SmboStrategy(Strategy):
    """Random first, then the acquisition's best under a surrogate fitted to all results."""

    def __init__(self, search: SearchConfig) -> None:
        super().__init__(search)
        import numpy as np
        assert isinstance(self.options, SmboOptions)
        self.opts: SmboOptions = self.options
        self.np = np
        self.space = Space(search.params)
        self.x: list[list[float]] = []
        self.y: list[float] = []
        self.gains = [0.0] * len(ACQUISITIONS)
        self.hedge_points: list[list[float]] = []  # gp_hedge: each acquisition's last pick
        self.asked = 0
        self.model_proposals: set[str] = set()  # eval ids the model proposed (tests check)

    def propose(self, batch: int) -> list[Proposal]:
        """``num_evals_per_batch`` points: random until ``n_initial_points``, then modelled."""
        opts = self.opts
        assert opts.num_batches is not None and opts.evals_per_batch is not None
        if batch > opts.num_batches:
            return []
        rng = self.np.random.default_rng([self.search.sampler_seed, batch])
        fitted: Any = None  # the model of the real results, fitted once per batch
        cands: Any = None
        lies: list[list[float]] = []
        out = []
        for _ in range(opts.evals_per_batch):
            eval_id = self.new_id(batch)
            if self.asked < opts.n_initial_points or len(self.y) < 2:
                point = self.sample()
            else:
                if fitted is None:
                    fitted = self._fit(self.x, self.y, like=None)
                    self._update_gains(fitted)
                    cands = self._candidates(rng)
                point = self.space.decode(self._best_candidate(rng, cands, fitted, lies))
                self.model_proposals.add(eval_id)
            self.asked += 1
            lies.append(self.space.encode(point))
            out.append(Proposal(eval_id=eval_id, params=point))
        return out

    def _fit(self, x: list[list[float]], y: list[float], *, like: Any) -> Any:
        return fit_model(self.opts.base_estimator, self.np.array(x), self.np.array(y),
                         seed=self.search.sampler_seed, like=like)

    def _best_candidate(self, rng: Any, cands: Any, fitted: Any,
                        lies: list[list[float]]) -> Any:
        np = self.np
        best = min(self.y)
        model = fitted
        if lies:
            # Constant liar at the mean (skopt's cl_mean): a lie at the best loss makes
            # tree models pick the same corner again; at the mean, points spread out.
            lie = float(np.mean(self.y))
            model = self._fit(self.x + lies, self.y + [lie] * len(lies),
                              like=fitted if self.opts.base_estimator == "GP" else None)
        mean, std = model.predict(cands)
        names = ACQUISITIONS if self.opts.acq_function == "gp_hedge" else (
            self.opts.acq_function,)
        picks = [cands[int(np.argmax(acquisition(n, mean, std, best=best)))] for n in names]
        if len(picks) == 1:
            return picks[0]
        self.hedge_points = [list(map(float, p)) for p in picks]
        logits = np.array(self.gains) - max(self.gains)
        probs = np.exp(logits) / np.exp(logits).sum()
        return picks[int(rng.choice(len(picks), p=probs))]

    def _candidates(self, rng: Any) -> Any:
        np = self.np
        width = self.space.width
        cands = rng.random((CANDIDATES, width))
        order = np.argsort(self.y)[:3]
        around = [np.clip(np.array(self.x[i]) + rng.normal(0.0, 0.05, (100, width)), 0, 1)
                  for i in order]
        # Decode and encode again: candidates are points the space can hold.
        raw = np.vstack([cands, *around])
        return np.array([self.space.encode(self.space.decode(r)) for r in raw])

    def _update_gains(self, fitted: Any) -> None:
        # gp_hedge: each acquisition gains minus the model's mean at the point it picked.
        if not self.hedge_points:
            return
        mean, _ = fitted.predict(self.np.array(self.hedge_points))
        scale = max(1e-12, float(self.np.std(self.y)) or 1.0)
        self.gains = [g - float(m) / scale for g, m in zip(self.gains, mean, strict=True)]
        self.hedge_points = []

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Add the batch's results; failures count as the worst loss seen (they are bad)."""
        finite = [e.loss for e in evaluations if e.loss is not None and math.isfinite(e.loss)]
        worst = max(self.y + finite) if (self.y or finite) else 1.0
        for evaluation in evaluations:
            self.x.append(self.space.encode(evaluation.proposal.params))
            loss = evaluation.loss
            self.y.append(worst if loss is None or not math.isfinite(loss) else loss)
