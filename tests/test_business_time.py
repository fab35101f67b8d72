"""Business time on the desk's calendars: weekends, Japanese holidays, midnight, time zones and the settings that
describe them, hostile ones included."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from pipeline.desk.business_time import add_working_time, working_time
from pipeline.desk.sla_config import SlaSettings
from pipeline.settings import Settings

H = dt.timedelta(hours=1)
TOKYO = dt.timezone(dt.timedelta(hours=9))


def tokyo(*args: int) -> dt.datetime:
    """A Tokyo wall-clock instant, as the UTC instant the knowledge base keeps."""
    return dt.datetime(*args, tzinfo=TOKYO).astimezone(dt.UTC)


def office(sla: dict) -> Settings:
    """Settings with these SLA settings, whole (a dict given to Settings would be merged into the tests' own
    calendar from the environment, tests/conftest.py)."""
    return Settings(sla=SlaSettings.model_validate(sla))


@pytest.fixture(scope="module")
def settings() -> Settings:
    # The defaults: Asia/Tokyo, 9:00-18:00 Monday to Friday, Japanese public holidays (given here: the tests' own
    # default, tests/conftest.py, is open around the clock).
    return Settings(sla=SlaSettings())


def test_the_defaults_are_a_japanese_office_day(settings: Settings) -> None:
    # Wednesday 2026-12-02: 9:00-18:00 is nine hours; the evening and the night count nothing.
    assert working_time(settings, tokyo(2026, 12, 2, 8), tokyo(2026, 12, 2, 20)) == 9 * H
    assert working_time(settings, tokyo(2026, 12, 2, 18), tokyo(2026, 12, 3, 9)) == dt.timedelta(0)
    assert working_time(settings, tokyo(2026, 12, 2, 17), tokyo(2026, 12, 2, 10)) == dt.timedelta(0)


def test_a_weekend_counts_nothing(settings: Settings) -> None:
    # Friday 2026-12-04 16:00 to Monday 12-07 11:00: two hours on Friday, two on Monday.
    friday, monday = tokyo(2026, 12, 4, 16), tokyo(2026, 12, 7, 11)
    assert monday - friday == 67 * H
    assert working_time(settings, friday, monday) == 4 * H
    assert add_working_time(settings, friday, 4 * H) == monday
    assert add_working_time(settings, monday, -4 * H) == friday


def test_a_japanese_public_holiday_counts_nothing(settings: Settings) -> None:
    # Monday 2026-11-23 is Labour Thanksgiving Day: Friday 11-20 17:00 to Tuesday 11-24 10:00 is two hours.
    assert working_time(settings, tokyo(2026, 11, 20, 17), tokyo(2026, 11, 24, 10)) == 2 * H
    assert add_working_time(settings, tokyo(2026, 11, 20, 17), 2 * H) == tokyo(2026, 11, 24, 10)
    # Golden Week 2026: 4, 5 and 6 May are holidays, so 1 May's evening reaches 7 May.
    assert add_working_time(settings, tokyo(2026, 5, 1, 17), 2 * H) == tokyo(2026, 5, 7, 10)


def test_a_span_across_midnight_and_whole_days(settings: Settings) -> None:
    # A case reported at 23:30 on Tuesday starts counting at 9:00 on Wednesday.
    assert add_working_time(settings, tokyo(2026, 12, 1, 23, 30), 30 * dt.timedelta(minutes=1)) == tokyo(
        2026, 12, 2, 9, 30
    )
    assert working_time(settings, tokyo(2026, 12, 1, 23, 30), tokyo(2026, 12, 2, 0, 30)) == dt.timedelta(0)
    # Eight business hours from Tuesday 17:00: one on Tuesday, seven on Wednesday.
    assert add_working_time(settings, tokyo(2026, 12, 1, 17), 8 * H) == tokyo(2026, 12, 2, 16)
    # A span ending as the desk closes ends at the closing, not at the next opening; and the other way round.
    assert add_working_time(settings, tokyo(2026, 12, 2, 9), 9 * H) == tokyo(2026, 12, 2, 18)
    assert add_working_time(settings, tokyo(2026, 12, 2, 18), -9 * H) == tokyo(2026, 12, 2, 9)
    assert add_working_time(settings, tokyo(2026, 12, 2, 12), dt.timedelta(0)) == tokyo(2026, 12, 2, 12)


def test_working_and_adding_agree_over_weeks(settings: Settings) -> None:
    start = tokyo(2026, 12, 18, 13, 17)  # across the new year, when Japanese offices close for 1-3 January (a holiday)
    for hours in (0.5, 5, 9, 23, 72, 120):
        end = add_working_time(settings, start, hours * H)
        assert working_time(settings, start, end) == hours * H
        assert add_working_time(settings, end, -hours * H) == start


def test_the_calendar_of_a_category_in_another_time_zone() -> None:
    settings = office(
        {
            "calendars": {
                "default": {},
                "berlin": {
                    "time_zone": "Europe/Berlin",
                    "hours": {"mon": ["08:00", "16:00"], "sat": ["10:00", "00:00"]},
                    "country": "DE",
                    "subdivision": "BY",
                    "closed_dates": ["2026-12-07"],
                },
            },
            "category_calendars": {"hardware": "berlin"},
        }
    )
    saturday = dt.datetime(2026, 12, 5, 9, tzinfo=dt.UTC)  # 10:00 in Berlin, 18:00 in Tokyo
    monday = dt.datetime(2026, 12, 14, 23, tzinfo=dt.UTC)
    # Berlin: Saturdays 5 and 12 December 10:00 to midnight (14 h each), Monday 7 closed, Monday 14 eight hours.
    assert working_time(settings, saturday, monday, category="hardware") == 36 * H
    assert add_working_time(settings, saturday, 14 * H, category="hardware") == dt.datetime(
        2026, 12, 5, 23, tzinfo=dt.UTC
    )
    # Any other category: Tokyo, Monday 7 to Monday 14 December (08:00 on the 15th in Tokyo), nine hours a day.
    assert working_time(settings, saturday, monday, category="network") == 54 * H
    assert working_time(settings, saturday, monday) == 54 * H


def test_daylight_saving_changes_count_as_the_desk_saw_them() -> None:
    settings = office(
        {
            "calendars": {
                "default": {"time_zone": "Europe/London", "country": "GB", "hours": {"sun": ["00:00", "00:00"]}}
            }
        }
    )
    # Sunday 29 March 2026, when London's clocks go forward: the day lasts 23 hours.
    day = dt.datetime(2026, 3, 29, tzinfo=dt.UTC)
    assert working_time(settings, day - 2 * H, day + 26 * H) == 23 * H


def test_naive_instants_are_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="aware"):
        working_time(settings, dt.datetime(2026, 12, 2, 9), tokyo(2026, 12, 2, 10))


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        ({"country": "XX"}, "public holidays of country 'XX'"),
        ({"country": "JP", "subdivision": "Atlantis"}, "subdivision 'Atlantis'"),
        ({"country": None, "subdivision": "13"}, "subdivision needs a country"),
        ({"time_zone": "Asia/Nowhere"}, "not an IANA time zone"),
        ({"time_zone": "../../etc/passwd"}, "not an IANA time zone"),
        ({"hours": {"mon": ["18:00", "09:00"]}}, "must come after the start"),
        ({"hours": {"mon": ["09:00", "09:00"]}}, "must come after the start"),
        ({"hours": {"mon": ["25:00", "26:00"]}}, "hours"),
        ({"hours": {"monday": ["09:00", "18:00"]}}, "hours"),
        ({"hours": {}}, "at least one weekday"),
        ({"closed_dates": ["<script>"]}, "closed_dates"),
        ({"opening": "always"}, "opening"),
    ],
)
def test_a_wrong_calendar_is_refused_with_what_is_wrong(calendar: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        office({"calendars": {"default": calendar}})


def test_a_calendar_name_must_exist() -> None:
    with pytest.raises(ValidationError, match="unknown calendar"):
        office({"default_calendar": "office"})
    with pytest.raises(ValidationError, match="unknown calendar"):
        office({"category_calendars": {"network": "night-shift"}})


def test_the_calendar_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_KB_SLA__PAUSED_STATUSES", '["waiting_requester", "waiting_vendor"]')
    assert Settings().sla.paused_statuses == ["waiting_requester", "waiting_vendor"]
