"""OpenTelemetry: one tracer provider per process, and a span per record that continues the
trace its producer started (FastStream's middleware gives a batch one span with links only)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import Span, SpanKind

TRACER_NAME = "domain_runner"


def configure_tracing(service_name: str) -> TracerProvider:
    """Install the global tracer provider; spans go to OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT``
    is set (Jaeger in the compose stack), sampled as ``OTEL_TRACES_SAMPLER`` says (every trace by
    default). Without a collector no span is recorded (there is nowhere to send it), but trace
    ids are still made, propagated from hop to hop and stored with each answer."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    name = os.environ.get("OTEL_SERVICE_NAME", service_name)
    exporting = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    provider = TracerProvider(
        resource=Resource.create({"service.name": name}),
        sampler=None if exporting or os.environ.get("OTEL_TRACES_SAMPLER") else ALWAYS_OFF)
    if exporting:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


@contextmanager
def record_span(
    name: str, headers: Mapping[str, str], *, kind: SpanKind = SpanKind.CONSUMER,
    **attributes: str | int,
) -> Iterator[Span]:
    """Process one consumed record as a child of the span whose ``traceparent`` it carries
    (a new trace when it carries none)."""
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name, context=extract(dict(headers)), kind=kind, attributes=attributes
    ) as span:
        yield span


@contextmanager
def batch_spans(name: str, headers: Sequence[Mapping[str, str]]) -> Iterator[list[Span]]:
    """One span per record around work done for all of them at once (one transaction), each in
    its own record's trace."""
    tracer = trace.get_tracer(TRACER_NAME)
    spans = [
        tracer.start_span(name, context=extract(dict(h)), kind=SpanKind.CONSUMER) for h in headers
    ]
    try:
        yield spans
    finally:
        for span in spans:
            span.end()


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
