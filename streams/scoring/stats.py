"""The statistics every score and comparison uses: 95 % intervals and two-sample tests.

Proportions get the Wilson score interval (good coverage at small n, never outside [0, 1]);
means get the Student t interval; differences get the two-proportion z-test (pooled) or Welch's
t-test. All are closed-form: the same inputs always give the same numbers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# scipy.special, not scipy.stats: the same distribution functions (scipy.stats calls them)
# without the ~50 MB scipy.stats imports into every process that scores.
from scipy import special

from contracts import Metric

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
Z95 = float(special.ndtri(1 - ALPHA / 2))


def _normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return float(special.ndtr(-z))


def wilson(successes: int, n: int) -> Metric:
    """Share ``successes / n`` with its Wilson score interval; value None when n = 0."""
    if n <= 0:
        return Metric(value=None, n=0, method="wilson")
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    p = successes / n
    z2 = Z95 * Z95
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0 and n the bound is exactly 0 or 1; rounding must not move it.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Metric(value=p, n=n, low=low, high=high, method="wilson")


def mean_t(values: Sequence[float], *, bounds: tuple[float, float] | None = None) -> Metric:
    """Mean with its Student t interval (clipped to ``bounds``); no interval below n = 2."""
    n = len(values)
    if n == 0:
        return Metric(value=None, n=0, method="student-t")
    mean = math.fsum(values) / n
    if n == 1:
        return Metric(value=mean, n=1, method="student-t")
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(special.stdtrit(n - 1, 1 - ALPHA / 2)) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(bounds[0], low), min(bounds[1], high)
    return Metric(value=mean, n=n, low=low, high=high, sd=sd, method="student-t")


def ratio_delta(ys: Sequence[float], xs: Sequence[float]) -> Metric:
    """Σy ÷ Σx over n answers (a share of something each answer counts several of), with its
    delta-method interval, clustered by answer; value None when Σx = 0."""
    n = len(ys)
    total = math.fsum(xs)
    if n == 0 or total == 0:
        return Metric(value=None, n=n, method="delta")
    ratio = math.fsum(ys) / total
    if n < 2:
        return Metric(value=ratio, n=n, method="delta")
    residuals = [y - ratio * x for y, x in zip(ys, xs, strict=True)]
    sd = math.sqrt(math.fsum(d * d for d in residuals) / (n - 1))
    se = sd / (math.sqrt(n) * (total / n))
    return Metric(value=ratio, n=n, low=max(0.0, ratio - Z95 * se),
                  high=min(1.0, ratio + Z95 * se), sd=se, method="delta")


def normal_p(difference: float, se: float) -> float:
    """Two-sided p-value of a difference with a normal standard error."""
    if se == 0:
        return 1.0 if difference == 0 else 0.0
    return float(2 * _normal_sf(abs(difference) / se))


@dataclass(frozen=True)
class Difference:
    """``second − first`` with its 95 % interval and two-sided p-value."""

    difference: float
    low: float | None
    high: float | None
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> Difference:
    """Pooled two-proportion z-test of p2 − p1 (unpooled Wald interval for the difference)."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both samples need n > 0")
    p1, p2 = x1 / n1, x2 / n2
    diff = p2 - p1
    pooled = (x1 + x2) / (n1 + n2)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    if se_pooled == 0:
        p_value = 1.0  # both all-0 or both all-1: no difference
    else:
        p_value = float(2 * _normal_sf(abs(diff) / se_pooled))
    return Difference(diff, diff - Z95 * se, diff + Z95 * se, p_value)


def welch_t(n1: int, mean1: float, sd1: float, n2: int, mean2: float, sd2: float) -> Difference:
    """Welch's t-test of mean2 − mean1 from summary statistics (n ≥ 2 on each side)."""
    if n1 < 2 or n2 < 2:
        raise ValueError("Welch's test needs n ≥ 2 on each side")
    diff = mean2 - mean1
    v1, v2 = sd1 * sd1 / n1, sd2 * sd2 / n2
    se = math.sqrt(v1 + v2)
    if se == 0:
        # No spread on either side (a deterministic answer): any difference is certain.
        return Difference(diff, diff, diff, 1.0 if diff == 0 else 0.0)
    df = (v1 + v2) ** 2 / ((v1 * v1) / (n1 - 1) + (v2 * v2) / (n2 - 1))
    half = float(special.stdtrit(df, 1 - ALPHA / 2)) * se
    p_value = float(2 * special.stdtr(df, -abs(diff) / se))
    return Difference(diff, diff - half, diff + half, p_value)


def pool_summaries(parts: Sequence[tuple[int, float, float | None]]) -> tuple[int, float, float]:
    """Combine (n, mean, sd) of several groups into the (n, mean, sd) of their union."""
    present = [(n, m, sd or 0.0) for n, m, sd in parts if n > 0]
    total = sum(n for n, _, _ in present)
    if total == 0:
        raise ValueError("nothing to pool")
    mean = math.fsum(n * m for n, m, _ in present) / total
    if total < 2:
        return total, mean, 0.0
    squares = math.fsum((n - 1) * sd * sd + n * (m - mean) ** 2 for n, m, sd in present)
    return total, mean, math.sqrt(squares / (total - 1))


def intervals_overlap(a: Metric, b: Metric) -> bool:
    """True unless both intervals exist and are disjoint."""
    if None in (a.low, a.high, b.low, b.high):
        return True
    assert a.low is not None and a.high is not None and b.low is not None and b.high is not None
    return a.low <= b.high and b.low <= a.high
