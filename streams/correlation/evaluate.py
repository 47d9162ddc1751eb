"""One news event, one provider, one metric: pool the scores of the runs in the window before the
event and in the window after it, test the difference, and name the verdict.

- mention_rate, accuracy: two-proportion z-test on the pooled counts;
- sentiment, drift: Welch's t-test on the pooled per-sample means and deviations;
- ``model_version_change`` replaces the verdict when the provider reported a model version after
  the event that it did not report before, and its answers shifted for at least half of the
  brands it answered about in both windows (a shift: the drift after the event is significantly
  higher than before, by the same Welch test): the change then belongs to the model, not the
  brand;
- ``insufficient_data`` when either window has no data for the metric (n = 0, or n < 2 for a
  mean), ``effect`` when p < 0.05, else ``no_effect``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import get_args
from uuid import UUID

from contracts import CorrelationFound, Metric, NewsEvent, WindowSummary
from contracts.correlations import CorrelatedMetric
from streams.scoring.stats import ALPHA, Difference, pool_summaries, two_proportion_z, welch_t

# Bump on any change to how a verdict is reached: rows are keyed by it.
CORRELATION_VERSION = "1"
METRICS: tuple[CorrelatedMetric, ...] = get_args(CorrelatedMetric)
PROPORTIONS = frozenset({"mention_rate", "accuracy"})
# Share of a provider's brands whose answers must shift to call it a model change.
SHIFTED_SHARE = 0.5


@dataclass(frozen=True)
class ScoreRow:
    """One provider's stored score of one domain in one run."""

    domain: str
    provider: str
    run_id: UUID
    run_created_at: datetime
    model_versions: tuple[str, ...]
    metrics: Mapping[str, Metric]


@dataclass(frozen=True)
class Pooled:
    runs: int
    n: int
    value: float | None
    sd: float | None
    successes: int
    model_versions: tuple[str, ...]

    def summary(self) -> WindowSummary:
        return WindowSummary(runs=self.runs, n=self.n, value=self.value, sd=self.sd,
                             model_versions=self.model_versions)


def pool(rows: Sequence[ScoreRow], metric: str) -> Pooled:
    versions = tuple(sorted({v for row in rows for v in row.model_versions}))
    found = [row.metrics[metric] for row in rows
             if metric in row.metrics and row.metrics[metric].value is not None
             and row.metrics[metric].n > 0]
    if not found:
        return Pooled(len(rows), 0, None, None, 0, versions)
    if metric in PROPORTIONS:
        n = sum(m.n for m in found)
        successes = sum(round((m.value or 0.0) * m.n) for m in found)
        return Pooled(len(rows), n, successes / n, None, successes, versions)
    n, mean, sd = pool_summaries([(m.n, m.value or 0.0, m.sd) for m in found])
    return Pooled(len(rows), n, mean, sd, 0, versions)


def compare(metric: str, before: Pooled, after: Pooled) -> Difference | None:
    """after − before, or None when the data cannot support a test."""
    if before.value is None or after.value is None:
        return None
    if metric in PROPORTIONS:
        return two_proportion_z(before.successes, before.n, after.successes, after.n)
    if before.n < 2 or after.n < 2:
        return None
    return welch_t(before.n, before.value, before.sd or 0.0, after.n, after.value,
                   after.sd or 0.0)


def shifted(before: Sequence[ScoreRow], after: Sequence[ScoreRow]) -> bool | None:
    """Whether this brand's answers moved across the event (None: not measurable)."""
    test = compare("drift", pool(before, "drift"), pool(after, "drift"))
    if test is None:
        return None
    return test.significant and test.difference > 0


def model_changed(before: Sequence[ScoreRow], after: Sequence[ScoreRow]) -> bool:
    earlier = {v for row in before for v in row.model_versions}
    return bool(earlier) and bool({v for row in after for v in row.model_versions} - earlier)


def broad_shift(rows: Sequence[ScoreRow], published_at: datetime) -> tuple[int, int]:
    """(brands shifted, brands measurable) among one provider's scores of every brand."""
    by_domain: dict[str, list[ScoreRow]] = {}
    for row in rows:
        by_domain.setdefault(row.domain, []).append(row)
    measured = moved = 0
    for group in by_domain.values():
        verdict = shifted([r for r in group if r.run_created_at < published_at],
                          [r for r in group if r.run_created_at >= published_at])
        if verdict is not None:
            measured += 1
            moved += verdict
    return moved, measured


def evaluate(event: NewsEvent, provider: str, brand_rows: Sequence[ScoreRow],
             provider_rows: Sequence[ScoreRow], *, window_s: float,
             computed_at: datetime) -> list[CorrelationFound]:
    """Every metric's verdict for ``provider``: ``brand_rows`` are its scores of the event's
    brand in the two windows, ``provider_rows`` its scores of every brand in them."""
    before_rows = [r for r in brand_rows if r.run_created_at < event.published_at]
    after_rows = [r for r in brand_rows if r.run_created_at >= event.published_at]
    moved, measured = broad_shift(provider_rows, event.published_at)
    version_change = (model_changed(before_rows, after_rows) and measured > 0
                      and moved / measured >= SHIFTED_SHARE)
    found = []
    for metric in METRICS:
        before, after = pool(before_rows, metric), pool(after_rows, metric)
        test = compare(metric, before, after)
        if test is None:
            verdict, reason = "insufficient_data", (
                f"{metric}: {before.n} before and {after.n} after the event "
                f"({before.runs} and {after.runs} runs)")
        elif version_change:
            new = sorted(set(after.model_versions) - set(before.model_versions))
            verdict, reason = "model_version_change", (
                f"{provider} switched to {', '.join(new)} and its answers shifted for "
                f"{moved} of {measured} brands")
        elif test.p_value < ALPHA:
            verdict, reason = "effect", f"p = {test.p_value:.3g} < {ALPHA:g}"
        else:
            verdict, reason = "no_effect", f"p = {test.p_value:.3g} ≥ {ALPHA:g}"
        found.append(CorrelationFound(
            event_id=event.event_id, domain=event.domain, provider=provider, metric=metric,
            published_at=event.published_at, window_s=window_s, before=before.summary(),
            after=after.summary(), effect=test.difference if test else None,
            effect_low=test.low if test else None, effect_high=test.high if test else None,
            p_value=test.p_value if test else None,
            test=("none" if test is None else
                  "two-proportion-z" if metric in PROPORTIONS else "welch-t"),
            verdict=verdict, reason=reason, correlation_version=CORRELATION_VERSION,
            computed_at=computed_at,
        ))
    return found
