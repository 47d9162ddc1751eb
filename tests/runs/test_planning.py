"""Planning a project run: its tracked prompts, as they are, × providers × k samples."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from contracts import DOMAINS_REQUESTED, DomainRequested
from streams.config import Settings
from streams.runs.planning import PlanningError, plan_calls, resolve_request

BRANDS: list[dict[str, object]] = [
    {"domain": "lufthansa.com", "name": "Lufthansa"},
    {"domain": "airfrance.com", "name": "Air France", "aliases": ["AF"]}]
PROMPTS: list[dict[str, object]] = [
    {"id": "transatlantic", "version": 2, "topic": "long-haul",
     "text": "Which airline {is} best for flights to New York?"},
    {"id": "cheap", "version": 1, "text": "Which airlines are cheapest in Europe?"}]
PROJECT = {"name": "airlines", "brands": BRANDS, "prompts": PROMPTS}


def record(value: dict[str, object]) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=DOMAINS_REQUESTED.name, partition=0, offset=1, timestamp=1_764_000_000_000,
        timestamp_type=0, key=b"k", value=json.dumps(value).encode(), checksum=None,
        serialized_key_size=1, serialized_value_size=0, headers=[])


def test_a_project_run_asks_its_prompts_verbatim() -> None:
    message = record({"domain": "lufthansa.com", "run_id": str(uuid.uuid4()), "samples": 3,
                      "providers": ["openai", "mistral"], "project": PROJECT})
    request = DomainRequested.model_validate_json(message.value)
    planned = resolve_request(request, message, ["openai"])
    assert planned.prompt_label == "project:airlines"
    calls = plan_calls(planned, Settings().provider_configs)
    assert len(calls) == 2 * 2 * 3
    # Braces in a tracked prompt are text, not a template's fields.
    texts = {(c.prompt_id, c.prompt_version): c.prompt for c in calls}
    assert texts == {("transatlantic", 2): "Which airline {is} best for flights to New York?",
                     ("cheap", 1): "Which airlines are cheapest in Europe?"}
    assert len({c.call_id for c in calls}) == len(calls)


@pytest.mark.parametrize(("change", "error"), [
    ({"domain": "airfrance.com"}, "its own brand's (lufthansa.com), not airfrance.com"),
    ({"project": {**PROJECT, "brands": BRANDS * 2}}, "a domain is tracked twice"),
    ({"project": {**PROJECT, "prompts": PROMPTS[:1] * 2}}, "a prompt id appears twice"),
    ({"project": {**PROJECT, "prompts": []}}, "at least 1 item"),
])
def test_a_malformed_project_request_is_refused_with_the_reason(
        change: dict[str, object], error: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(error)):
        DomainRequested.model_validate({"domain": "lufthansa.com", "project": PROJECT, **change})


def test_a_retrieval_run_asks_only_providers_that_search_and_records_the_others() -> None:
    message = record({"domain": "lufthansa.com", "run_id": str(uuid.uuid4()), "samples": 2,
                      "mode": "retrieval", "project": PROJECT})
    planned = resolve_request(DomainRequested.model_validate_json(message.value), message,
                              ["openai", "deepseek", "google", "mistral"])
    assert planned.providers == ("openai", "google")
    assert set(planned.refused) == {"deepseek", "mistral"}
    assert "no web search" in planned.refused["deepseek"]
    calls = plan_calls(planned, Settings().provider_configs)
    assert {c.mode for c in calls} == {"retrieval"}
    assert {c.provider for c in calls} == {"openai", "google"}
    # Mode is part of the call's identity: the same cell from memory is another call.
    memory = plan_calls(resolve_request(DomainRequested.model_validate_json(message.value)
                                        .model_copy(update={"mode": "memory"}), message,
                                        ["openai", "google"]), Settings().provider_configs)
    assert {c.call_id for c in calls}.isdisjoint({c.call_id for c in memory})


def test_retrieval_of_a_named_provider_without_search_is_refused_not_answered_from_memory(
        ) -> None:
    message = record({"domain": "lufthansa.com", "run_id": str(uuid.uuid4()),
                      "mode": "retrieval", "providers": ["openai", "together"],
                      "project": PROJECT})
    planned = resolve_request(DomainRequested.model_validate_json(message.value), message,
                              ["openai"])
    with pytest.raises(PlanningError, match=r"together \(Together's chat completions"):
        plan_calls(planned, Settings().provider_configs)
