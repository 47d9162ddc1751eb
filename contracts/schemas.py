"""JSON Schema for every message, and an AsyncAPI document of every topic, generated from the
models (never written by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.topics import TOPICS


def topic_schemas() -> dict[str, dict[str, Any]]:
    """Topic name → JSON Schema of its value; a dead-letter topic carries its twin's values."""
    return {topic.name: topic.model.model_json_schema() for topic in TOPICS}


def asyncapi_document(bootstrap: str = "kafka:9092") -> dict[str, Any]:
    """AsyncAPI 3 of every topic (FastStream builds it from the same models), for the
    producers and analytics that live outside this codebase."""
    from faststream.kafka import KafkaBroker
    from faststream.specification import AsyncAPI

    broker = KafkaBroker(bootstrap)
    for topic in TOPICS:
        broker.publisher(topic.name, schema=topic.model, title=topic.name,
                         description=f"JSON {topic.model.__name__}, keyed by {topic.key}; "
                                     f"{topic.partitions} partitions; records no consumer "
                                     f"can read go to {topic.dlt} with the reason in headers")
    spec = AsyncAPI(broker, title="Domain Runner topics", version="1",
                    description="Every topic's message, from contracts/.").to_specification()
    document: dict[str, Any] = json.loads(spec.to_json())
    return document


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in topic_schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    path = folder / "asyncapi.json"
    path.write_text(json.dumps(asyncapi_document(), indent=2, sort_keys=True) + "\n")
    written.append(path)
    return written
