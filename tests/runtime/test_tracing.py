"""Without a collector no span is recorded, yet each hop continues its producer's trace, so the
trace id stored with an answer is the one its request started."""

from __future__ import annotations

import json
import os
import subprocess
import sys

_PROBE = """
import json
from opentelemetry.propagate import inject
from streams.runtime.tracing import configure_tracing, current_trace_id, record_span
configure_tracing("probe")
with record_span("upstream", {}) as upstream:
    headers = {}
    inject(headers)
    first, recording = current_trace_id(), [upstream.is_recording()]
with record_span("downstream", headers) as downstream:
    recording.append(downstream.is_recording())
    print(json.dumps({"recording": recording, "trace_ids": [first, current_trace_id()]}))
"""


def _probe(**env: str) -> dict[str, list[object]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run([sys.executable, "-c", _PROBE], env={**clean, **env},
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_without_a_collector_spans_are_not_recorded_but_the_trace_carries_on() -> None:
    probe = _probe()
    assert probe["recording"] == [False, False]
    first, second = probe["trace_ids"]
    assert isinstance(first, str) and len(first) == 32 and first != "0" * 32
    assert second == first


def test_a_sampler_named_in_the_environment_records_spans() -> None:
    probe = _probe(OTEL_TRACES_SAMPLER="always_on")
    assert probe["recording"] == [True, True]
    assert probe["trace_ids"][0] == probe["trace_ids"][1]
