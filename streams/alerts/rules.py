"""Which measured changes become alerts. A rule applies globally or to one project, names the
metrics it watches, the smallest effect worth telling (in the metric's own unit) and the
significance level; the most specific rule wins (project over global). Without any rule, the
default watches every metric at α = 0.05 with no minimum effect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from contracts import (
    AlertRaised,
    BrandScore,
    CorrelationFound,
    MetricChange,
    VisibilityScore,
    alert_id_for,
)
from streams.runs.prompts import CANARY_DOMAIN

ALL_METRICS = "*"


@dataclass(frozen=True)
class Rule:
    project: str | None = None  # None: global
    metrics: tuple[str, ...] = (ALL_METRICS,)
    min_effect: float = 0.0
    alpha: float = 0.05

    def watches(self, metric: str) -> bool:
        return ALL_METRICS in self.metrics or metric in self.metrics

    def fires(self, change: MetricChange) -> bool:
        return (self.watches(change.metric) and change.p_value is not None
                and change.p_value < self.alpha and change.difference is not None
                and abs(change.difference) >= self.min_effect)


@dataclass(frozen=True)
class Rules:
    rules: Sequence[Rule] = field(default_factory=lambda: (Rule(),))

    def for_project(self, project: str | None) -> Rule:
        specific = [r for r in self.rules if project is not None and r.project == project]
        general = [r for r in self.rules if r.project is None]
        return (specific or general or [Rule()])[0]


def _summary(subject: str, provider: str, change: MetricChange) -> str:
    where = "across providers" if provider == "all" else f"at {provider}"
    return (f"{subject}: {change.metric.replace('_', ' ')} {change.previous:.2f} → "
            f"{change.current:.2f} {where} (p = {change.p_value:.3g})")


def from_brand_score(score: BrandScore, rules: Rules, *, now: datetime,
                     previous_versions: Sequence[str] | None = None) -> list[AlertRaised]:
    """The brand's significant changes; or, when the provider reported other model versions
    in the previous run (``previous_versions``), one "model changed" alert for the provider
    instead: the model moved, not the brand, and every brand it answers about would move with
    it. The alert's id names the provider and the versions, so however many brands (and
    replays) show the change, it is raised once."""
    if previous_versions is not None and score.previous_run_id is not None and (
            set(previous_versions) != set(score.model_versions)):
        if score.provider == "all":
            return []  # the roll-up holds the changed model: neither the brand's nor the model's
        before, after = ", ".join(sorted(previous_versions)), ", ".join(
            sorted(score.model_versions))
        return [AlertRaised(
            alert_id=alert_id_for("model_changed", score.provider, score.provider,
                                  "model_version", f"{before}->{after}"),
            kind="model_changed", subject=score.provider, provider=score.provider,
            metric="model_version", previous=None, current=None, difference=None,
            p_value=None, test="reported model version", previous_run_id=score.previous_run_id,
            run_id=score.run_id,
            summary=(f"{score.provider}: the model reports {after} (was {before}); brand "
                     f"changes at {score.provider} since are not alerted as brand movement"),
            raised_at=now)]
    rule = rules.for_project(None)
    if score.domain == CANARY_DOMAIN:
        # The canary asks about no brand: whatever moves there, the model moved.
        return [] if score.provider == "all" else [
            AlertRaised(
                alert_id=alert_id_for("model_changed", score.provider, score.provider,
                                      f"canary:{c.metric}",
                                      f"{score.previous_run_id}->{score.run_id}"),
                kind="model_changed", subject=score.provider, provider=score.provider,
                metric=c.metric, previous=c.previous, current=c.current,
                difference=c.difference, p_value=c.p_value, test=c.test,
                previous_run_id=score.previous_run_id, run_id=score.run_id,
                summary=(f"{score.provider}: the canary's {c.metric.replace('_', ' ')} moved "
                         f"{c.previous:.2f} → {c.current:.2f} (p = {c.p_value:.3g}) with the "
                         f"model reporting {', '.join(score.model_versions)}: the model "
                         f"changed"),
                raised_at=now)
            for c in score.changes if rule.fires(c)]
    return [
        AlertRaised(
            alert_id=alert_id_for("brand_score", score.domain, score.provider, c.metric,
                                  f"{score.previous_run_id}->{score.run_id}"),
            kind="brand_score", subject=score.domain, provider=score.provider,
            metric=c.metric, previous=c.previous, current=c.current,
            difference=c.difference, p_value=c.p_value, test=c.test,
            previous_run_id=score.previous_run_id, run_id=score.run_id,
            summary=_summary(score.domain, score.provider, c), raised_at=now)
        for c in score.changes if rule.fires(c)
    ]


def from_visibility(score: VisibilityScore, rules: Rules, *,
                    now: datetime) -> list[AlertRaised]:
    # Roll-ups over all prompts only: one alert per brand, provider and metric, not per cell.
    if score.prompt_id != "all" or score.topic != "all":
        return []
    rule = rules.for_project(score.project)
    return [
        AlertRaised(
            alert_id=alert_id_for("visibility", score.project, score.provider,
                                  f"{score.brand}:{c.metric}",
                                  f"{score.previous_run_id}->{score.run_id}"),
            kind="visibility", subject=score.project, project=score.project,
            brand=score.brand, provider=score.provider, metric=c.metric, previous=c.previous,
            current=c.current, difference=c.difference, p_value=c.p_value, test=c.test,
            previous_run_id=score.previous_run_id, run_id=score.run_id,
            summary=_summary(f"{score.project} / {score.brand}", score.provider, c),
            raised_at=now)
        for c in score.changes if rule.fires(c)
    ]


def from_correlation(found: CorrelationFound, rules: Rules, *,
                     now: datetime) -> list[AlertRaised]:
    """A news effect. A correlation the model's change explains raises nothing here: the
    model change is alerted once, from the scores (``from_brand_score``)."""
    if found.verdict != "effect":
        return []
    kind = "news_effect"
    rule = rules.for_project(None)
    if not (found.p_value is not None and found.p_value < rule.alpha
            and rule.watches(found.metric)):
        return []
    return [AlertRaised(
        alert_id=alert_id_for(kind, found.domain, found.provider, found.metric,
                              str(found.event_id)),
        kind=kind, subject=found.domain, provider=found.provider, metric=found.metric,
        previous=found.before.value, current=found.after.value, difference=found.effect,
        p_value=found.p_value, test=found.test, event_id=found.event_id,
        summary=f"{found.domain} at {found.provider}: {found.reason}", raised_at=now)]
