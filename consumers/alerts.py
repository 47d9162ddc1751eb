"""Consumer group ``alerts``: turns the significant changes that scoring, visibility and
correlation publish into alerts, by the rules (``streams/alerts/rules.py``), stores each once
and publishes the new ones on ``alerts``. A model change is its own kind, apart from brand
movement; a replay raises nothing twice (alert ids are derived from what they are about)."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts import (
    ALERTS,
    BRAND_SCORES,
    CORRELATIONS_FOUND,
    VISIBILITY_SCORES,
    AlertRaised,
    BrandScore,
    CorrelationFound,
    VisibilityScore,
)
from streams.alerts.rules import from_brand_score, from_correlation, from_visibility
from streams.alerts.store import load_rules, previous_model_versions, save_alerts
from streams.kafka.dead_letters import DeadLetters
from streams.runtime.consume import Batch, Confirmations, consume_batches
from streams.runtime.resources import Resources

GROUP = "alerts"


def register(resources: Resources) -> None:
    broker, pool = resources.broker, resources.pool
    dead_letters = DeadLetters(broker, group=GROUP)

    @consume_batches(resources, group=GROUP,
                     topics=(BRAND_SCORES, VISIBILITY_SCORES, CORRELATIONS_FOUND),
                     dead_letters=dead_letters)
    async def alerts(batch: Batch) -> Confirmations:
        rules = await load_rules(pool)
        now = datetime.now(UTC)
        raised: list[AlertRaised] = []
        scores = [envelope.value for envelope in batch.of(BrandScore)]
        versions = await previous_model_versions(pool, scores)
        for score in scores:
            previous = (versions.get((score.previous_run_id, score.domain, score.provider))
                        if score.previous_run_id else None)
            raised += from_brand_score(score, rules, now=now, previous_versions=previous)
        for visibility in batch.of(VisibilityScore):
            raised += from_visibility(visibility.value, rules, now=now)
        for found in batch.of(CorrelationFound):
            raised += from_correlation(found.value, rules, now=now)
        # One model change shows in every brand's score: the same alert many times over.
        raised = list({alert.alert_id: alert for alert in raised}.values())
        new = await save_alerts(pool, raised)
        return [await broker.publish(alert, ALERTS.name, key=alert.subject.encode(),
                                     correlation_id=str(alert.alert_id), no_confirm=True)
                for alert in raised if alert.alert_id in new]
