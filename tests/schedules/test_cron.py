"""Cron slots in a time zone, and the missed-slot policy, against hand-worked calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.schedules import BadSchedule, check, next_slot, owed, slots


def test_a_daily_slot_follows_the_zone_across_daylight_saving() -> None:
    # 09:00 in Berlin is 08:00 UTC in winter (CET) and 07:00 UTC in summer (CEST); Berlin
    # moved its clocks on 2026-03-29.
    found = list(slots("0 9 * * *", "Europe/Berlin", datetime(2026, 3, 27, 12, tzinfo=UTC),
                       datetime(2026, 3, 31, 12, tzinfo=UTC)))
    assert found == [datetime(2026, 3, 28, 8, tzinfo=UTC), datetime(2026, 3, 29, 7, tzinfo=UTC),
                     datetime(2026, 3, 30, 7, tzinfo=UTC), datetime(2026, 3, 31, 7, tzinfo=UTC)]
    assert next_slot("0 9 * * 1", "UTC", datetime(2026, 12, 1, tzinfo=UTC)) == datetime(
        2026, 12, 7, 9, tzinfo=UTC)  # the next Monday


@pytest.mark.parametrize(("cron", "zone", "error"), [
    ("0 9 * *", "UTC", "not a cron expression"),
    ("61 * * * *", "UTC", "not a cron expression"),
    ("0 9 * * *", "Mars/Olympus", "unknown time zone"),
])
def test_a_bad_expression_or_zone_is_named(cron: str, zone: str, error: str) -> None:
    with pytest.raises(BadSchedule, match=error):
        check(cron, zone)


def test_after_downtime_only_the_latest_missed_slot_runs_by_default() -> None:
    last = datetime(2026, 12, 1, 9, tzinfo=UTC)
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)  # three daily slots passed while down
    run, missed = owed("0 9 * * *", "UTC", last=last, now=now, policy="latest")
    assert run == [datetime(2026, 12, 4, 9, tzinfo=UTC)]
    assert missed == [datetime(2026, 12, 2, 9, tzinfo=UTC), datetime(2026, 12, 3, 9, tzinfo=UTC)]
    run, missed = owed("0 9 * * *", "UTC", last=last, now=now, policy="all")
    assert (len(run), missed) == (3, [])
    run, missed = owed("0 9 * * *", "UTC", last=last, now=now, policy="none")
    assert (run, len(missed)) == ([], 3)


def test_a_slot_on_time_runs_whatever_the_policy() -> None:
    slot = datetime(2026, 12, 4, 9, tzinfo=UTC)
    for policy in ("latest", "all", "none"):
        run, missed = owed("0 9 * * *", "UTC", last=slot - timedelta(days=1),
                           now=slot + timedelta(seconds=2), policy=policy)  # type: ignore[arg-type]
        assert (run, missed) == ([slot], []), policy
