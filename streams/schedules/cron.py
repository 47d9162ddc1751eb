"""Cron slots in a time zone (croniter), and what a scheduler owes after downtime.

A slot is an instant: the cron expression read in the schedule's time zone (so "0 9 * * *" in
Europe/Berlin is 09:00 Berlin time, summer and winter), stored in UTC. Missed-slot policy, for
the slots that fell due while no scheduler ran:
- ``latest`` (default): run the latest missed slot only; the earlier ones are recorded missed;
- ``all``: run every missed slot, oldest first;
- ``none``: run none of them; only slots due from now on run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from streams.errors import DomainRunnerError

MissedPolicy = Literal["latest", "all", "none"]
# A slot not acted on within this long of its time counts as missed (a scheduler ticks every
# second; anything later was downtime).
ON_TIME = timedelta(minutes=5)


class BadSchedule(DomainRunnerError, ValueError):
    """A cron expression or time zone that cannot be used."""


def check(cron: str, timezone: str) -> None:
    """Refuse what croniter or the zone database would refuse later, with the reason."""
    if not croniter.is_valid(cron):
        raise BadSchedule(f"not a cron expression: {cron!r} (five fields: minute hour "
                          f"day-of-month month day-of-week)")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadSchedule(f"unknown time zone {timezone!r} (an IANA name such as "
                          f"Europe/Berlin)") from None


def slots(cron: str, timezone: str, after: datetime, until: datetime) -> Iterator[datetime]:
    """The slots in (after, until], in UTC, oldest first."""
    zone = ZoneInfo(timezone)
    for slot in croniter(cron, after.astimezone(zone), ret_type=datetime):
        if slot > until:
            return
        yield slot.astimezone(UTC)


def next_slot(cron: str, timezone: str, after: datetime) -> datetime:
    slot: datetime = croniter(cron, after.astimezone(ZoneInfo(timezone))).get_next(datetime)
    return slot.astimezone(UTC)


def owed(cron: str, timezone: str, *, last: datetime, now: datetime,
         policy: MissedPolicy) -> tuple[list[datetime], list[datetime]]:
    """(slots to run now, slots to record as missed) for the slots in (last, now]."""
    due = list(slots(cron, timezone, last, now))
    late = [slot for slot in due if now - slot > ON_TIME]
    on_time = [slot for slot in due if now - slot <= ON_TIME]
    if policy == "all" or not late:
        return due, []
    if policy == "latest":
        keep = on_time or late[-1:]
        return keep, [slot for slot in late if slot not in keep]
    return on_time, late
