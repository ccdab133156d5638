"""Mean and population standard deviation of finite floats, bit for bit what
``statistics.fmean`` and ``statistics.pstdev`` return on Python >= 3.11, without
importing ``statistics`` (which brings ``fractions``, ``decimal`` and ``random``: ~5 ms
at the end of every ``mle run`` whose jobs logged; issue 18).

Why the results are identical, not merely close:

- ``fmean`` is ``math.fsum(values) / len(values)`` there; so it is here.
- ``pstdev`` there is the correctly rounded square root of the exact rational variance
  ``(n * Sxx - Sx**2) / n**2``. A float is an exact rational whose denominator is a
  power of two (``float.as_integer_ratio``), so the variance is worked out here in
  integers over one common power of two, and its square root is rounded once: an
  integer square root carrying >= 55 significant bits plus a sticky bit ("round to
  odd"), then one correctly rounded int / int division. Any correctly rounded method
  gives the same float, whatever steps it takes.

On Python 3.10 ``statistics.pstdev`` was computed differently (not always correctly
rounded); there ``results/merge.py`` keeps calling ``statistics``.
"""

from __future__ import annotations

import math

# Significant bits kept by the integer square root before the last rounding: a float's
# 53 plus at least two more, so that rounding the odd-stickied value to 53 bits (or
# fewer, for a subnormal result) rounds as the exact root would.
_ROOT_BITS = 58


def fmean(values: list[float]) -> float:
    """The arithmetic mean: ``statistics.fmean(values)`` (fsum, then one division)."""
    return math.fsum(values) / len(values)


def pstdev(values: list[float]) -> float:
    """The population standard deviation of finite floats, correctly rounded:
    ``statistics.pstdev(values)`` on Python >= 3.11. ``values`` must not be empty."""
    ratios = [value.as_integer_ratio() for value in values]
    # Every denominator is a power of two: scale all numerators to the largest one.
    shift = max(denominator.bit_length() for _, denominator in ratios) - 1
    scaled = [numerator << (shift - denominator.bit_length() + 1)
              for numerator, denominator in ratios]
    count = len(scaled)
    total = sum(scaled)
    squares = sum(number * number for number in scaled)
    # variance = (count * squares - total**2) / (count**2 * 4**shift), exactly
    numerator = count * squares - total * total
    if numerator == 0:
        return 0.0
    return _sqrt_of_ratio(numerator, (count * count) << (2 * shift))


def _sqrt_of_ratio(numerator: int, denominator: int) -> float:
    """sqrt(numerator / denominator) rounded once to the nearest float (both > 0)."""
    # Scale by 4**exponent (exponent may be negative) so that the integer root has at
    # least _ROOT_BITS bits: log2 of the ratio is within 1 of the bit-length difference.
    exponent = (2 * _ROOT_BITS + 2 - (numerator.bit_length() - denominator.bit_length())) // 2
    if exponent >= 0:
        top, bottom = numerator << (2 * exponent), denominator
    else:
        top, bottom = numerator, denominator << (-2 * exponent)
    root = math.isqrt(top // bottom)  # floor(sqrt(top / bottom))
    if root * root * bottom != top:
        root |= 1  # inexact: an odd last bit stands for the discarded remainder
    if exponent >= 0:
        return root / (1 << exponent)  # int / int: correctly rounded by Python
    return float(root << -exponent)
