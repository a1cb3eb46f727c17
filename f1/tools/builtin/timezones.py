"""Dates, times and time zones (zoneinfo): now in a place, conversion between zones, durations, weekdays.

Places are IANA names ("Europe/Paris"), common city or country names ("Paris", "New York", "Japan"), "UTC", or
fixed offsets ("UTC+5:30")."""

from __future__ import annotations

import difflib
import re
import zoneinfo
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache

from typing_extensions import TypedDict

from f1.errors import ToolCallError
from f1.tools.builtin._common import with_examples
from f1.tools.builtin.cities import CITY_ZONES, COUNTRY_ZONES
from f1.tools.registry import tool

_OFFSET = re.compile(r"^(?:UTC|GMT)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?$", re.IGNORECASE)


@cache
def _names() -> dict[str, str]:
    """Every known place name, casefolded, to its IANA zone."""
    names = {zone.casefold(): zone for zone in zoneinfo.available_timezones()}
    names.update({name.casefold(): zone for name, zone in COUNTRY_ZONES.items()})
    names.update({name.casefold(): zone for name, zone in CITY_ZONES.items()})
    names.update({"utc": "UTC", "gmt": "UTC", "z": "UTC"})
    return names


def resolve_zone(place: str) -> tzinfo:
    """The time zone of an IANA name, a city or country name, "UTC" or a "UTC+h[:mm]" offset."""
    text = " ".join(place.strip().split())
    offset = _OFFSET.match(text)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > timedelta(hours=14):
            raise ToolCallError(f"UTC offset out of range: {place!r}")
        return timezone(-delta if sign == "-" else delta)
    names = _names()
    for candidate in (text, text.replace(" ", "_"), text.split(",")[0].strip()):
        zone = names.get(candidate.casefold())
        if zone:
            return zoneinfo.ZoneInfo(zone)
    close = difflib.get_close_matches(text.casefold(), list(names), n=3, cutoff=0.8)
    hint = f"; did you mean {', '.join(repr(names[c]) for c in close)}?" if close else ""
    raise ToolCallError(f"unknown place or time zone {place!r}{hint}")


def _parse(text: str, zone: tzinfo) -> datetime:
    """An ISO date/datetime, "HH:MM" (today), "now" or "today"; naive times are read in `zone`."""
    value = text.strip()
    now = datetime.now(zone)
    if value.casefold() in ("now", ""):
        return now.replace(microsecond=0)
    if value.casefold() == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    clock = _CLOCK.match(value)
    if clock:
        hour, minute, second, meridiem = clock.groups()
        hour = int(hour) % 12 + (12 if meridiem.lower().startswith("p") else 0) if meridiem else int(hour)
        try:
            return now.replace(hour=hour, minute=int(minute), second=int(second or 0), microsecond=0)
        except ValueError as exc:
            raise ToolCallError(f"bad time {text!r}: {exc}") from None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ToolCallError(f"cannot read {text!r}: use ISO 8601 (2025-03-14 or 2025-03-14T09:30), HH:MM or 'now'") from None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


class TimeInfo(TypedDict):
    zone: str
    datetime: str
    date: str
    time: str
    weekday: str
    utc_offset_hours: float


def _info(moment: datetime) -> TimeInfo:
    offset = moment.utcoffset() or timedelta(0)
    return TimeInfo(
        zone=str(moment.tzinfo),
        datetime=moment.isoformat(timespec="seconds"),
        date=moment.date().isoformat(),
        time=moment.strftime("%H:%M"),
        weekday=moment.strftime("%A"),
        utc_offset_hours=offset.total_seconds() / 3600,
    )


@with_examples({"location": "Tokyo"}, {"location": "America/New_York"})
@tool(idempotent=True, read_only=True, timeout=5)
def current_time(location: str = "UTC") -> TimeInfo:
    """The current date and time in a place: a city ("Paris", "New York"), a country, an IANA time zone
    ("Asia/Tokyo"), "UTC" or an offset ("UTC+5:30"). Also gives the weekday and the UTC offset in hours.

    Args:
        location: the city, country or time zone.
    """
    return _info(datetime.now(resolve_zone(location)).replace(microsecond=0))


@with_examples({"time": "09:30", "from_location": "Paris", "to_location": "Tokyo"})
@tool(idempotent=True, read_only=True, timeout=5)
def convert_time(time: str, from_location: str, to_location: str) -> TimeInfo:
    """Convert a time from one place's time zone to another's (e.g. 09:30 in Paris -> Tokyo time).

    Args:
        time: "HH:MM" (today), an ISO date-time such as "2025-03-14T09:30", or "now".
        from_location: the city, country or time zone the time is given in.
        to_location: the city, country or time zone to convert to.
    """
    moment = _parse(time, resolve_zone(from_location))
    return _info(moment.astimezone(resolve_zone(to_location)))


@with_examples({"start": "2025-03-14T09:30", "days": 10, "hours": 5}, {"start": "now", "minutes": 90, "location": "London"})
@tool(idempotent=True, read_only=True, timeout=5)
def add_duration(
    start: str,
    weeks: float = 0,
    days: float = 0,
    hours: float = 0,
    minutes: float = 0,
    seconds: float = 0,
    location: str = "UTC",
) -> TimeInfo:
    """Add (or, with negative numbers, subtract) a duration to a date or date-time, on the local clock.

    Args:
        start: an ISO date or date-time ("2025-03-14", "2025-03-14T09:30"), "HH:MM", "today" or "now".
        weeks: weeks to add.
        days: days to add.
        hours: hours to add.
        minutes: minutes to add.
        seconds: seconds to add.
        location: the city, country or time zone of start (when start has no UTC offset).
    """
    moment = _parse(start, resolve_zone(location))
    try:
        delta = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
        return _info(moment + delta)
    except OverflowError:
        raise ToolCallError("the date is out of range (years 1 to 9999)", tool="add_duration") from None


class Difference(TypedDict):
    days: float
    hours: float
    minutes: float
    seconds: float
    whole_days: int


@with_examples({"start": "2025-01-01", "end": "2025-12-25"}, {"start": "today", "end": "2026-01-01"})
@tool(idempotent=True, read_only=True, timeout=5)
def date_difference(start: str, end: str, location: str = "UTC") -> Difference:
    """The time from start to end (negative when end is earlier), in days, hours, minutes and seconds.

    Args:
        start: an ISO date or date-time, "HH:MM", "today" or "now".
        end: an ISO date or date-time, "HH:MM", "today" or "now".
        location: the city, country or time zone of dates without a UTC offset.
    """
    zone = resolve_zone(location)
    delta = _parse(end, zone) - _parse(start, zone)
    total = delta.total_seconds()
    return Difference(
        days=total / 86400, hours=total / 3600, minutes=total / 60, seconds=total, whole_days=int(total // 86400)
    )


class Weekday(TypedDict):
    date: str
    weekday: str
    iso_weekday: int


@with_examples({"date": "2025-07-14"})
@tool(idempotent=True, read_only=True, timeout=5)
def weekday(date: str) -> Weekday:
    """The day of the week of a date (iso_weekday: Monday is 1, Sunday 7).

    Args:
        date: an ISO date such as "2025-07-14", or "today".
    """
    day = _parse(date, timezone.utc).date()
    return Weekday(date=day.isoformat(), weekday=day.strftime("%A"), iso_weekday=day.isoweekday())


TOOLS = [current_time, convert_time, add_duration, date_difference, weekday]
