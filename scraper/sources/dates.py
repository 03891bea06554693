"""Feed dates → aware datetimes, keeping the zone the source wrote.

feedparser's ``*_parsed`` struct_time is in UTC and reads a time without a zone
as UTC, so a site that writes Singapore time without an offset would move by
eight hours. The raw string is parsed by ``scraper.dates`` instead (the one
parser, any year taken as written: the pipeline decides); feedparser's
struct_time is the fallback for shapes only it knows.
"""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime, tzinfo

from scraper.dates import parse_datetime


def parse_date(
    raw: object, default_tz: tzinfo, fallback: time.struct_time | None = None
) -> datetime | None:
    """``raw`` as an aware datetime; ``fallback`` (UTC) when ``raw`` is not understood."""
    if isinstance(raw, str) and (parsed := parse_datetime(raw, default_tz, years=None)):
        return parsed
    if fallback is not None:
        try:
            return datetime.fromtimestamp(calendar.timegm(fallback), UTC)
        except (OverflowError, OSError, ValueError, TypeError):
            return None
    return None
