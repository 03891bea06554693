"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) → ParsedSource.

feedparser does not read JSON Feed, so it is read here. Items that are not
objects, or have neither a usable link nor an http(s) id, are skipped.
"""

from __future__ import annotations

import json
import re
from datetime import tzinfo
from typing import Any

from scraper.errors import ParseError
from scraper.sources.common import (
    http_url,
    is_absolute_http,
    plain_text,
    skipped_problem,
    text_to_html,
    unique_entries,
)
from scraper.sources.dates import parse_date
from scraper.types import Entry, ParsedSource

_VERSION = re.compile(r"^https?://jsonfeed\.org/version/1(\.\d+)?/?$")
_JSON_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*[{\[]")


def looks_like_json(content: bytes) -> bool:
    """A body starting with ``{`` or ``[`` cannot be XML; JSON Feed is the only guess."""
    return bool(_JSON_START.match(content[:1024]))


def parse_json_feed(content: bytes, url: str, *, default_tz: tzinfo) -> ParsedSource:
    problem = None
    try:
        doc = json.loads(content)
    except UnicodeDecodeError:
        problem = "invalid UTF-8 replaced"
        doc = _loads(content.decode("utf-8", "replace"), url)
    except json.JSONDecodeError as exc:
        raise ParseError(url, f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise ParseError(url, "invalid JSON: nested too deeply") from exc
    if not isinstance(doc, dict) or not _VERSION.match(_str(doc.get("version")) or ""):
        raise ParseError(url, "not a feed: JSON, but not a JSON Feed")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError(url, "JSON Feed without an items list")
    feed_author = _author(doc)
    built = [_entry(item, url, default_tz, feed_author) for item in items]
    entries = unique_entries(built)
    skipped = [
        item.get("url") if isinstance(item, dict) else None
        for item, entry in zip(items, built, strict=True)
        if entry is None
    ]
    notes = (problem, skipped_problem(skipped, len(items), "items"))
    problem = "; ".join(note for note in notes if note) or None
    return ParsedSource(entries=entries, title=plain_text(doc.get("title")), problem=problem)


def _loads(text: str, url: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(url, f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise ParseError(url, "invalid JSON: nested too deeply") from exc


def _entry(item: object, base: str, default_tz: tzinfo, feed_author: str | None) -> Entry | None:
    if not isinstance(item, dict):
        return None
    raw_id = item.get("id")
    item_id = str(raw_id).strip() if isinstance(raw_id, str | int) else ""
    link = http_url(item.get("url"), base) or http_url(item.get("external_url"), base)
    if link is None and item_id and is_absolute_http(item_id):
        link = http_url(item_id, base)
    if link is None:
        return None
    published = parse_date(item.get("date_published"), default_tz) or parse_date(
        item.get("date_modified"), default_tz
    )
    tags = item.get("tags")
    return Entry(
        id=item_id or link,
        link=link,
        title=plain_text(item.get("title")),
        published=published,
        content=_content(item),
        author=_author(item) or feed_author,
        tags=_unique(plain_text(t) for t in tags) if isinstance(tags, list) else (),
    )


def _content(item: dict[str, Any]) -> str | None:
    if html := _str(item.get("content_html")):
        return html
    for key in ("content_text", "summary"):
        if text := _str(item.get(key)):
            return text_to_html(text)
    return None


def _author(obj: dict[str, Any]) -> str | None:
    """1.1 ``authors`` (first with a name), else 1.0 ``author``."""
    authors = obj.get("authors")
    candidates = authors if isinstance(authors, list) else []
    candidates = [*candidates, obj.get("author")]
    for candidate in candidates:
        if isinstance(candidate, dict) and (name := plain_text(candidate.get("name"))):
            return name
    return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _unique(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))
