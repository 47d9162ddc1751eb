"""The statistics behind every score: intervals checked against scipy's and textbook values,
tests against their definitions, the composite formula against the README's."""

from __future__ import annotations

import math

import pytest
from scipy import stats as scipy_stats

from contracts import Metric
from streams.scoring.composite import composite
from streams.scoring.samples import ValidationRow, observe
from streams.scoring.stats import (
    intervals_overlap,
    mean_t,
    pool_summaries,
    two_proportion_z,
    welch_t,
    wilson,
)


def test_wilson_matches_the_textbook_values() -> None:
    # Newcombe (1998), table I: 81/263 → 0.2553–0.3662; 15/148 → 0.0624–0.1605.
    m = wilson(81, 263)
    assert (round(m.low or 0, 4), round(m.high or 0, 4)) == (0.2553, 0.3662)
    m = wilson(15, 148)
    assert (round(m.low or 0, 4), round(m.high or 0, 4)) == (0.0624, 0.1605)


def test_wilson_edges() -> None:
    assert wilson(0, 0).value is None
    all_known = wilson(10, 10)
    assert all_known.value == 1.0 and all_known.high == 1.0
    assert all_known.low is not None and 0.69 < all_known.low < 0.73
    assert wilson(0, 10).low == 0.0
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_wilson_covers_the_truth_at_k_10() -> None:
    """Over every outcome of 10 draws, the interval holds p at least 90 % of the time."""
    for p in (0.3, 0.5, 0.72, 0.8, 0.9, 0.95):
        coverage = sum(scipy_stats.binom.pmf(x, 10, p) for x in range(11)
                       if (m := wilson(x, 10)).low is not None and m.high is not None
                       and m.low <= p <= m.high)
        assert coverage >= 0.9, (p, coverage)


def test_mean_t_matches_scipy() -> None:
    values = [0.1, 0.4, 0.35, 0.8, 0.5]
    m = mean_t(values)
    low, high = scipy_stats.t.interval(0.95, len(values) - 1, loc=sum(values) / 5,
                                       scale=scipy_stats.sem(values))
    assert m.low == pytest.approx(low) and m.high == pytest.approx(high)
    assert mean_t([0.5]).low is None and mean_t([]).value is None
    clipped = mean_t([0.95, 1.0, 0.9], bounds=(-1.0, 1.0))
    assert clipped.high == 1.0


def test_two_proportion_z_matches_its_definition() -> None:
    test = two_proportion_z(45, 50, 15, 50)
    pooled = 60 / 100
    z = (0.3 - 0.9) / math.sqrt(pooled * (1 - pooled) * (2 / 50))
    assert test.p_value == pytest.approx(2 * scipy_stats.norm.sf(abs(z)))
    assert test.significant and test.difference == pytest.approx(-0.6)
    assert two_proportion_z(9, 10, 9, 10).p_value == pytest.approx(1.0)
    assert not two_proportion_z(9, 10, 8, 10).significant


def test_welch_matches_scipy() -> None:
    a, b = [0.1, 0.2, 0.15, 0.3], [0.5, 0.45, 0.7, 0.6, 0.55]
    ours = welch_t(len(a), sum(a) / 4, float(scipy_stats.tstd(a)),
                   len(b), sum(b) / 5, float(scipy_stats.tstd(b)))
    theirs = scipy_stats.ttest_ind(b, a, equal_var=False)
    assert ours.p_value == pytest.approx(theirs.pvalue)
    assert welch_t(5, 0.0, 0.0, 5, 0.0, 0.0).p_value == 1.0
    assert welch_t(5, 0.0, 0.0, 5, 0.3, 0.0).p_value == 0.0


def test_pooled_summaries_equal_the_union() -> None:
    a, b = [0.1, 0.5, 0.2], [0.9, 0.7, 0.8, 0.6]
    n, mean, sd = pool_summaries([(3, sum(a) / 3, float(scipy_stats.tstd(a))),
                                  (4, sum(b) / 4, float(scipy_stats.tstd(b)))])
    assert n == 7
    assert mean == pytest.approx(sum(a + b) / 7)
    assert sd == pytest.approx(float(scipy_stats.tstd(a + b)))


def test_intervals_overlap() -> None:
    assert intervals_overlap(wilson(5, 10), wilson(6, 10))
    assert not intervals_overlap(wilson(10, 100), wilson(90, 100))


def test_composite_formula() -> None:
    def exact(value: float) -> Metric:
        return Metric(value=value, n=10, low=value, high=value)

    score = composite(mention_rate=exact(0.8), accuracy=exact(0.9), position=exact(2.0),
                      sentiment=exact(0.5), consensus=exact(0.6))
    expected = 100 * 0.8 * (0.4 * 0.9 + 0.2 * 0.8 + 0.2 * 0.75 + 0.2 * 0.6)
    assert score.value == pytest.approx(expected)
    assert score.low == score.high == pytest.approx(expected)
    missing = composite(mention_rate=exact(0.5), accuracy=Metric(value=None, n=0),
                        position=Metric(value=None, n=0), sentiment=exact(0.0),
                        consensus=exact(1.0))
    assert missing.value == pytest.approx(100 * 0.5 * (0.2 * 0.5 + 0.2 * 1.0) / 0.4)
    assert composite(mention_rate=exact(0.0), accuracy=exact(1.0), position=exact(1.0),
                     sentiment=exact(1.0), consensus=exact(1.0)).value == 0.0
    wide = composite(mention_rate=wilson(8, 10), accuracy=wilson(27, 30),
                     position=Metric(value=2.0, n=8, low=1.5, high=2.5),
                     sentiment=Metric(value=0.5, n=8, low=0.3, high=0.7), consensus=exact(0.6))
    assert wide.low is not None and wide.high is not None and wide.value is not None
    assert wide.low < wide.value < wide.high


def _row(prompt: str, sample: int, *, mentioned: bool = True, declined: bool = False,
         checks: list[tuple[str, bool | None]] = ()) -> ValidationRow:  # type: ignore[assignment]
    return ValidationRow(
        provider="openai", model_version="v1", prompt_id=prompt, sample=sample,
        mentioned=mentioned, declined=declined, position=None, sentiment=None,
        facts_checked=sum(c is not None for _, c in checks),
        facts_correct=sum(bool(c) for _, c in checks),
        fact_checks=[{"fact": f, "correct": c} for f, c in checks], validator_version="t")


def test_a_sample_counts_once() -> None:
    rows = [
        _row("describe", 0, checks=[("founded", True), ("industry", True)]),
        _row("facts", 0, checks=[("founded", True), ("industry", False), ("products", None)]),
        _row("describe", 1, mentioned=False, declined=True),
        _row("facts", 1, mentioned=False),
    ]
    first, second = observe(rows)
    assert (first.recognised, first.facts_checked, first.facts_correct) == (True, 2, 1)
    assert (second.recognised, second.facts_checked) == (False, 0)
