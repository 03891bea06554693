"""The one lenient date parser: the dates feeds, news pages and their metadata write.

ISO 8601 / W3C-DTF (Atom, JSON Feed, JSON-LD), RFC 822 (RSS; ``-0000`` is UTC with
the local zone unknown), Unix seconds or milliseconds, and the loose shapes pages
print (``2021/11/18 17:28``, ``2021年11月18日 下午5:28``, ``November 18, 2021 5:28 pm``,
also inside other words: ``发布 / …``). A time without a zone is taken in
``default_tz``: a site that writes Singapore time without an offset stays there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

__all__ = ["YEARS", "parse_datetime"]

YEARS = (1970, 2100)  # what a page's date must fall in to be believed
_FRACTION = re.compile(r"(\.\d{6})\d+")
_ZONE = r"(?:\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?"
_TIME = (
    r"(?:(?:T|\s+|\s*-\s*|,\s*)(\d{1,2})[:：](\d{2})(?:[:：](\d{2})(?:\.\d+)?)?"
    r"\s*([AaPp]\.?[Mm]\.?)?)?"
)
_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + _ZONE)
_MDY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME + _ZONE)
_CJK = re.compile(
    r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(?:(上午|下午|晚上|早上|中午)?\s*"
    r"(\d{1,2})\s*[:：时點点]\s*(\d{1,2})?\s*分?(?:[:：](\d{2}))?\s*([AaPp]\.?[Mm]\.?)?)?"
)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_MONTH = r"(" + "|".join(_MONTH_NAMES) + r")[a-z]*\.?"
_TEXT_DMY = re.compile(
    r"(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(\d{4})" + _TIME + _ZONE, re.I
)
_TEXT_MDY = re.compile(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})" + _TIME + _ZONE, re.I)
_EPOCH = re.compile(r"^\d{9,14}(?:\.\d+)?$")
_RFC822 = re.compile(r"^(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d")
_UNKNOWN_ZONE = re.compile(r"-0000\s*$")


def parse_datetime(
    value: object, default_tz: tzinfo = UTC, *, years: tuple[int, int] | None = YEARS
) -> datetime | None:
    """A timezone-aware datetime, or None. ``years``: the range a date must fall in
    to be believed (a page's ``0001-01-01`` is no date); None takes any year as
    written (feeds: the pipeline decides)."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text or len(text) > 200:
        return None
    parsed = _epoch(text) or _iso(text) or _rfc822(text, default_tz) or _patterns(text, default_tz)
    if parsed is None or (years is not None and not years[0] <= parsed.year <= years[1]):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=default_tz)


def _epoch(text: str) -> datetime | None:
    if not _EPOCH.match(text):
        return None
    number = float(text)
    if len(text.split(".", 1)[0]) >= 12:  # milliseconds
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _iso(text: str) -> datetime | None:
    if not text[:4].isdigit():
        return None
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", text.replace(" T", "T")))
    except ValueError:
        return None


def _rfc822(text: str, default_tz: tzinfo) -> datetime | None:
    if not _RFC822.match(text):
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None and _UNKNOWN_ZONE.search(text):
        return parsed.replace(tzinfo=UTC)  # RFC 2822: "-0000" is UTC, the local zone unknown
    # no zone, or a name it does not know ("SGT"): the source's zone
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=default_tz)


def _zone(value: str | None) -> tzinfo | None:
    if not value:
        return None
    if value.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if value[0] == "-" else 1
    digits = value[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _build(parts: Sequence[str | None], default_tz: tzinfo) -> datetime | None:
    """``parts``: year, month, day, hour, minute, second, am/pm, zone."""
    year, month, day, hour, minute, second, ampm, zone = parts
    h = int(hour or 0)
    if ampm and ampm[0].lower() == "p" and h < 12:
        h += 12
    elif ampm and ampm[0].lower() == "a" and h == 12:
        h = 0
    try:
        return datetime(
            int(year or 0), int(month or 0), int(day or 0), h, int(minute or 0),
            int(second or 0), tzinfo=_zone(zone) or default_tz,
        )  # fmt: skip
    except ValueError:
        return None


def _patterns(text: str, default_tz: tzinfo) -> datetime | None:
    if m := _CJK.search(text):
        year, month, day, part, hour, minute, second, ampm = m.groups()
        if part in ("下午", "晚上"):
            ampm = "pm"
        elif part in ("上午", "早上"):
            ampm = "am"
        if part == "中午" and hour and int(hour) < 11:
            ampm = "pm"
        return _build((year, month, day, hour, minute, second, ampm, None), default_tz)
    if m := _YMD.search(text):
        return _build(m.groups(), default_tz)
    if m := _MDY.search(text):
        month, day, year, *rest = m.groups()
        return _build((year, month, day, *rest), default_tz)
    if m := _TEXT_DMY.search(text):
        day, month, year, *rest = m.groups()
        return _build((year, str(_MONTHS[month[:3].lower()]), day, *rest), default_tz)
    if m := _TEXT_MDY.search(text):
        month, day, year, *rest = m.groups()
        return _build((year, str(_MONTHS[month[:3].lower()]), day, *rest), default_tz)
    return None
