"""Listing pages → ParsedSource: the article links a CSS selector points at.

For sites without a feed (Zaobao's section pages), a source names a selector for
its article links. Each match is an ``<a href>`` (or holds one); its absolute
URL, fragment dropped, is both the entry's id and link. Off-site links
(promotions) and non-http(s) links are skipped and repeats dropped, in page
order. Listing pages carry no reliable times, so ``published`` stays None.

A selector that matches nothing is not an error but a ``problem``: the page
probably changed its layout, and the pipeline reports it. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from scraper.errors import ParseError
from scraper.extract.limits import bounded_html
from scraper.sources.common import (
    MAX_ENTRIES,
    collapse_whitespace,
    http_url,
    same_site,
)
from scraper.types import Entry, ParsedSource

# Elements whose edges separate words; inline ones (em, span) do not, which
# matters for Chinese, where a space inside a title is an error.
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer"  # noqa: SIM905
    " h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table td th tr ul".split()
)
_SKIP_TAGS = frozenset(("script", "style", "template", "noscript"))


def parse_listing(
    html: str, url: str, *, selector: str, title_selector: str | None = None
) -> ParsedSource:
    """Links matched by ``selector`` in the page ``html`` fetched from ``url``.

    A link's title is its ``title`` attribute, else the text of ``title_selector``
    inside the matched element (e.g. ``h2``), else the link's text.
    """
    if not html.strip():
        raise ParseError(url, "empty body")
    tree = LexborHTMLParser(bounded_html(html))
    try:
        matches = tree.css(selector)
    except SelectolaxError as exc:
        raise ParseError(url, f"invalid link selector '{selector}': {exc}") from exc
    if title_selector:
        try:
            tree.css_first(title_selector)
        except SelectolaxError as exc:
            raise ParseError(url, f"invalid title selector '{title_selector}': {exc}") from exc
    page_title = _page_title(tree)
    if not matches:
        return ParsedSource(
            entries=(), title=page_title, problem=f"the link selector '{selector}' matched nothing"
        )

    base = _base_url(tree, url)
    page_host = urlsplit(url).hostname or ""
    by_link: dict[str, Entry] = {}
    for node in matches:
        anchor = _anchor(node)
        if anchor is None:
            continue
        link = http_url(anchor.attributes.get("href"), base)
        if link is None or not same_site(urlsplit(link).hostname or "", page_host):
            continue
        title = _title(node, anchor, title_selector)
        known = by_link.get(link)
        if known is None:
            by_link[link] = Entry(id=link, link=link, title=title)
        elif known.title is None and title:
            # A thumbnail link often comes first; keep its place, take the headline's title.
            by_link[link] = Entry(id=link, link=link, title=title)
        if len(by_link) >= MAX_ENTRIES:
            break

    entries = tuple(by_link.values())
    problem = None
    if not entries:
        problem = (
            f"the link selector '{selector}' matched {len(matches)} element(s)"
            " but no on-site http(s) link"
        )
    return ParsedSource(entries=entries, title=page_title, problem=problem)


def links_matching(html: str, url: str, patterns: Sequence[re.Pattern[str]]) -> ParsedSource:
    """The page's on-site http(s) links whose address matches one of ``patterns``,
    in page order, each once, without titles (the article pages give them): what a
    listing holds when its selectors no longer match after a redesign."""
    if not html.strip():
        raise ParseError(url, "empty body")
    tree = LexborHTMLParser(bounded_html(html))
    base = _base_url(tree, url)
    page_host = urlsplit(url).hostname or ""
    links: dict[str, Entry] = {}
    for anchor in tree.css("a[href]"):
        link = http_url(anchor.attributes.get("href"), base)
        if link is None or link in links or not same_site(urlsplit(link).hostname or "", page_host):
            continue
        if any(pattern.search(link) for pattern in patterns):
            links[link] = Entry(id=link, link=link)
            if len(links) >= MAX_ENTRIES:
                break
    return ParsedSource(entries=tuple(links.values()), title=_page_title(tree))


def _anchor(node: LexborNode) -> LexborNode | None:
    if node.tag == "a":
        return node if node.attributes.get("href") else None
    return node.css_first("a[href]")


def _title(node: LexborNode, anchor: LexborNode, title_selector: str | None) -> str | None:
    for holder in (anchor, node):
        if title := collapse_whitespace(holder.attributes.get("title") or ""):
            return title
    if title_selector:
        part = node.css_first(title_selector)
        if part is not None and (title := node_text(part)):
            return title
    return node_text(anchor) or None


def node_text(node: LexborNode) -> str:
    """Text of ``node``, a space at block edges only, whitespace collapsed."""
    parts: list[str] = []
    stack: list[LexborNode | None] = [node]  # None marks a block edge
    while stack:
        item = stack.pop()
        if item is None:
            parts.append(" ")
        elif item.tag == "-text":
            parts.append(item.text_content or "")
        elif item.tag not in _SKIP_TAGS:
            block = item.tag in _BLOCK_TAGS
            if block:
                stack.append(None)
            stack.extend(reversed(list(item.iter(include_text=True))))
            if block:
                stack.append(None)
    return collapse_whitespace("".join(parts))


def _page_title(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("title")
    return (node_text(node) or None) if node is not None else None


def _base_url(tree: LexborHTMLParser, url: str) -> str:
    base = tree.css_first("base[href]")
    if base is None:
        return url
    return http_url(base.attributes.get("href"), url) or url
