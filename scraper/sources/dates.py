"""Date strings from feeds → aware datetimes, keeping the zone the source wrote.

feedparser's ``*_parsed`` struct_time is in UTC and reads a time without a zone
as UTC, so a site that writes Singapore time without an offset would move by
eight hours. The raw string is parsed here instead: RFC 822 (RSS), ISO 8601 /
W3C-DTF (Atom, dc:date, JSON Feed) and the loose ``2021/11/18 17:28`` or
``2021年11月18日 17:28`` shapes; a time without a zone is taken in the source's
zone. feedparser's struct_time is the fallback for shapes only it knows.
Out-of-range or odd years are returned as written: the pipeline decides.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

_ISO_START = re.compile(r"^\d{4}-?\d{2}")
_LOOSE = re.compile(
    r"""^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?
    (?:[T\s]*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})(?:[.,]\d+)?\s*秒?)?)?
    \s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$""",
    re.X | re.I,
)
_UNKNOWN_ZONE_RFC822 = re.compile(r"-0000\s*$")


def parse_date(
    raw: object, default_tz: tzinfo, fallback: time.struct_time | None = None
) -> datetime | None:
    """``raw`` as an aware datetime; ``fallback`` (UTC) when ``raw`` is not understood."""
    if isinstance(raw, str) and (parsed := parse_date_string(raw, default_tz)):
        return parsed
    if fallback is not None:
        try:
            return datetime.fromtimestamp(calendar.timegm(fallback), UTC)
        except (OverflowError, OSError, ValueError, TypeError):
            return None
    return None


def parse_date_string(raw: str, default_tz: tzinfo) -> datetime | None:
    text = " ".join(raw.split())
    if not text:
        return None
    if _ISO_START.match(text):
        return _parse_iso(text, default_tz)
    return _parse_rfc822(text, default_tz)


def _parse_iso(text: str, default_tz: tzinfo) -> datetime | None:
    try:
        return _aware(datetime.fromisoformat(text), default_tz)
    except ValueError:
        pass
    return _parse_loose(text, default_tz)


def _parse_loose(text: str, default_tz: tzinfo) -> datetime | None:
    m = _LOOSE.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second, zone = m.groups()
    try:
        naive = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    if zone is None:
        return naive.replace(tzinfo=default_tz)
    if zone.upper() in ("Z", "UTC", "GMT"):
        return naive.replace(tzinfo=UTC)
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    try:
        offset = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    except ValueError:
        return None
    return naive.replace(tzinfo=offset)


def _parse_rfc822(text: str, default_tz: tzinfo) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return _parse_loose(text, default_tz)
    if parsed.tzinfo is None and _UNKNOWN_ZONE_RFC822.search(text):
        # RFC 2822: "-0000" is UTC with the local zone unknown.
        return parsed.replace(tzinfo=UTC)
    # A missing or unknown zone name ("SGT") leaves it naive: the source's zone.
    return _aware(parsed, default_tz)


def _aware(value: datetime, default_tz: tzinfo) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=default_tz)
