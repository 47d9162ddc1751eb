"""What a process runs on: its clients (HTTP, PostgreSQL, Redis), the resources its consumer
groups share, the runner, liveness heartbeats, tracing, migrations, and waiting out a
PostgreSQL outage."""

from __future__ import annotations

from streams.runtime.consume import Batch, Confirmations, consume_batches
from streams.runtime.durable import until_stored
from streams.runtime.http import create_http_client
from streams.runtime.liveness import live_processes
from streams.runtime.migrate import MigrationError, load_migrations, migrate
from streams.runtime.postgres import create_pool
from streams.runtime.redis import create_redis
from streams.runtime.resources import Resources, open_resources
from streams.runtime.runner import run_groups
from streams.runtime.tracing import (
    batch_spans,
    configure_tracing,
    current_trace_id,
    record_span,
)

__all__ = [
    "Batch",
    "Confirmations",
    "MigrationError",
    "Resources",
    "batch_spans",
    "configure_tracing",
    "consume_batches",
    "create_http_client",
    "create_pool",
    "create_redis",
    "current_trace_id",
    "live_processes",
    "load_migrations",
    "migrate",
    "open_resources",
    "record_span",
    "run_groups",
    "until_stored",
]
