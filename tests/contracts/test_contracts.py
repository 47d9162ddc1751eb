"""The contracts defend themselves, whoever produced the record: domains normalised or refused,
unknown fields tolerated, newer schema versions refused, the minimal request completed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka.structs import ConsumerRecord

from contracts import DOMAINS_REQUESTED, DomainRequested, RawResponse
from streams.kafka.records import UndecodableRecord, decode
from streams.runs.planning import resolve_request


def record(value: dict[str, object], *, offset: int = 7, key: bytes = b"k") -> ConsumerRecord[
        bytes, bytes]:
    return ConsumerRecord(
        topic=DOMAINS_REQUESTED.name, partition=3, offset=offset, timestamp=1_764_000_000_000,
        timestamp_type=0, key=key, value=json.dumps(value).encode(), checksum=None,
        serialized_key_size=len(key), serialized_value_size=0, headers=[])


@pytest.mark.parametrize(("raw", "expected"), [
    ("HTTP://WWW.Example.COM/about?x=1", "example.com"),
    ("  shop.Example.co.uk. ", "shop.example.co.uk"),
    ("bücher.de", "xn--bcher-kva.de"),
])
def test_a_domain_is_normalised_by_the_contract_itself(raw: str, expected: str) -> None:
    assert decode(record({"domain": raw}), DomainRequested).domain == expected


@pytest.mark.parametrize(("raw", "reason"), [
    ("not a domain", "contains whitespace"),
    ("localhost", "needs at least two labels"),
    ("10.0.0.1", "is an IP address"),
    ("a" * 64 + ".com", "label of 64 characters"),
])
def test_a_value_that_is_not_a_domain_is_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(UndecodableRecord, match=f"domain: Value error, not a domain: {reason}"):
        decode(record({"domain": raw}), DomainRequested)


def test_unknown_fields_are_ignored_and_never_written_back() -> None:
    request = decode(record({"domain": "example.com", "added_later": [1, 2]}), DomainRequested)
    assert "added_later" not in json.loads(request.to_json())


def test_a_newer_schema_version_is_refused_and_says_what_to_do() -> None:
    with pytest.raises(UndecodableRecord, match="schema_version 2 is newer than this reader "
                                                r"understands \(1\); upgrade the consumer"):
        decode(record({"domain": "example.com", "schema_version": 2}), DomainRequested)
    # The same rule for every contract, not only domain requests.
    with pytest.raises(UndecodableRecord, match="schema_version 5 is newer"):
        decode(record({"schema_version": 5}), RawResponse)


def test_the_minimal_request_gets_every_default_and_a_run_id_from_its_record() -> None:
    message = record({"domain": "Example.com"}, offset=41)
    planned = resolve_request(decode(message, DomainRequested), message, ["openai", "mistral"])
    assert (planned.domain, planned.name, planned.providers, planned.samples,
            planned.run_size, planned.prompt_set) == (
        "example.com", "example.com", ("openai", "mistral"), 1, 1, "default")
    assert planned.requested_at == datetime.fromtimestamp(1_764_000_000, UTC)
    # Redelivered, the same record is the same run; another record is another run.
    again = resolve_request(decode(message, DomainRequested), message, ["openai"])
    other = record({"domain": "Example.com"}, offset=42)
    assert again.run_id == planned.run_id
    assert resolve_request(decode(other, DomainRequested), other, ["openai"]).run_id != (
        planned.run_id)


def test_a_request_with_its_run_keeps_it() -> None:
    run_id = uuid.uuid4()
    message = record({"domain": "example.com", "run_id": str(run_id), "run_size": 40,
                      "providers": ["anthropic"], "samples": 3})
    planned = resolve_request(decode(message, DomainRequested), message, ["openai"])
    assert (planned.run_id, planned.run_size, planned.providers, planned.samples) == (
        run_id, 40, ("anthropic",), 3)


def test_the_asyncapi_document_has_every_topic_with_its_contract() -> None:
    from contracts import TOPICS
    from contracts.schemas import asyncapi_document

    document = asyncapi_document()
    assert set(document["channels"]) == {topic.name for topic in TOPICS}
    schemas = document["components"]["schemas"]
    request = next(schema for name, schema in schemas.items() if "DomainRequested" in name)
    assert request["required"] == ["domain"]
    assert set(request["properties"]) == set(DomainRequested.model_fields)
