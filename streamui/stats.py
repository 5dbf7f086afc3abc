"""Small statistics for the A/B dashboard: percentiles and two significance tests.

Plain Python (no SciPy): the normal approximations are what a dashboard needs to say
whether a difference between arms is likely to be real.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile, q in [0, 100]; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def _two_sided_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


@dataclass(frozen=True, slots=True)
class TestResult:
    name: str
    statistic: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


def mann_whitney_u(a: Sequence[float], b: Sequence[float]) -> TestResult | None:
    """Two-sided Mann-Whitney U test (normal approximation with tie correction)."""
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        return None
    combined = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(combined)
    tie_term = 0.0
    i = 0
    while i < len(combined):
        j = i
        while j + 1 < len(combined) and combined[j + 1][0] == combined[i][0]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[k] = rank
        t = j - i + 1
        tie_term += t**3 - t
        i = j + 1
    r1 = sum(rank for rank, (_, group) in zip(ranks, combined, strict=False) if group == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    n = n1 + n2
    mean = n1 * n2 / 2
    var = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if var <= 0:
        return TestResult("Mann-Whitney U", u1, 1.0)
    z = (u1 - mean) / math.sqrt(var)
    return TestResult("Mann-Whitney U", u1, _two_sided_p(z))


def two_proportion_z(k1: int, n1: int, k2: int, n2: int) -> TestResult | None:
    """Two-sided z-test that two rates (k1/n1, k2/n2) differ."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return TestResult("two-proportion z", 0.0, 1.0)
    z = (k1 / n1 - k2 / n2) / se
    return TestResult("two-proportion z", z, _two_sided_p(z))


__all__ = ["TestResult", "mann_whitney_u", "percentile", "two_proportion_z"]
