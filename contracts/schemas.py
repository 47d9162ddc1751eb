"""JSON Schema for every message, generated from the models (never written by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.topics import TOPICS


def topic_schemas() -> dict[str, dict[str, Any]]:
    """Topic name → JSON Schema of its value; a dead-letter topic carries its twin's values."""
    return {topic.name: topic.model.model_json_schema() for topic in TOPICS}


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in topic_schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
