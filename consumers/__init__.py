"""One module per consumer group; each registers its subscribers on a broker. ``GROUPS`` is the
registry: the runner, the CLI, the demo and the compose file's services all derive from it."""

from __future__ import annotations

from collections.abc import Sequence

from streams.errors import DomainRunnerError
from streams.runtime.runner import Group

# By module name: a process imports the groups it runs, and nothing of the others.
GROUPS: dict[str, Group] = {group.name: group for group in (
    Group("capture", "consumers.capture", background="reconcile"),
    Group("provider-calls", "consumers.provider_calls"),
    Group("reality-validation", "consumers.reality_validation"),
    Group("embedding", "consumers.embedding"),
    Group("scoring", "consumers.scoring"),
    Group("correlation", "consumers.correlation"),
    Group("visibility", "consumers.visibility"),
    Group("sources", "consumers.sources"),
    Group("alerts", "consumers.alerts"),
    Group("alert-delivery", "consumers.alert_delivery"),
)}


class UnknownGroup(DomainRunnerError):
    """A consumer group name that is not in the registry."""


def select_groups(names: Sequence[str]) -> list[Group]:
    """The named groups (every group when none is named), in the order given."""
    if unknown := [name for name in names if name not in GROUPS]:
        raise UnknownGroup(f"unknown consumer groups {unknown}; known: {sorted(GROUPS)}")
    return [GROUPS[name] for name in names or GROUPS]


__all__ = ["GROUPS", "UnknownGroup", "select_groups"]
