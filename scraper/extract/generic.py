"""Generic main-content extraction for pages that have no site rule.

A readability-class algorithm on selectolax, paragraph first (``paragraphs.py``):
within the article region, every paragraph (``p``, ``pre``, ``td``, and a ``div``'s
text outside blocks) outside furniture adds its score to its ancestors, less with
distance; the best candidates are discounted by link density; the winner grows to
take in siblings that score well (and chunks of the same kind elsewhere). Only the
chosen content is then measured element by element, to drop furniture (by tag,
class/id/role name, hidden) and low-value blocks in it; ``clean_nodes`` normalises
the result. Text is measured in characters, so Chinese (no spaces) scores like any
other language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, tzinfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract import paragraphs
from scraper.extract.boilerplate import (
    ASKED_ATTRIBUTES,
    ASKED_BARE,
    PageText,
    class_weight,
    content_dropper,
    furniture_dropper,
)
from scraper.extract.clean import clean_nodes
from scraper.extract.edges import drop_repeats
from scraper.extract.limits import bounded_html
from scraper.extract.measure import collapsed_length, measure
from scraper.extract.media import noscript_images_in_place
from scraper.extract.meta import PageMeta, page_metadata
from scraper.extract.scan import BodyScan, scan_body, tag_ids
from scraper.extract.wordmatch import any_word
from scraper.types import Extracted

__all__ = ["extract_generic"]

MIN_PARAGRAPH = 25
_REGION_SHARE = 0.85
_MAX_LINK_SHARE = 0.5
(_DIV,) = tag_ids("div")
_MIN_LETTER_SHARE = 0.6
# Containers whose prose is not the article (comments, teasers), for finding the region.
_FURNITURE_WORDS = any_word(
    words=("comment", "related", "recommend", "sidebar", "footer", "disqus", "promo")
)
_FURNITURE_TAGS = frozenset({"aside", "footer", "nav"})
_TAG_BASE = {
    "div": 5, "pre": 3, "td": 3, "blockquote": 3, "address": -3, "ol": -3, "ul": -3,
    "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3, "h1": -5, "h2": -5, "h3": -5,
    "h4": -5, "h5": -5, "h6": -5, "th": -5,
}  # fmt: skip
_ASKED = (ASKED_BARE, ASKED_ATTRIBUTES)  # what the droppers may drop
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def extract_generic(html: str | bytes, url: str, *, default_tz: tzinfo = UTC) -> Extracted:
    """The page's main content as normalised body HTML (``body`` "" when none is
    found), with the page's metadata. ``html``: text, or UTF-8 bytes (what is not
    UTF-8 becomes U+FFFD). Never raises."""
    try:
        return _extract(html, url, default_tz)
    except Exception:  # a page we cannot read is a page without an article
        return Extracted(body="", method="generic")


def _extract(html: str | bytes, url: str, default_tz: tzinfo) -> Extracted:
    data = bounded_html(html)  # UTF-8 (bytes as given: what is not UTF-8 becomes U+FFFD)
    if not data or data.isspace():
        return Extracted(body="", method="generic")
    tree = LexborHTMLParser(data)
    body = tree.body
    if body is None:
        return _result("", page_metadata(tree, url, default_tz=default_tz))
    scan = scan_body(body)
    meta = page_metadata(tree, url, default_tz=default_tz, body_sources=scan.sources)
    scan.remove_junk()
    # (the selector walks the whole tree: not for the many pages that cannot match)
    marked_nodes = body.css("[itemprop~=articleBody]") if b"articleBody" in data else []
    marked = frozenset(node.mem_id for node in marked_nodes)
    page, nodes, scores = _choose(body, scan, marked_nodes)
    if not nodes:
        return _result(*_whole_body(body, url, meta))
    region = page.root
    page_text = PageText(lambda: collapsed_length(region.text()), page.prose_floor())
    look, drop = content_dropper(scores, page_text, bool(marked), page.verdicts)
    kept = []
    for index, top in enumerate(nodes, 1):
        dropped = measure(top, look, drop, marked, _ASKED)
        if index < len(nodes):
            page_text.settle()
        if dropped and dropped[-1].mem_id == top.mem_id:  # the root comes last
            continue
        for node in dropped:
            node.decompose()
        kept.append(top)
    if not kept:
        return _result(*_whole_body(body, url, meta))
    for node in kept:
        noscript_images_in_place(node)
    return _result(*drop_repeats(clean_nodes(kept, url), meta))


def _choose(
    body: LexborNode, scan: BodyScan, marked_nodes: list[LexborNode]
) -> tuple[paragraphs.Page, list[LexborNode], dict[int, float]]:
    """The article region's page (its ``root`` is the region), the content nodes
    chosen in it (in page order; none when no block stands out), and every
    candidate's score."""
    containers = paragraphs.split_blocks(scan.blocks, scan.holders)
    region = body if marked_nodes else _article_region(body, _prose(scan, containers), scan.text)
    page = paragraphs.Page(region, marked_nodes)
    content = paragraphs.paragraph_scores(
        page,
        MIN_PARAGRAPH,
        lambda node: _cjk_weighted(scan.text(node)),
        scan.blocks_in(region),
        containers,
        text_of=scan.text,
    )
    weights: dict[str, int] = {}
    nodes, scores = paragraphs.content_nodes(
        page, content, lambda node: _TAG_BASE.get(node.tag or "", 0) + class_weight(node, weights)
    )
    best_marked = paragraphs.marked_body(page, nodes) or (
        None if nodes else paragraphs.landmark(body, page)
    )
    if best_marked is not None:
        nodes = [best_marked]
    return page, nodes, scores


