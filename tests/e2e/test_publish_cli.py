"""``domain-runner publish`` on the real broker: only valid domains reach the topic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from contracts import DOMAINS_REQUESTED
from streams.config import Settings

pytestmark = pytest.mark.stack


async def test_bad_lines_rejected_with_line_numbers(migrated: Settings, tmp_path: Path) -> None:
    source = tmp_path / "domains.txt"
    source.write_text("\n".join([
        "", "http://Example.COM/path", "ex ample.com", "x" * 300 + ".com", "bücher.de", "",
        "stripe.com",
    ]) + "\n")
    run_id = uuid.uuid4()
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "publish", str(source), "--run-id", str(run_id)],
        capture_output=True, text=True, timeout=60, env=os.environ.copy(),
    )
    assert result.returncode == 1, result.stderr  # published, with rejections
    assert result.stdout.strip() == str(run_id)
    assert "line 3: 'ex ample.com': contains whitespace" in result.stderr
    assert "line 4:" in result.stderr and "label of 300 characters" in result.stderr
    assert "published 3 domains, rejected 2" in result.stderr

    consumer = AIOKafkaConsumer(
        DOMAINS_REQUESTED.name, bootstrap_servers=migrated.kafka.bootstrap,
        auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
    )
    await consumer.start()
    try:
        found: dict[str, bytes] = {}
        for _ in range(40):
            batches = await consumer.getmany(timeout_ms=250)
            for records in batches.values():
                for record in records:
                    value = json.loads(record.value)
                    if value.get("run_id") == str(run_id):  # others publish without one
                        found[value["domain"]] = record.key
            if len(found) == 3:
                break
    finally:
        await consumer.stop()
    # Plain JSON values and domain keys, readable by any Kafka client.
    assert found == {d: d.encode() for d in ("example.com", "xn--bcher-kva.de", "stripe.com")}


async def test_a_mixed_file_publishes_its_good_lines(migrated: Settings, tmp_path: Path) -> None:
    """A 10 MB line, a Latin-1 line, a line that looks like console markup and a name over the
    contract's limit are rejected by number; the good lines are published."""
    source = tmp_path / "mixed.csv"
    source.write_bytes(b"domain,name\n"
                       b"mixed-one.example,One\n"
                       + b"a" * (10 * 1024 * 1024) + b"\n"
                       + "café.example,Café\n".encode("latin-1")
                       + b"bad [/x],X\n"
                       + b"long-name.example," + b"N" * 201 + b"\n"
                       b"mixed-two.example,Two\n")
    run_id = uuid.uuid4()
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "publish", str(source), "--run-id", str(run_id)],
        capture_output=True, text=True, timeout=60, env=os.environ.copy(),
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.strip() == str(run_id)
    assert result.stderr.splitlines() == [
        f"rejected {source}: line 3: longer than 65536 bytes (the limit per line)",
        f"rejected {source}: line 4: not UTF-8 (byte 0xe9 at byte 4 of the line)",
        f"rejected {source}: line 5: 'bad [/x]': contains whitespace",
        f"rejected {source}: line 6: 'long-name.example': name: String should have at most "
        f"200 characters",
        "published 2 domains, rejected 4",
    ]
    found: dict[str, str] = {}
    consumer = AIOKafkaConsumer(
        DOMAINS_REQUESTED.name, bootstrap_servers=migrated.kafka.bootstrap,
        auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
    )
    await consumer.start()
    try:
        for _ in range(40):
            for records in (await consumer.getmany(timeout_ms=250)).values():
                for record in records:
                    value = json.loads(record.value)
                    if value.get("run_id") == str(run_id):  # others publish without one
                        found[value["domain"]] = value["name"]
            if len(found) == 2:
                break
    finally:
        await consumer.stop()
    assert found == {"mixed-one.example": "One", "mixed-two.example": "Two"}
