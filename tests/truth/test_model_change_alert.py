"""The scenario switches mistral's model between runs B and C while a scandal hits one brand:
the switch raises exactly one "model changed" alert, and no brand alert at mistral (nor across
providers, whose roll-up holds the switched model); the scandal, measured at the providers that
did not change, still raises brand alerts."""

from __future__ import annotations

import asyncpg
import pytest

from tests.truth.scenario import NEW_VERSION, NEWS_BRAND, SWITCHED, Scenario

pytestmark = pytest.mark.stack


async def test_a_model_switch_is_one_model_alert_and_no_brand_alert(world: Scenario) -> None:
    run_c = str(world.runs[-1])
    connection = await asyncpg.connect(world.dsn)
    try:
        models = await connection.fetch(
            """SELECT provider, body->>'summary' AS summary, body->>'run_id' AS run_id
               FROM alerts WHERE kind = 'model_changed' AND provider = $1""", SWITCHED)
        brand_alerts = await connection.fetch(
            """SELECT subject, provider, metric FROM alerts
               WHERE kind = 'brand_score' AND body->>'run_id' = $1""", run_c)
    finally:
        await connection.close()
    assert len(models) == 1, models
    assert models[0]["run_id"] == run_c and NEW_VERSION in models[0]["summary"]
    providers = {row["provider"] for row in brand_alerts}
    assert SWITCHED not in providers and "all" not in providers, brand_alerts
    assert any(row["subject"] == NEWS_BRAND for row in brand_alerts), (
        "the scandal is still alerted where the model did not change")
