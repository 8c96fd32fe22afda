"""Times and zones of digests: what a person types (a time, a zone by city or offset), when a digest is next
due in the subscriber's local time (DST included), and quiet hours. Pure functions of a subscription."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from bot.digests.zones import zone_of_city
from storage.models import Frequency, Subscription

# Offered as buttons; anything else can be typed.
COMMON_ZONES = (
    "Asia/Almaty",
    "Asia/Tashkent",
    "Asia/Bishkek",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Asia/Dubai",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "UTC",
)
DEFAULT_LOCAL_TIME = "09:00"

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+\-−])\s*(\d{1,2})(?:[:.]?(\d{2}))?$", re.IGNORECASE)
_UTC_NAMES = {"utc", "gmt", "z", "utc+0", "utc-0", "gmt+0", "+0", "-0", "0"}
_TIME = re.compile(
    r"^(\d{1,2})(?:\s*[:.,\-]\s*(\d{2})|\s+(\d{2})|\s*[hч]\s*(\d{2})?)?$|^(\d{2})(\d{2})$", re.IGNORECASE
)


# -- zones and times ---------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """Lower-case name → IANA name, plus each zone's last part ("almaty" → "Asia/Almaty") when unique."""
    names = {z.lower(): z for z in available_timezones()}
    by_city: dict[str, list[str]] = {}
    for z in available_timezones():
        if "/" in z and not z.startswith(("Etc/", "SystemV/")):
            by_city.setdefault(z.rsplit("/", 1)[1].lower().replace("_", " "), []).append(z)
    for city, zones in by_city.items():
        if len(zones) == 1:
            names.setdefault(city, zones[0])
            names.setdefault(city.replace(" ", "_"), zones[0])
    return names


def parse_timezone(text: str) -> str | None:
    """What a person typed as a zone: an IANA name in any case, a city in Russian, Kazakh or English
    ("Астана", "Ақтөбе", "Almaty"), or a UTC offset ("+5", "UTC+05:30", "GMT-3"). Returns the stored form
    (the IANA name, or "UTC+05:30"), or None."""
    raw = " ".join(text.strip().split())
    if not raw or len(raw) > 64:
        return None
    if raw.lower() in _UTC_NAMES:
        return "UTC"
    city = zone_of_city(raw)
    if city is not None:
        return city
    m = _OFFSET.match(raw)
    if m:
        sign = -1 if m.group(1) in "-−" else 1
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        total = sign * (hours * 60 + minutes)
        if minutes >= 60 or not -12 * 60 <= total <= 14 * 60:
            return None
        if total == 0:
            return "UTC"
        return f"UTC{'+' if total > 0 else '-'}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
    return _zone_names().get(raw.lower()) or _zone_names().get(raw.lower().replace(" ", "_"))


def zone(name: str) -> tzinfo:
    """The tzinfo of a stored zone name; raises ValueError for one that is not (a corrupted row)."""
    if name == "UTC":
        return UTC
    if name.startswith("UTC") and len(name) == 9:
        sign = -1 if name[3] == "-" else 1
        return timezone(sign * timedelta(hours=int(name[4:6]), minutes=int(name[7:9])))
    if name not in _zone_names().values():
        raise ValueError(f"unknown time zone {name!r}")
    return ZoneInfo(name)


def utc_offset(name: str, at: datetime) -> str:
    """ "UTC+5", "UTC-3:30": the zone's offset at that moment, for buttons and confirmations."""
    offset = at.astimezone(zone(name)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")


def parse_local_time(text: str) -> str | None:
    """ "9", "9:30", "09.30", "07 30", "0730", "21h" → "HH:MM"; None for anything else."""
    m = _TIME.match(text.strip())
    if not m:
        return None
    if m.group(5) is not None:
        hours, minutes = int(m.group(5)), int(m.group(6))
    else:
        hours, minutes = int(m.group(1)), int(m.group(2) or m.group(3) or m.group(4) or 0)
    if hours > 23 or minutes > 59:
        return None
    return f"{hours:02d}:{minutes:02d}"


def next_due(
    frequency: Frequency, local_time: str, zone_name: str, weekday: int | None, after: datetime
) -> datetime | None:
    """The first moment strictly after `after` (UTC) when the digest is due; None for instant digests.

    Computed in the subscriber's zone, a day at a time, so that a DST change moves nothing: 09:00 stays
    09:00 local. A time that does not exist that day (a spring-forward gap) happens as the clock jumps
    over it (02:30 → 03:30, Python's fold=0 reading); one that exists twice (autumn) happens once, the
    first time.
    """
    if frequency is Frequency.INSTANT:
        return None
    tz = zone(zone_name)
    at = time.fromisoformat(local_time)
    day = after.astimezone(tz).date()
    # Eight days cover a weekly slot; the ninth covers a local date that lags `after` by a gap day.
    for offset in range(9):
        candidate_day = day + timedelta(days=offset)
        if frequency is Frequency.WEEKLY and candidate_day.weekday() != (weekday or 0):
            continue
        candidate = datetime.combine(candidate_day, at, tzinfo=tz).astimezone(UTC)
        if candidate > after:
            return candidate
    raise AssertionError("a slot exists in every week")  # pragma: no cover


def _quiet_window(quiet_from: str | None, quiet_to: str | None) -> tuple[time, time] | None:
    if not quiet_from or not quiet_to or quiet_from == quiet_to:
        return None
    return time.fromisoformat(quiet_from), time.fromisoformat(quiet_to)


def in_quiet_hours(sub: Subscription, at: datetime) -> bool:
    """Is `at` inside the subscription's quiet hours (which may span midnight: 22:00–07:00)?"""
    window = _quiet_window(sub.quiet_from, sub.quiet_to)
    if window is None:
        return False
    start, end = window
    local = at.astimezone(zone(sub.timezone)).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_end(sub: Subscription, at: datetime) -> datetime:
    """The first end of the quiet hours after `at` (UTC)."""
    window = _quiet_window(sub.quiet_from, sub.quiet_to)
    assert window is not None
    tz = zone(sub.timezone)
    day = at.astimezone(tz).date()
    for offset in range(3):
        candidate = datetime.combine(day + timedelta(days=offset), window[1], tzinfo=tz).astimezone(UTC)
        if candidate > at:
            return candidate
    raise AssertionError("quiet hours end within two days")  # pragma: no cover


def is_first(sub: Subscription) -> bool:
    """No digest was ever sent to it: its next one is its first (with the newest stories)."""
    return sub.last_digest_at is None


def due_after(sub: Subscription, after: datetime) -> datetime | None:
    """The next digest time; one that falls inside the quiet hours moves to their end."""
    due = next_due(sub.frequency, sub.local_time, sub.timezone, sub.weekday, after)
    if due is not None and in_quiet_hours(sub, due):
        return quiet_end(sub, due)
    return due
