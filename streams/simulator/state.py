"""What a running simulator holds: its config, per-key rate-limit buckets and the ledger of what
it answered (per key, outcome and call identity)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from streams.providers.catalog import PROVIDERS
from streams.simulator.answers import (
    AnswerEngine,
)
from streams.simulator.brands import default_brands, load_brands
from streams.simulator.category import MODES, Mode, category_truth, find_industry
from streams.simulator.config import JSON, OUTCOMES, SimulatorConfig, apply_patch
from streams.simulator.sources import RetrievalTruth, is_category_prompt, retrieval_truth
from streams.simulator.wire import fingerprint


def call_identity(provider: str, model: str, prompt: str, sample: int,
                  mode: Mode = "memory") -> str:
    """The ledger's key of a call: a memory call keeps the identity it had before modes
    existed; a retrieval call of the same prompt and sample is another call."""
    parts = (provider, model, prompt, str(sample)) + (() if mode == "memory" else (mode,))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


class Bucket:
    """A token bucket; starts full."""

    __slots__ = ("level", "stamp")

    def __init__(self, capacity: float, now: float) -> None:
        self.level = capacity
        self.stamp = now

    def refill(self, capacity: float, per_second: float, now: float) -> None:
        self.level = min(capacity, self.level + (now - self.stamp) * per_second)
        self.stamp = now


class SimulatorState:
    """Config, counters and limiter state of one running simulator."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.initial_config = config
        self.config = config
        brands = load_brands(config.brands_path) if config.brands_path else default_brands()
        self.engine = AnswerEngine(brands)
        self._fingerprints: dict[str, str] = {}
        self._sequence = 0
        self.reset()

    def reset(self, *, config: bool = False) -> None:
        """Zero counters, identities, retry attempts and rate-limit buckets."""
        if config:
            self.config = self.initial_config
        self._revoked = frozenset(self.config.revoked_keys)
        self.total = 0
        self.by_provider: dict[str, dict[str, int]] = {}
        self.by_key: dict[str, dict[str, dict[str, int]]] = {}
        self.calls_by_identity: dict[str, int] = {}
        # The same, per run (the request's run header): runs that ask the same question of the
        # same model share an identity, and a run's own payments are what a test holds it to.
        self.calls_by_run: dict[str, dict[str, int]] = {}
        # When each was paid (Unix time): which fault a second payment belongs to is in when.
        self.paid_at_by_run: dict[str, dict[str, list[float]]] = {}
        self.attempts: dict[str, int] = {}
        self.buckets: dict[tuple[str, str, str], Bucket] = {}

    def configure(self, patch: Mapping[str, Any]) -> SimulatorConfig:
        self.config = apply_patch(self.config, patch)
        self._revoked = frozenset(self.config.revoked_keys)
        # New limits start from full buckets, as after a real quota change.
        self.buckets.clear()
        return self.config

    def fingerprint(self, key: str) -> str:
        if not key:
            return "none"
        found = self._fingerprints.get(key)
        if found is None:
            if len(self._fingerprints) > 10_000:
                self._fingerprints.clear()
            found = self._fingerprints[key] = fingerprint(key)
        return found

    def record(self, provider: str, key_fp: str, status: int) -> None:
        outcome = "ok" if status == 200 else "5xx" if status >= 500 else str(status)
        self.total += 1
        counts = self.by_provider.setdefault(provider, dict.fromkeys(("requests", *OUTCOMES), 0))
        counts["requests"] += 1
        counts[outcome] = counts.get(outcome, 0) + 1
        keys = self.by_key.setdefault(provider, {})
        key_counts = keys.setdefault(key_fp, dict.fromkeys(OUTCOMES, 0))
        key_counts[outcome] = key_counts.get(outcome, 0) + 1

    def next_id(self) -> str:
        self._sequence += 1
        return f"{self._sequence:016x}"

    def paid(self, run: str, identity: str) -> None:
        self.calls_by_identity[identity] = self.calls_by_identity.get(identity, 0) + 1
        of_run = self.calls_by_run.setdefault(run, {})
        of_run[identity] = of_run.get(identity, 0) + 1
        self.paid_at_by_run.setdefault(run, {}).setdefault(identity, []).append(time.time())

    def stats(self, *, identities: bool = True, run: str | None = None) -> JSON:
        paid = self.calls_by_identity if run is None else self.calls_by_run.get(run, {})
        out: JSON = {
            "total_requests": self.total,
            "by_provider": self.by_provider,
            "by_key": self.by_key,
            "paid_calls": sum(paid.values()),
            "unique_identities": len(paid),
            "duplicates": sum(1 for count in paid.values() if count > 1),
        }
        if identities:
            out["calls_by_identity"] = paid
            if run is not None:
                out["paid_at"] = self.paid_at_by_run.get(run, {})
        return out

    def retrieval_truth(self, provider: str, prompt: str, sample: int,
                        salt: str = "") -> RetrievalTruth:
        """What a retrieval answer of this simulator cites (see ``sources.retrieval_truth``)."""
        return retrieval_truth(provider, prompt, sample, self.engine.brands, salt=salt,
                               listing_rates=self.config.listing_rates)

    def truth_of(self, query: Mapping[str, Any]) -> JSON:
        """The truth of one call, for ``POST /_sim/truth``: ``provider``, ``prompt``,
        ``sample`` (default 0), ``run`` (its run header, default none), ``mode`` (default
        retrieval) and ``model`` (default the provider's): its ledger identity, and for a
        retrieval call the searches and sources; for a category prompt each entry's listing
        rate in that mode."""
        provider, prompt = str(query["provider"]), str(query["prompt"])
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}")
        sample, run = int(query.get("sample", 0)), str(query.get("run", ""))[:64]
        mode = query.get("mode", "retrieval")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        model = str(query.get("model") or PROVIDERS[provider].model)
        out: JSON = {"provider": provider, "mode": mode, "sample": sample, "run": run,
                     "identity": call_identity(provider, model, prompt, sample, mode),
                     "queries": [], "sources": [], "category": None}
        if mode == "retrieval":
            truth = self.retrieval_truth(provider, prompt, sample, run)
            out["queries"] = list(truth.queries)
            out["sources"] = [asdict(source) for source in truth.sources]
        industry = find_industry(prompt) if is_category_prompt(self.engine, prompt) else None
        if industry is not None:
            entries = category_truth(provider, industry, self.engine.brands,
                                     self.config.listing_rates, mode)
            out["category"] = {"industry": industry, "entries": [
                {"name": e.name, "domain": e.domain, "rate": e.rate} for e in entries]}
        return out

    def public_config(self) -> JSON:
        data = self.config.model_dump()
        data["revoked_keys"] = [fingerprint(k) for k in self.config.revoked_keys]
        return data

    def is_revoked(self, key: str) -> bool:
        return key in self._revoked

    def limit(self, provider: str, key_fp: str, cost: int,
              ) -> tuple[float, dict[str, tuple[int, int, float]]]:
        """Take one request and ``cost`` tokens from the key's buckets.

        Returns the wait until it would pass (0 = passed) and, per limited dimension,
        (limit, remaining, seconds until full) for the headers."""
        limits = self.config.limits_for(provider)
        now = time.monotonic()
        dims: list[tuple[str, float, float, float]] = []  # name, capacity, per second, cost
        if limits.rpm:
            dims.append(("requests", float(limits.burst or limits.rpm), limits.rpm / 60.0, 1.0))
        if limits.tpm:
            dims.append(("tokens", float(limits.tpm), limits.tpm / 60.0, float(cost)))
        wait = 0.0
        buckets = []
        for name, capacity, per_second, amount in dims:
            bucket = self.buckets.get((provider, key_fp, name))
            if bucket is None:
                bucket = self.buckets[(provider, key_fp, name)] = Bucket(capacity, now)
            bucket.refill(capacity, per_second, now)
            buckets.append(bucket)
            if bucket.level < amount:
                # A request larger than the bucket can never pass: say "a minute".
                shortfall = (amount - bucket.level) / per_second if amount <= capacity else 60.0
                wait = max(wait, shortfall)
        info: dict[str, tuple[int, int, float]] = {}
        for (name, capacity, per_second, amount), bucket in zip(dims, buckets, strict=True):
            if wait == 0.0:
                bucket.level -= amount
            limit = limits.rpm if name == "requests" else limits.tpm
            info[name] = (int(limit or 0), max(0, int(bucket.level)),
                          (capacity - bucket.level) / per_second)
        return wait, info
