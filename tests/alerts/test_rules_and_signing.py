"""Alert rules against hand-built changes, ids that a replay cannot duplicate, and signatures a
receiver can check (and a tampered or stale one it refuses)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts import BrandScore, CorrelationFound, Metric, MetricChange, WindowSummary
from streams.alerts import Rule, Rules, from_brand_score, from_correlation, sign, verify
from streams.runs.prompts import CANARY_DOMAIN

NOW = datetime(2026, 12, 1, tzinfo=UTC)
M = Metric(value=0.5, n=10)


def score(*changes: MetricChange) -> BrandScore:
    return BrandScore(run_id=uuid.UUID(int=2), domain="apple.com", provider="openai",
                      scoring_version="3", run_created_at=NOW, samples=10, responses=30,
                      model_versions=("gpt",), versions={}, mention_rate=M, position=M,
                      sentiment=M, accuracy=M, consensus=M, drift=M, composite=M,
                      previous_run_id=uuid.UUID(int=1), changes=changes, computed_at=NOW)


def change(metric: str, difference: float, p: float) -> MetricChange:
    return MetricChange(metric=metric, previous=0.8, current=0.8 + difference,
                        difference=difference, p_value=p, test="two-proportion-z",
                        significant=p < 0.05)


def test_rules_decide_which_changes_alert() -> None:
    s = score(change("mention_rate", -0.3, 0.001), change("sentiment", 0.05, 0.01),
              change("accuracy", -0.2, 0.2))
    default = from_brand_score(s, Rules(), now=NOW)
    assert [a.metric for a in default] == ["mention_rate", "sentiment"]
    strict = Rules((Rule(metrics=("mention_rate", "sentiment"), min_effect=0.1, alpha=0.01),))
    assert [a.metric for a in from_brand_score(s, strict, now=NOW)] == ["mention_rate"]
    # The same change seen again (a replay) is the same alert.
    assert [a.alert_id for a in from_brand_score(s, Rules(), now=NOW)] == [
        a.alert_id for a in default]


def test_a_model_change_is_one_alert_of_its_own_kind_and_no_brand_alert() -> None:
    moved = score(change("mention_rate", -0.3, 0.001), change("drift", 0.2, 0.001))
    other = moved.model_copy(update={"domain": "nike.com"})
    switched = [from_brand_score(s, Rules(), now=NOW, previous_versions=("gpt-old",))
                for s in (moved, other)]
    # Both brands show the same switch: the same single alert, about the model.
    assert [[a.kind for a in alerts] for alerts in switched] == [["model_changed"]] * 2
    assert switched[0][0].alert_id == switched[1][0].alert_id
    assert switched[0][0].subject == "openai" and "gpt-old" in switched[0][0].summary
    # The roll-up over providers holds the switched model: neither alert.
    rolled = moved.model_copy(update={"provider": "all"})
    assert from_brand_score(rolled, Rules(), now=NOW, previous_versions=("gpt-old",)) == []
    # Same versions as before: the brand moved, and that is what is alerted.
    same = from_brand_score(moved, Rules(), now=NOW, previous_versions=("gpt",))
    assert [a.kind for a in same] == ["brand_score", "brand_score"]


def test_drift_on_the_canary_is_a_model_change_never_a_brand_alert() -> None:
    canary = score(change("drift", 0.25, 0.001), change("accuracy", 0.01, 0.6)).model_copy(
        update={"domain": CANARY_DOMAIN})
    alerts = from_brand_score(canary, Rules(), now=NOW, previous_versions=("gpt",))
    # Same reported version, yet the canary's answers moved: the model changed.
    assert [(a.kind, a.subject, a.metric) for a in alerts] == [
        ("model_changed", "openai", "drift")]
    assert "canary" in alerts[0].summary and alerts[0].p_value == 0.001
    # A replay raises the same alert; an unmoved canary, and the roll-up, raise none.
    assert [a.alert_id for a in from_brand_score(canary, Rules(), now=NOW)] == [
        a.alert_id for a in alerts]
    assert from_brand_score(canary.model_copy(update={"changes": ()}), Rules(), now=NOW) == []
    assert from_brand_score(canary.model_copy(update={"provider": "all"}), Rules(),
                            now=NOW) == []


def test_news_effects_alert_and_model_explained_correlations_do_not() -> None:
    window = WindowSummary(runs=2, n=20, value=0.4)
    found = CorrelationFound(
        event_id=uuid.UUID(int=9), domain="apple.com", provider="mistral", metric="drift",
        published_at=NOW, window_s=3600, before=window, after=window, effect=0.3,
        p_value=0.001, test="welch-t", verdict="effect",
        reason="drift rose after the event", correlation_version="1", computed_at=NOW)
    (alert,) = from_correlation(found, Rules(), now=NOW)
    assert alert.kind == "news_effect" and alert.subject == "apple.com"
    for verdict in ("model_version_change", "no_effect"):
        assert from_correlation(found.model_copy(update={"verdict": verdict}), Rules(),
                                now=NOW) == []


def test_a_signature_verifies_and_a_tampered_or_stale_one_does_not() -> None:
    body = b'{"alert": 1}'
    header = sign("secret", body, now=1_000_000)
    assert verify("secret", body, header, now=1_000_010)
    assert not verify("secret", body + b" ", header, now=1_000_010)
    assert not verify("other", body, header, now=1_000_010)
    assert not verify("secret", body, header, now=1_000_000 + 301)
    assert not verify("secret", body, "v1=abc", now=1_000_000)
