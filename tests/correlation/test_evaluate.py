"""The correlation verdicts on hand-made scores: each rule in streams/correlation/evaluate.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contracts import Metric, NewsEvent
from streams.correlation.evaluate import ScoreRow, evaluate
from streams.scoring.stats import mean_t, wilson

T = datetime(2025, 6, 1, tzinfo=UTC)
EVENT = NewsEvent(event_id=uuid.uuid4(), domain="brand.com", headline="h", url="https://x/1",
                  published_at=T, kind="scandal", ingested_at=T)


def _row(domain: str, hours: float, *, known: int, drift: list[float], sentiment: list[float],
         version: str = "v1") -> ScoreRow:
    return ScoreRow(domain=domain, provider="p", run_id=uuid.uuid4(),
                    run_created_at=T + timedelta(hours=hours), model_versions=(version,),
                    metrics={"mention_rate": wilson(known, 10), "accuracy": wilson(27, 30),
                             "drift": mean_t(drift), "sentiment": mean_t(sentiment)})


def _verdicts(brand: list[ScoreRow], everyone: list[ScoreRow]) -> dict[str, tuple[str, float]]:
    return {c.metric: (c.verdict, c.p_value if c.p_value is not None else -1.0)
            for c in evaluate(EVENT, "p", brand, everyone, window_s=86400.0, computed_at=T)}


STILL = [0.0] * 10
GOOD = [0.5, 0.6] * 5


def test_a_real_change_is_an_effect_and_no_change_is_no_effect() -> None:
    before = [_row("brand.com", -2, known=9, drift=STILL, sentiment=GOOD)]
    moved = [_row("brand.com", 1, known=2, drift=[0.3, 0.4] * 5, sentiment=[-0.5, -0.6] * 5)]
    verdicts = _verdicts(before + moved, before + moved)
    assert {m: v for m, (v, _) in verdicts.items()} == {
        "mention_rate": "effect", "accuracy": "no_effect", "sentiment": "effect",
        "drift": "effect"}
    same = [_row("brand.com", 1, known=9, drift=STILL, sentiment=GOOD)]
    assert {v for v, _ in _verdicts(before + same, before + same).values()} == {"no_effect"}


def test_missing_windows_are_insufficient_data() -> None:
    before = [_row("brand.com", -2, known=9, drift=STILL, sentiment=GOOD)]
    verdicts = _verdicts(before, before)
    assert {v for v, _ in verdicts.values()} == {"insufficient_data"}
    no_drift = [ScoreRow(domain="brand.com", provider="p", run_id=uuid.uuid4(),
                         run_created_at=T + timedelta(hours=1), model_versions=("v1",),
                         metrics={"drift": Metric(value=None, n=0)})]
    assert _verdicts(before + no_drift, before + no_drift)["drift"][0] == "insufficient_data"


def test_a_version_switch_that_moves_most_brands_is_named() -> None:
    def world(version_after: str, shifted_brands: int) -> list[ScoreRow]:
        rows = []
        for i in range(4):
            domain = "brand.com" if i == 0 else f"other{i}.com"
            rows.append(_row(domain, -2, known=9, drift=STILL, sentiment=GOOD))
            drift = [0.2, 0.3] * 5 if i < shifted_brands else STILL
            rows.append(_row(domain, 1, known=9, drift=drift, sentiment=GOOD,
                             version=version_after))
        return rows

    everyone = world("v2", shifted_brands=3)
    brand = [r for r in everyone if r.domain == "brand.com"]
    assert {v for v, _ in _verdicts(brand, everyone).values()} == {"model_version_change"}
    # The same shift without a new version is brand movement.
    everyone = world("v1", shifted_brands=3)
    brand = [r for r in everyone if r.domain == "brand.com"]
    assert _verdicts(brand, everyone)["drift"][0] == "effect"
    # A new version that moved only this brand does not excuse it.
    everyone = world("v2", shifted_brands=1)
    brand = [r for r in everyone if r.domain == "brand.com"]
    assert _verdicts(brand, everyone)["drift"][0] == "effect"
