"""results/moments.py: summary.json's mean and std over seeds are statistics.fmean's and
statistics.pstdev's to the last bit, without importing statistics (issue 18)."""

from __future__ import annotations

import math
import random
import statistics
import sys

import pytest

from mle_toolbox.results.merge import _mean_std
from mle_toolbox.results.moments import fmean, pstdev

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="3.10's statistics.pstdev is not correctly rounded: "
    "merge.py keeps statistics there")

EDGES = (0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
         -1.7976931348623157e308, 1.0, 0.1, 1e-300, 1e300, 3.0)


def _value(rng: random.Random) -> float:
    kind = rng.randrange(6)
    sign = rng.choice((1.0, -1.0))
    if kind == 0:
        return rng.uniform(-1.0, 1.0)
    if kind == 1:  # subnormal or barely normal
        return sign * math.ldexp(rng.random(), rng.randint(-1074, -1000))
    if kind == 2:  # huge: squares and sums far past the largest float
        return sign * math.ldexp(rng.random(), rng.randint(900, 1024))
    if kind == 3:
        return rng.choice(EDGES)
    if kind == 4:
        return rng.gauss(0.0, 1.0) * 10.0 ** rng.randint(-30, 30)
    return float(rng.randint(-10**6, 10**6))


def _sample(rng: random.Random) -> list[float]:
    size, shape = rng.randint(2, 50), rng.randrange(4)
    if shape == 0:  # all equal: std 0.0
        return [_value(rng)] * size
    if shape == 1:  # nearly equal: the variance cancels almost entirely
        base = rng.gauss(0.0, 1.0) * 10.0 ** rng.randint(-300, 300)
        return [base + rng.gauss(0.0, abs(base) * 1e-15) for _ in range(size)]
    return [_value(rng) for _ in range(size)]


def _outcome(func: object, values: list[float]) -> tuple[str, object]:
    try:
        result = func(values)  # type: ignore[operator]
    except (OverflowError, ValueError) as err:  # fsum of huge values overflows
        return "raised", type(err)
    return repr(result), type(result)  # repr: -0.0 and 0.0 differ, nan never equal


def test_pstdev_and_fmean_are_statistics_bit_for_bit_over_a_seeded_fuzz() -> None:
    rng = random.Random(20261202)
    overflowed = 0
    for _ in range(6000):
        values = _sample(rng)
        assert _outcome(pstdev, values) == _outcome(statistics.pstdev, values), values
        expected = _outcome(statistics.fmean, values)
        assert _outcome(fmean, values) == expected, values
        overflowed += expected[0] == "raised"
    assert 0 < overflowed < 3000  # both paths were taken


@pytest.mark.parametrize("values", [
    [1.0, 2.0], [0.1, 0.2, 0.3], [5e-324, 0.0], [5e-324, 5e-324, 0.0],
    [1.7976931348623157e308, -1.7976931348623157e308], [1e-300, -1e-300, 1e300],
    [2.0] * 50, [0.1] * 3 + [0.1000000000000001], list(map(float, range(50)))])
def test_chosen_cases_agree_exactly(values: list[float]) -> None:
    assert repr(pstdev(values)) == repr(statistics.pstdev(values))
    if math.isfinite(math.fsum(values)):
        assert repr(fmean(values)) == repr(statistics.fmean(values))


def test_a_correctly_rounded_root_differs_from_the_naive_formula_where_statistics_does() -> None:
    # The one-pass float formula is off by many ulps here; the exact one is not.
    values = [1e8 + 0.1, 1e8 + 0.2, 1e8 + 0.3]
    naive = math.sqrt(sum(v * v for v in values) / 3 - (sum(values) / 3) ** 2)
    assert pstdev(values) == statistics.pstdev(values) != naive


def test_mean_std_of_merge_uses_them() -> None:
    assert _mean_std([]) == {"mean": None, "std": None}
    assert _mean_std([0.25]) == {"mean": 0.25, "std": 0.0}
    values = [0.1 + seed * 0.37 / 3 for seed in range(3)]
    assert _mean_std(values) == {"mean": statistics.fmean(values),
                                 "std": statistics.pstdev(values)}
