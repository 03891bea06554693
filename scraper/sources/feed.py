"""Feed documents → ParsedSource: RSS 0.9x/1.0/2.0 and Atom via feedparser,
JSON Feed via ``jsonfeed``. Pure: bytes in, records out, no I/O.

Before feedparser runs, ``xmlprep`` decodes the bytes (GBK and friends read as
GB18030) and removes entity declarations, so nothing is fetched, no local file
is read and no entity expansion can blow up. The bytes go to feedparser inside
a ``BytesIO``: given bare bytes it would treat a body such as ``/etc/passwd``
as a file name to open.

``Entry.content`` is the feed's HTML as written (feedparser's sanitiser is off,
because it drops lazy-image attributes, ``<picture>`` and embeds); relative URLs
in it are resolved. It must go through the extract stage's cleaner like any page.

A feed that cannot be read at all raises ``ParseError``; one that was readable
despite errors gives its entries with ``problem`` set to the parser's reason.
"""

from __future__ import annotations

import io
import re
import xml.sax
from collections.abc import Mapping
from datetime import UTC, tzinfo
from typing import Any

from scraper.errors import ParseError
from scraper.sources.common import (
    html_text,
    http_url,
    is_absolute_http,
    literal_text,
    plain_text,
    skipped_problem,
    text_to_html,
    unique_entries,
)
from scraper.sources.dates import parse_date
from scraper.sources.jsonfeed import looks_like_json, parse_json_feed
from scraper.sources.xmlprep import prepare_xml
from scraper.types import Entry, ParsedSource

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
_HTML_PAGE = re.compile(rb"<!doctype\s+html|<html[\s>]", re.I)


def parse_feed(
    content: bytes,
    url: str,
    *,
    default_tz: tzinfo = UTC,
    content_type: str | None = None,
    encoding: str | None = None,
) -> ParsedSource:
    """Entries of the feed in ``content``, fetched from ``url``.

    Times written without a zone are taken in ``default_tz``. The format is
    recognised by content (a body starting with ``{`` or ``[`` is read as JSON
    Feed, whatever its type); ``content_type`` only sharpens the error message.
    ``encoding`` (the fetcher's reading of the HTTP charset and the bytes) decodes
    a document with neither a byte-order mark nor an XML declaration.
    """
    if not content.strip():
        raise ParseError(url, "empty body")
    if looks_like_json(content):
        return parse_json_feed(content, url, default_tz=default_tz)

    # Imported here: a run whose feeds all answer 304 (a cron job's usual) never needs it.
    import feedparser  # noqa: PLC0415

    prepared = prepare_xml(content, encoding=encoding)
    try:
        parsed = feedparser.parse(
            io.BytesIO(prepared.data),
            # The body is UTF-8 by now; content-location is the base for relative links.
            response_headers={"content-type": "application/xml", "content-location": url},
            sanitize_html=False,
            resolve_relative_uris=True,
        )
    except Exception as exc:  # feedparser's loose parser can trip on hostile input
        raise ParseError(url, f"feedparser failed: {type(exc).__name__}: {exc}") from exc

    problems = list(prepared.problems)
    if parsed.get("bozo"):
        problems.append(_describe(parsed.get("bozo_exception")))
    raw_entries = parsed.get("entries") or []
    if not raw_entries and not parsed.get("version"):
        raise ParseError(url, _not_a_feed(content, content_type, problems))

    feed = dict(parsed.get("feed") or {})
    atom = str(parsed.get("version")).startswith("atom")
    # Atom entries inherit the feed's author; an RSS channel has none to inherit.
    feed_author = _author(feed) if atom else None
    # Plain dicts: FeedParserDict's key aliases warn (and guess) on missing keys.
    raws = [dict(e) for e in raw_entries]
    built = [_entry(raw, url, default_tz, feed_author, atom) for raw in raws]
    entries = unique_entries(built)
    skipped = [raw.get("link") for raw, entry in zip(raws, built, strict=True) if entry is None]
    if problem := skipped_problem(skipped, len(raws)):
        problems.append(problem)
    return ParsedSource(
        entries=entries,
        title=_title(feed, atom),
        problem="; ".join(dict.fromkeys(problems)) or None,
    )


def _entry(
    raw: Mapping[str, Any], base: str, default_tz: tzinfo, feed_author: str | None, atom: bool
) -> Entry | None:
    raw_id = raw.get("id")
    entry_id = raw_id.strip() if isinstance(raw_id, str) else ""
    link = http_url(raw.get("link"), base)
    if link is None and not raw.get("link") and is_absolute_http(entry_id):
        link = http_url(entry_id, base)
    if link is None:
        return None
    published = parse_date(
        raw.get("published"), default_tz, raw.get("published_parsed")
    ) or parse_date(raw.get("updated"), default_tz, raw.get("updated_parsed"))
    return Entry(
        id=entry_id or link,
        link=link,
        title=_title(raw, atom),
        published=published,
        content=_content(raw),
        author=_author(raw) or feed_author,
        tags=tuple(
            dict.fromkeys(
                text
                for tag in raw.get("tags") or []
                if (text := plain_text(tag.get("term") or tag.get("label")))
            )
        ),
    )


def _title(item: Mapping[str, Any], atom: bool) -> str | None:
    """The title of a feed or entry as a reader sees it. Atom declares a title's
    type: html and xhtml are rendered to text (no script, comment or doctype
    survives), text is kept as written, brackets and all. RSS declares none (the
    type feedparser reports is its guess), so markup in an RSS title makes it HTML."""
    value = item.get("title")
    if not atom:
        return plain_text(value)
    kind = (item.get("title_detail") or {}).get("type")
    return html_text(value) if kind in _HTML_TYPES else literal_text(value)


def _content(raw: Mapping[str, Any]) -> str | None:
    """The longest HTML content (content:encoded, atom:content), else the summary."""
    candidates = [c for c in raw.get("content") or [] if isinstance(c.get("value"), str)]
    candidates = [c for c in candidates if c["value"].strip()]
    html_first = sorted(
        candidates, key=lambda c: (c.get("type") in _HTML_TYPES, len(c["value"])), reverse=True
    )
    summary = raw.get("summary_detail")
    if summary and isinstance(summary.get("value"), str) and summary["value"].strip():
        html_first.append(summary)
    if not html_first:
        return None
    best = html_first[0]
    value: str = best["value"]
    return value if best.get("type") in _HTML_TYPES else text_to_html(value)


def _author(raw: Mapping[str, Any]) -> str | None:
    detail = raw.get("author_detail") or {}
    return plain_text(detail.get("name")) or plain_text(raw.get("author"))


def _describe(exc: object) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        return f"malformed XML at line {exc.getLineNumber()}: {exc.getMessage()}"
    text = str(exc).strip()
    return text or type(exc).__name__


def _not_a_feed(content: bytes, content_type: str | None, problems: list[str]) -> str:
    if content_type in ("text/html", "application/xhtml+xml") or _HTML_PAGE.search(content[:4096]):
        return "not a feed: got an HTML page"
    return "not a feed" + (f" ({problems[-1]})" if problems else "")