def _result(body: str, meta: PageMeta) -> Extracted:
    return Extracted(
        body=body,
        title=meta.title,
        published=meta.published,
        author=meta.author,
        image=meta.image,
        language=meta.language,
        tags=meta.keywords,
        method="generic",
    )


# ---- choosing the content ------------------------------------------------------------


def _article_region(
    body: LexborNode, prose: list[LexborNode], text_of: Callable[[LexborNode], str]
) -> LexborNode:
    """The smallest element holding most (``_REGION_SHARE``) of the page's prose
    paragraphs: scoring only needs to look inside it, and on a typical page it is a
    third of the tree. The body when the page has no such paragraphs."""
    body_key = body.mem_id
    # Each element above a paragraph is looked at once: its parent, and whether it is
    # furniture (comments, teasers) or inside furniture.
    parent_of: dict[int, int] = {body_key: 0}
    in_furniture: dict[int, bool] = {body_key: False}
    own: dict[int, int] = {}
    skipped = 0
    verdicts: dict[str, bool] = {}
    for paragraph in prose:
        length = len(text_of(paragraph).strip())
        if length < MIN_PARAGRAPH:
            continue
        chain: list[tuple[int, bool]] = []
        node: LexborNode | None = paragraph
        first = key = paragraph.mem_id  # (each element's mem_id read once)
        while node is not None:
            if key in in_furniture:
                break
            parent = node.parent
            above = parent_of[key] = parent.mem_id if parent is not None else 0
            chain.append((key, _region_furniture(node, verdicts)))
            node, key = parent, above
        inherited = in_furniture.get(key, False) if node is not None else False
        for link, furniture in reversed(chain):
            inherited = inherited or furniture
            in_furniture[link] = inherited
        key = first
        if in_furniture.get(parent_of.get(key, 0), False):  # inside furniture
            skipped += length
        else:
            own[key] = own.get(key, 0) + length
    totals: dict[int, int] = {}
    for paragraph_key, length in own.items():
        key = paragraph_key
        while key:
            totals[key] = totals.get(key, 0) + length
            if key == body_key:
                break
            key = parent_of.get(key, 0)
    whole = totals.get(body_key, 0)
    if not whole or whole < skipped:  # most prose in "furniture": score the whole page
        return body
    region = body
    while True:
        inner = next(
            (c for c in region.iter() if totals.get(c.mem_id, 0) >= _REGION_SHARE * whole),
            None,
        )
        if inner is None:
            return region
        region = inner


def _prose(scan: BodyScan, containers: frozenset[int]) -> list[LexborNode]:
    """The paragraphs that place the article region: p and pre, or, on pages that
    write more text in divs of their own (no p at all, or an editor's div per
    line), those divs too. Divs count only then, since most of them on a page of p
    are menus and forms (td cells never: a layout cell holds the whole page)."""
    divs = [n for n in scan.blocks if n.tag_id == _DIV and n.mem_id not in containers]
    if not divs:
        return scan.prose
    in_p = sum(len(scan.text(n)) for n in scan.prose)
    in_divs = sum(len(scan.text(n)) for n in divs)
    return [*scan.prose, *divs] if in_divs > in_p else scan.prose


def _region_furniture(node: LexborNode, verdicts: dict[str, bool]) -> bool:
    """Containers whose prose is not the article (comments, teasers); ``verdicts``
    caches the verdict on class and id strings."""
    if node.tag in _FURNITURE_TAGS:
        return True
    attrs = node.attributes
    if not attrs:
        return False
    names = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    verdict = verdicts.get(names)
    if verdict is None:
        verdict = verdicts[names] = len(names) > 1 and _FURNITURE_WORDS(names.lower())
    return verdict


def _cjk_weighted(text: str) -> bool:
    """Whether a short paragraph's text is long enough once each CJK character counts
    twice (a Chinese sentence says in 15 characters what English says in 40)."""
    return collapsed_length(text) + len(_CJK.findall(text)) >= MIN_PARAGRAPH


def _whole_body(body: LexborNode, url: str, meta: PageMeta) -> tuple[str, PageMeta]:
    """The second strategy, for pages where no block stands out as the article (a
    short note, text straight in ``<body>``): the whole body less its furniture and
    low-value blocks, kept when what is left reads as text, not as a list of links."""
    dropped = measure(body, *furniture_dropper(), frozenset(), _ASKED)
    for node in dropped:
        node.decompose()
    noscript_images_in_place(body)
    cleaned = clean_nodes([body], url)
    if not cleaned or not _reads_as_text(cleaned):
        return "", meta
    return drop_repeats(cleaned, meta)


def _reads_as_text(cleaned: str) -> bool:
    """Not mostly links (an index page), and mostly letters and digits of any script
    (not the debris of a binary or mis-decoded page)."""
    root = LexborHTMLParser(cleaned).body
    if root is None:
        return False
    text = root.text()
    solid = "".join(text.split())
    links = sum(collapsed_length(a.text()) for a in root.css("a[href]"))
    if not solid or links > _MAX_LINK_SHARE * collapsed_length(text):
        return False
    return sum(c.isalnum() for c in solid) >= _MIN_LETTER_SHARE * len(solid)
