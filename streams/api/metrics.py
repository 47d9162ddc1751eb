"""Metrics for operators, through an OpenTelemetry MeterProvider read by its Prometheus exporter:
API requests by route and status (counted as they happen), and, read from the system of record
at each scrape, calls and outcomes per provider, cost, the limiter's 429s per key, run progress
and consumer lag per group. Every API replica reports the same stored figures; the request
counter is its own."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import asyncpg
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, generate_latest

from streams.limiter import KeyState
from streams.ops.lag import PartitionLag, total_by_group_topic

# name -> description of each gauge read at scrape time
GAUGES = {
    "dr_calls": "Planned provider calls by provider and status (pending, ok, failed, …)",
    "dr_cost_usd": "Cost of the stored responses by provider, in USD",
    "dr_provider_throttled": "429s (rate limited) per provider key, as the limiter counted",
    "dr_runs": "Runs by status",
    "dr_run_progress": "Share of a running run's calls with a final outcome",
    "dr_consumer_lag": "Records not yet committed, per consumer group and topic",
}


@dataclass
class Snapshot:
    values: dict[str, list[tuple[float, dict[str, str]]]] = field(default_factory=dict)


class ApiMetrics:
    """One registry per app, so two apps in one process (tests) never share series."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.provider = MeterProvider(
            metric_readers=[PrometheusMetricReader(registry=self.registry)],
            resource=Resource.create({"service.name": "domain-runner-api"}))
        meter = self.provider.get_meter("domain_runner.api")
        self.requests = meter.create_counter(
            "dr_api_requests", description="API requests by route and status")
        self.snapshot = Snapshot()
        for name, description in GAUGES.items():
            meter.create_observable_gauge(name, callbacks=[self._observe(name)],
                                          description=description)

    def _observe(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(value, labels)
                    for value, labels in self.snapshot.values.get(name, [])]
        return observe

    async def refresh(self, pool: asyncpg.Pool, keys: list[KeyState],
                      lags: list[PartitionLag] | None) -> None:
        values: dict[str, list[tuple[float, dict[str, str]]]] = {name: [] for name in GAUGES}
        for row in await pool.fetch(
                "SELECT provider, status, count(*) AS n FROM calls GROUP BY provider, status"):
            values["dr_calls"].append((row["n"], {"provider": row["provider"],
                                                  "status": row["status"]}))
        for row in await pool.fetch("""SELECT provider, coalesce(sum(cost_usd), 0)::float8 AS c
                                       FROM responses GROUP BY provider"""):
            values["dr_cost_usd"].append((row["c"], {"provider": row["provider"]}))
        for row in await pool.fetch("SELECT status, count(*) AS n FROM runs GROUP BY status"):
            values["dr_runs"].append((row["n"], {"status": row["status"]}))
        for row in await pool.fetch(
                """SELECT run_id, (succeeded_calls + failed_calls + skipped_calls
                                   + dead_lettered_calls)::float8 / greatest(expected_calls, 1)
                                  AS progress
                   FROM runs WHERE status = 'running'"""):
            values["dr_run_progress"].append((row["progress"], {"run_id": str(row["run_id"])}))
        for key in keys:
            values["dr_provider_throttled"].append(
                (key.throttled, {"provider": key.provider, "key": key.fingerprint}))
        for (group, topic), (_, _, lag) in total_by_group_topic(lags or []).items():
            values["dr_consumer_lag"].append((lag, {"group": group, "topic": topic}))
        self.snapshot = Snapshot(values)

    def render(self) -> bytes:
        return generate_latest(self.registry)
