"""Lenient date parsing for the dates news pages print and declare."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

__all__ = ["parse_datetime"]

_MIN_YEAR, _MAX_YEAR = 1970, 2100
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


def parse_datetime(value: str, default_tz: tzinfo = UTC) -> datetime | None:
    """A timezone-aware datetime from the date formats news pages use, or None.
    A time without a zone is taken in ``default_tz``."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 200:
        return None
    parsed = _epoch(text) or _iso(text) or _rfc822(text) or _patterns(text, default_tz)
    if parsed is None or not _MIN_YEAR <= parsed.year <= _MAX_YEAR:
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


def _rfc822(text: str) -> datetime | None:
    if not re.match(r"^(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d", text):
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


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
