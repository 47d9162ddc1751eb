"""One module per consumer group; each registers its subscribers on a broker. ``GROUPS`` is the
registry: the runner, the CLI, the demo and the compose file's services all derive from it."""

from __future__ import annotations

from collections.abc import Sequence

from consumers import (
    alert_delivery,
    alerts,
    capture,
    correlation,
    embedding,
    provider_calls,
    reality_validation,
    scoring,
    sources,
    visibility,
)
from streams.errors import DomainRunnerError
from streams.runtime.runner import Group

GROUPS: dict[str, Group] = {group.name: group for group in (
    Group(capture.GROUP, capture.register, background=capture.reconcile),
    Group(provider_calls.GROUP, provider_calls.register),
    Group(reality_validation.GROUP, reality_validation.register),
    Group(embedding.GROUP, embedding.register),
    Group(scoring.GROUP, scoring.register),
    Group(correlation.GROUP, correlation.register),
    Group(visibility.GROUP, visibility.register),
    Group(sources.GROUP, sources.register),
    Group(alerts.GROUP, alerts.register),
    Group(alert_delivery.GROUP, alert_delivery.register),
)}


class UnknownGroup(DomainRunnerError):
    """A consumer group name that is not in the registry."""


def select_groups(names: Sequence[str]) -> list[Group]:
    """The named groups (every group when none is named), in the order given."""
    if unknown := [name for name in names if name not in GROUPS]:
        raise UnknownGroup(f"unknown consumer groups {unknown}; known: {sorted(GROUPS)}")
    return [GROUPS[name] for name in names or GROUPS]


__all__ = ["GROUPS", "UnknownGroup", "select_groups"]
