"""The settings of the SLA clocks (``Settings.sla``): the desk's business calendars (working hours per weekday in a
time zone, public holidays of a country from the ``holidays`` package, extra closed dates), which calendar a case's
clock runs on, the statuses in which it stops, and whether a case about to breach is raised to the next level.

The targets themselves stay ``Settings.response_targets_hours`` and ``resolution_targets_hours``: business hours.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

logger = logging.getLogger(__name__)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday()'s order
MIDNIGHT = dt.time(0)


@lru_cache(maxsize=32)
def public_holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    """A country's (and subdivision's) public holidays, every year on demand; raises NotImplementedError for one
    the ``holidays`` package does not know."""
    return holidays.country_holidays(country, subdiv=subdivision)


class Calendar(BaseModel):
    """When a desk works: hours per weekday in its time zone, less public holidays and its own closed dates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_zone: str = Field("Asia/Tokyo", description="IANA time zone the hours are in, e.g. Asia/Tokyo, Europe/Berlin.")
    hours: dict[Weekday, tuple[dt.time, dt.time]] = Field(
        {day: (dt.time(9), dt.time(18)) for day in WEEKDAYS[:5]},
        description=(
            "Working hours per weekday (mon..sun) as [start, end], e.g. ['09:00', '18:00']; an end of '00:00' "
            "means midnight at the end of the day. A weekday left out is closed."
        ),
    )
    country: str | None = Field(
        "JP", description="Public holidays of this country (ISO code, e.g. JP, US, DE) close the desk; None: none."
    )
    subdivision: str | None = Field(None, description="The country's state or prefecture whose holidays apply too.")
    closed_dates: list[dt.date] = Field([], description="More days the desk is closed (company holidays).")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"time_zone {name!r} is not an IANA time zone (e.g. Asia/Tokyo, Europe/Berlin)") from exc
        return name

    @field_validator("hours")
    @classmethod
    def _hours_in_order(cls, hours: dict[Weekday, tuple[dt.time, dt.time]]) -> dict:
        if not hours:
            raise ValueError("hours must open the desk on at least one weekday")
        for day, (start, end) in hours.items():
            if start.tzinfo or end.tzinfo:
                raise ValueError(f"hours of {day}: give local times without an offset (the calendar has time_zone)")
            if end != MIDNIGHT and end <= start:
                raise ValueError(f"hours of {day}: the end {end:%H:%M} must come after the start {start:%H:%M}")
        return hours

    @model_validator(mode="after")
    def _known_holidays(self) -> Calendar:
        if self.country is None:
            if self.subdivision is not None:
                raise ValueError("subdivision needs a country")
            return self
        try:
            public_holidays(self.country, self.subdivision)
        except NotImplementedError as exc:
            raise ValueError(
                f"public holidays of country {self.country!r}, subdivision {self.subdivision!r} are unknown: {exc} "
                "(see holidays.list_supported_countries())"
            ) from exc
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def open_hours(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The desk's opening on a local date as two aware UTC instants, or None when it is closed that day."""
        span = self.hours.get(WEEKDAYS[day.weekday()])
        if span is None or day in self.closed_dates:
            return None
        if self.country is not None and day in public_holidays(self.country, self.subdivision):
            return None
        start, end = span
        opens = dt.datetime.combine(day, start, self.zone)
        closes = dt.datetime.combine(day + dt.timedelta(days=1) if end == MIDNIGHT else day, end, self.zone)
        return opens.astimezone(dt.UTC), closes.astimezone(dt.UTC)


class SlaSettings(BaseModel):
    """Business time for the SLA clocks: calendars, which one a case uses, pauses and raising before a breach."""

    model_config = ConfigDict(extra="forbid")

    calendars: dict[str, Calendar] = Field(
        {"default": Calendar()},
        description="Named business calendars: [sla.calendars.<name>] with time_zone, hours, country, closed_dates.",
    )
    default_calendar: str = Field("default", description="The calendar a case's clocks run on.")
    category_calendars: dict[str, str] = Field(
        {}, description="A category whose cases run on another calendar: {category: calendar name}."
    )
    paused_statuses: list[str] = Field(
        ["waiting_requester"], description="Statuses in which a case's clocks stop (waiting for the requester)."
    )
    raise_before_breach: bool = Field(
        False,
        description=(
            "Time-based escalation: a case below L3 about to breach its resolution target is raised to the next "
            "level's holder (escalation_holders), with a notice."
        ),
    )
    raise_share: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="Time-based escalation: a case is raised once less than this share of its resolution time is left.",
    )

    @model_validator(mode="after")
    def _calendars_named(self) -> SlaSettings:
        names = set(self.calendars)
        if unknown := ({self.default_calendar} | set(self.category_calendars.values())) - names:
            raise ValueError(f"unknown calendar(s) {', '.join(sorted(unknown))}; defined: {', '.join(sorted(names))}")
        return self

    def calendar(self, category: str | None = None) -> Calendar:
        """The calendar the clocks of a case in ``category`` run on."""
        return self.calendars[self.category_calendars.get(category or "", self.default_calendar)]
