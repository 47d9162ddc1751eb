"""Consumer group ``correlation``: for each news event, compares every provider's scores of the
brand in the window before the event with the window after it, and publishes one verdict per
provider and metric on ``correlations.found`` — ``no_effect`` included, never silence.

A new event is evaluated at once; new brand scores re-evaluate every event whose window holds
their run (scores of other brands too: they tell a model change from brand movement). A verdict
is published when it is new or differs from the stored one, and stored only after the broker
acknowledged it, so a crash in between publishes it again rather than never."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

from contracts import (
    BRAND_SCORES,
    CORRELATIONS_FOUND,
    NEWS_EVENTS,
    BrandScore,
    CorrelationFound,
    NewsEvent,
)
from streams.correlation.evaluate import ScoreRow, evaluate
from streams.correlation.store import (
    events_near,
    save_events,
    scores_around,
    stored_events,
    unchanged,
    upsert_correlations,
)
from streams.kafka.dead_letters import DeadLetters
from streams.runtime.consume import Batch, Confirmations, consume_batches
from streams.runtime.resources import Resources
from streams.runtime.tracing import record_span

GROUP = "correlation"


def register(resources: Resources, *, group: str = GROUP) -> None:
    """``group`` is for replays into a fresh group; deployments use ``GROUP``."""
    broker, settings, pool = resources.broker, resources.settings, resources.pool
    dead_letters = DeadLetters(broker, group=group)
    window_s = settings.correlation.window_s

    async def evaluate_event(event: NewsEvent, around: dict[datetime, list[ScoreRow]],
                             computed_at: datetime) -> list[CorrelationFound]:
        """Every provider's verdicts; ``around`` caches the scores read per event time."""
        if event.published_at not in around:
            around[event.published_at] = await scores_around(pool, event.published_at, window_s)
        rows = around[event.published_at]
        # Configured providers too, so a brand nobody scored yet gets insufficient_data.
        providers = sorted({r.provider for r in rows if r.domain == event.domain}
                           | set(settings.providers))
        found: list[CorrelationFound] = []
        for provider in providers:
            mine = [r for r in rows if r.provider == provider]
            found += evaluate(event, provider, [r for r in mine if r.domain == event.domain],
                              mine, window_s=window_s, computed_at=computed_at)
        return found

    @consume_batches(resources, group=group, topics=(NEWS_EVENTS, BRAND_SCORES),
                     dead_letters=dead_letters)
    async def correlation(batch: Batch) -> Confirmations:
        news, scores = batch.of(NewsEvent), batch.of(BrandScore)
        headers: dict[UUID, dict[str, str]] = {}
        if news:
            await save_events(pool, [e.value for e in news])
            headers = {e.value.event_id: e.headers for e in news}
        # The stored event, not the message: the first ingestion of a URL wins.
        events = {e.event_id: e for e in await stored_events(pool, list(headers))}
        if scores:
            times = sorted({e.value.run_created_at for e in scores})
            for event in await events_near(pool, times, window_s):
                events.setdefault(event.event_id, event)
            for event_id in events.keys() - headers.keys():
                headers[event_id] = scores[0].headers
        found: list[CorrelationFound] = []
        around: dict[datetime, list[ScoreRow]] = {}
        computed_at = datetime.now(UTC)
        for event in sorted(events.values(), key=lambda e: (e.published_at, str(e.event_id))):
            with record_span("correlation evaluate", headers[event.event_id],
                             domain=event.domain):
                found += await evaluate_event(event, around, computed_at)
        same = await unchanged(pool, found) if found else set()
        confirmations: Confirmations = []
        for item in found:
            if (item.event_id, item.provider, item.metric) not in same:
                confirmations.append(await broker.publish(
                    item, CORRELATIONS_FOUND.name, key=item.domain.encode(),
                    correlation_id=f"{item.event_id}:{item.provider}:{item.metric}",
                    no_confirm=True))
        await asyncio.gather(*confirmations)
        # Stored after the broker acknowledged: a crash before this publishes again.
        if found:
            await upsert_correlations(pool, found)
        return []
