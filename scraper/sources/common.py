"""Small pure helpers shared by the feed, JSON Feed and listing parsers.

Links: resolve against a base, keep only http(s), drop the fragment.
Text: titles and names as plain text, plain text as HTML.
Sites: whether two hosts belong to the same site (for off-site listing links).
Entries: drop repeated ids, keep the first, cap the count; say which were skipped.
"""

from __future__ import annotations

import html
import ipaddress
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urljoin, urlsplit, urlunsplit

from scraper.types import Entry

MAX_ENTRIES = 10_000

_URL_NOISE = re.compile(r"[\t\n\r]")
_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][^<>]*>", re.S)
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
    """Tags stripped, entities decoded, whitespace collapsed; None when empty.

    Only things shaped like tags are removed, so "a<b" in a plain title survives.
    Entities are decoded even in plain text because many feeds escape titles twice.
    """
    if not isinstance(value, str):
        return None
    text = collapse_whitespace(html.unescape(_TAG.sub(" ", value)))
    return text or None


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
