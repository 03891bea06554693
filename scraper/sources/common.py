"""Small pure helpers shared by the feed, JSON Feed and listing parsers.

Links: resolve against a base, keep only http(s), drop the fragment.
Text: titles and names as the text a reader sees, plain text as HTML.
Sites: whether two hosts belong to the same site (for off-site listing links).
Entries: drop repeated ids, keep the first, cap the count; say which were skipped.
"""

from __future__ import annotations

import html
import ipaddress
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser

from scraper.types import Entry

MAX_ENTRIES = 10_000

_URL_NOISE = re.compile(r"[\t\n\r]")
# Markup in text of unknown type: a tag, an end tag, a comment, a doctype, a PI.
_MARKUP = re.compile(r"<(?:[!?]|/?[A-Za-z][^<>]*>)")
# Elements whose text a browser does not show in the page.
_UNSEEN = "script, style, template, title, iframe, noembed, noframes"
# Elements that break a line: their text is not run into the neighbours'.
_BREAKS = (
    "br, p, div, li, dt, dd, h1, h2, h3, h4, h5, h6, tr, td, th, blockquote, pre, hr, "
    "section, article, header, footer, table, ul, ol"
)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")

# Second-level labels under which a country code hands out names (zaobao.com.sg,
# bbc.co.uk). Without the public suffix list this is the usual 95% answer.
_SECOND_LEVEL = frozenset(
    "ac co com edu gob gouv gov go int ltd mil ne net nic nom or org plc sch".split()  # noqa: SIM905
)


def http_url(href: object, base: str) -> str | None:
    """``href`` made absolute against ``base``, without fragment; None unless http(s)."""
    if not isinstance(href, str):
        return None
    # Browsers ignore tabs and newlines inside URLs; feeds wrap long links.
    href = _URL_NOISE.sub("", href).strip()
    if not href:
        return None
    try:
        parts = urlsplit(urljoin(base, href))
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit(parts._replace(fragment=""))


def is_absolute_http(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def collapse_whitespace(text: str) -> str:
    return " ".join(text.translate(_INVISIBLE).split())


def plain_text(value: object) -> str | None:
    """Text of unknown type (an RSS title, a name, a tag) as a reader sees it; None
    when empty. With markup in it, it is read as HTML (``html_text``); otherwise
    entities are decoded and whitespace collapsed, so "a<b" survives.
    Entities are decoded even in plain text because many feeds escape titles twice.
    """
    if not isinstance(value, str):
        return None
    if _MARKUP.search(value):
        return html_text(value)
    return literal_text(value)


def literal_text(value: object) -> str | None:
    """Text declared plain (Atom ``type="text"``, JSON Feed): kept as written,
    "the <blink> tag" included; entities decoded (for the twice-escaped) and
    whitespace collapsed. None when empty."""
    if not isinstance(value, str):
        return None
    return collapse_whitespace(html.unescape(value)) or None


def html_text(value: object) -> str | None:
    """The text a browser shows for an HTML fragment; None when empty.

    Parsed as HTML5 is: comments (closed, unclosed or malformed), doctypes and
    processing instructions are dropped, entities decoded, and the text of
    scripts, styles, ``<title>`` and the like left out; a line break or block
    boundary becomes a space, and whitespace is collapsed.
    """
    if not isinstance(value, str):
        return None
    if "<" not in value and "&" not in value:
        return collapse_whitespace(value) or None
    body = LexborHTMLParser(value).body
    if body is None:  # a <frameset> in place of the body
        return None
    for node in body.css(_UNSEEN):
        node.decompose()
    for node in body.css(_BREAKS):
        node.insert_before(" ")
        node.insert_after(" ")
    return collapse_whitespace(body.text(separator="")) or None


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs: blank lines split paragraphs, newlines become <br>."""
    paragraphs = _PARAGRAPH_BREAK.split(text.strip())
    return "\n".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs if p)


def site_of(host: str) -> str:
    """The registrable part of a host: ``www.zaobao.com.sg`` → ``zaobao.com.sg``."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def same_site(host: str, other: str) -> bool:
    return site_of(host) == site_of(other)


def unique_entries(entries: Iterable[Entry | None], limit: int = MAX_ENTRIES) -> tuple[Entry, ...]:
    """Entries in order, Nones dropped, the first of each id kept, at most ``limit``."""
    seen: set[str] = set()
    kept: list[Entry] = []
    for entry in entries:
        if entry is None or entry.id in seen:
            continue
        seen.add(entry.id)
        kept.append(entry)
        if len(kept) >= limit:
            break
    return tuple(kept)


def skipped_problem(links: Sequence[object], total: int, noun: str = "entries") -> str | None:
    """The problem to report when ``links`` (the raw link values, None when missing)
    of ``total`` entries gave no http(s) link; None when none was skipped."""
    if not links:
        return None
    if len(links) == total:
        return f"none of the {total} {noun} has an http(s) link"
    shown = [
        " ".join(link.split())[:80] if isinstance(link, str) and link.strip() else "no link"
        for link in links[:3]
    ]
    more = ", …" if len(links) > 3 else ""
    reason = f"{len(links)} of {total} {noun} skipped for want of an http(s) link"
    return f"{reason}: {', '.join(shown)}{more}"
