"""Generic main-content extraction for pages that have no site rule.

A readability-class algorithm on selectolax. One linear pass measures the page and
drops furniture (by tag, by class/id/role name, hidden); every paragraph (``p``,
``pre``, ``td``, and a ``div``'s text outside blocks) adds its score to its ancestors,
less with distance; candidates are discounted by link density; the best grows to
take in siblings that score well (and chunks of the same kind elsewhere); low-value
blocks inside are pruned; ``clean_body`` normalises the result. Text is measured in
characters, so Chinese (no spaces) scores like any other language.
"""

from __future__ import annotations

import re
from datetime import UTC, tzinfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.boilerplate import JUNK_TAGS, class_weight, furniture_dropper, prune_content
from scraper.extract.clean import clean_nodes
from scraper.extract.limits import bounded_html
from scraper.extract.measure import Measured, measure
from scraper.extract.media import noscript_images_in_place
from scraper.extract.meta import PageMeta, page_metadata
from scraper.types import Extracted

__all__ = ["extract_generic"]

MIN_PARAGRAPH = 25
_ANCESTOR_LEVELS = 5
_TOP_FOR_DENSITY = 12
_MIN_CONTENT_SHARE = 0.25
_MARKED_SHARE = 0.5
_REGION_SHARE = 0.85
# Containers whose prose is not the article (comments, teasers), for finding the region.
_FURNITURE_WORDS = re.compile(
    "comment|related|recommend|sidebar|footer|disqus|promo", re.IGNORECASE
)
_FURNITURE_TAGS = frozenset({"aside", "footer", "nav"})
_TAG_BASE = {
    "div": 5, "pre": 3, "td": 3, "blockquote": 3, "address": -3, "ol": -3, "ul": -3,
    "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3, "h1": -5, "h2": -5, "h3": -5,
    "h4": -5, "h5": -5, "h6": -5, "th": -5,
}  # fmt: skip
_STOP = frozenset({"body", "html"})
_SENTENCE_END = re.compile(r"[.。!！?？]\s*$")
_DATE_OR_TIME = re.compile(
    r"\b(?:19|20)\d\d\b|\b\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?|\d{4}年|\d{1,2}月\d{1,2}日", re.I
)
_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def extract_generic(html: str, url: str, *, default_tz: tzinfo = UTC) -> Extracted:
    """The page's main content as normalised body HTML (``body`` "" when none is
    found), with the page's metadata. Never raises."""
    try:
        return _extract(html, url, default_tz)
    except Exception:  # a page we cannot read is a page without an article
        return Extracted(body="", method="generic")


def _extract(html: str | bytes, url: str, default_tz: tzinfo) -> Extracted:
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    if not html or not html.strip():
        return Extracted(body="", method="generic")
    tree = LexborHTMLParser(bounded_html(html))
    meta = page_metadata(tree, url, default_tz=default_tz)
    body = tree.body
    if body is None:
        return _result("", meta)
    tree.strip_tags(JUNK_TAGS)
    marked = frozenset(node.mem_id for node in body.css("[itemprop~=articleBody]"))
    region = body if marked else _article_region(body)
    page_text = len(" ".join(region.text().split()))
    page = measure(region, furniture_dropper(page_text), marked)
    for node in page.dropped:
        node.decompose()
    nodes, scores = _content_nodes(page)
    best_marked = _marked_body(marked, nodes, page) or (None if nodes else _landmark(body, page))
    if best_marked is not None:
        nodes = [best_marked]
    nodes = prune_content(nodes, scores, page.own_text)
    if not nodes:
        return _result("", meta)
    for node in nodes:
        noscript_images_in_place(node)
    return _result(_drop_repeats(clean_nodes(nodes, url), meta), meta)


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


def _article_region(body: LexborNode) -> LexborNode:
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
    for paragraph in body.css("p, pre"):
        length = len(paragraph.text().strip())
        if length < MIN_PARAGRAPH:
            continue
        chain: list[tuple[int, bool]] = []
        node: LexborNode | None = paragraph
        while node is not None:
            key = node.mem_id
            if key in in_furniture:
                break
            parent = node.parent
            parent_of[key] = parent.mem_id if parent is not None else 0
            chain.append((key, _region_furniture(node)))
            node = parent
        inherited = in_furniture.get(node.mem_id, False) if node is not None else False
        for key, furniture in reversed(chain):
            inherited = inherited or furniture
            in_furniture[key] = inherited
        key = paragraph.mem_id
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


def _region_furniture(node: LexborNode) -> bool:
    """Containers whose prose is not the article (comments, teasers)."""
    if node.tag in _FURNITURE_TAGS:
        return True
    attrs = node.attributes
    names = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    return len(names) > 1 and _FURNITURE_WORDS.search(names) is not None


def _marked_body(
    marked: frozenset[int], chosen: list[LexborNode], page: Measured
) -> LexborNode | None:
    """The element the page marks as the article body (schema.org ``articleBody``),
    when it holds a fair share of the text the scoring found."""
    alive = [key for key in page.order if key in marked and key not in page.dead]
    if not alive:
        return None
    best = max(alive, key=lambda key: page.stats[key].text)
    found = sum(page.stats[n.mem_id].text for n in chosen if n.mem_id in page.stats)
    return page.nodes[best] if page.stats[best].text >= _MARKED_SHARE * found else None


def _landmark(body: LexborNode, page: Measured) -> LexborNode | None:
    """With no paragraph long enough to score (a short item), the page's own
    article or main region, if it has one with text."""
    regions = [n for n in body.css("article, main, [role=main]") if n.mem_id in page.stats]
    best = max(regions, key=lambda n: page.stats[n.mem_id].text, default=None)
    return best if best is not None and page.stats[best.mem_id].text else None


def _content_nodes(page: Measured) -> tuple[list[LexborNode], dict[int, float]]:
    """The chosen content nodes in page order, and every candidate's score."""
    content: dict[int, float] = {}
    for key in page.order:
        if key in page.dead:
            continue
        node = page.nodes[key]
        tag = node.tag
        stats = page.stats[key]
        if tag in ("p", "pre"):
            length, commas, first = stats.text, stats.commas, page.parent.get(key, 0)
        elif tag == "td":  # a cell is a container: layout tables put whole articles in one
            length, commas, first = stats.loose_text, stats.loose_commas, key
        elif tag == "div":  # its text outside blocks is a paragraph of its own
            length, commas = stats.loose_text, stats.loose_commas
            first = key if stats.has_block else page.parent.get(key, 0)
        else:
            continue
        if length < MIN_PARAGRAPH and not (
            length >= MIN_PARAGRAPH // 2 and not stats.has_block and _cjk_weighted(node)
        ):
            continue
        score = 1 + commas + min(length // 100, 3)
        ancestor = first
        for level in range(_ANCESTOR_LEVELS):
            if not ancestor or page.nodes[ancestor].tag in _STOP:
                break
            divider = 1 if level == 0 else 2 if level == 1 else level * 3
            content[ancestor] = content.get(ancestor, 0.0) + score / divider
            ancestor = page.parent.get(ancestor, 0)
    if not content:
        return [], {}
    scores = {key: value + _initial_score(page.nodes[key]) for key, value in content.items()}
    # a promising name must not make a winner of a node with little text of its own
    enough = _MIN_CONTENT_SHARE * max(content.values())
    ranking = {key: scores[key] for key, value in content.items() if value >= enough}
    ranked = sorted(ranking, key=ranking.__getitem__, reverse=True)[:_TOP_FOR_DENSITY]
    final = {k: ranking[k] * (1 - page.stats[k].link_density) for k in ranked}
    best = max(final, key=final.__getitem__)
    top = _promote(best, final, page)
    chosen = _with_siblings(top, scores, page)
    chosen += _same_kind_elsewhere(top, chosen, scores, page)
    position = {key: index for index, key in enumerate(page.order)}
    chosen.sort(key=lambda key: position.get(key, 0))
    return [page.nodes[key] for key in chosen], scores


def _cjk_weighted(node: LexborNode) -> bool:
    """Whether a short paragraph is long enough once each CJK character counts twice
    (a Chinese sentence says in 15 characters what English says in 40)."""
    text = " ".join(node.text().split())
    return len(text) + len(_CJK.findall(text)) >= MIN_PARAGRAPH


def _initial_score(node: LexborNode) -> float:
    return _TAG_BASE.get(node.tag or "", 0) + class_weight(node)


def _promote(top: int, final: dict[int, float], page: Measured) -> int:
    """Readability's adjustments: a shared ancestor of several close runners-up, a
    parent that scores better, or the parent of an only child."""
    top_score = final[top]
    close = [k for k, s in final.items() if k != top and s >= 0.75 * top_score]
    if len(close) >= 3:
        close_ancestors = [set(page.ancestors(k)) for k in close]
        for parent in page.ancestors(top):
            if page.nodes[parent].tag in _STOP:
                break
            if sum(parent in ids for ids in close_ancestors) >= 3:
                top = parent
                break
    last = final.get(top, top_score)
    for parent in page.ancestors(top):
        if page.nodes[parent].tag in _STOP:
            break
        score = final.get(parent)
        if score is None:
            continue
        if score < last / 3:
            break
        if score > last:
            top = parent
            break
        last = score
    parent = page.parent.get(top, 0)
    while parent and page.nodes[parent].tag not in _STOP and page.stats[parent].children == 1:
        top, parent = parent, page.parent.get(parent, 0)
    return top


def _with_siblings(top: int, scores: dict[int, float], page: Measured) -> list[int]:
    """Readability's sibling rule: siblings that score well, or read like prose."""
    parent = page.parent.get(top, 0)
    if not parent or page.nodes[parent].tag in _STOP:
        return [top]
    top_score = scores.get(top, 0.0)
    threshold = max(10.0, top_score * 0.2)
    top_class = page.nodes[top].attributes.get("class") or ""
    chosen: list[int] = []
    for sibling in page.nodes[parent].iter():
        key = sibling.mem_id
        if key == top:
            chosen.append(key)
            continue
        if key not in page.stats or key in page.dead:
            continue
        same_class = top_class and sibling.attributes.get("class") == top_class
        bonus = top_score * 0.2 if same_class else 0.0
        if scores.get(key, -1e9) + bonus >= threshold:
            chosen.append(key)
        elif sibling.tag == "p":
            stats = page.stats[key]
            density = stats.link_density
            if (stats.text > 80 and density < 0.25) or (
                0 < stats.text <= 80 and density == 0 and _SENTENCE_END.search(sibling.text())
            ):
                chosen.append(key)
    return chosen


def _same_kind_elsewhere(
    top: int, chosen: list[int], scores: dict[int, float], page: Measured
) -> list[int]:
    """Articles cut into chunks: well-scoring nodes named exactly like the top one,
    outside what is already chosen, that are not lists of teasers."""
    name = page.nodes[top].attributes.get("class")
    if not name:
        return []
    threshold = max(10.0, scores.get(top, 0.0) * 0.5)
    taken = set(chosen)
    around = set().union(*(page.ancestors(k) for k in chosen))
    extra: list[int] = []
    for key, score in scores.items():
        if key in taken or key in around or score < threshold:
            continue
        stats = page.stats[key]
        if stats.marked or stats.link_density > 0.25:
            continue
        if page.nodes[key].attributes.get("class") != name:
            continue
        if taken.intersection(page.ancestors(key)):
            continue
        extra.append(key)
        taken.add(key)
    return extra


# ---- after cleaning ------------------------------------------------------------------


def _plain(line: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", line).split()).casefold()


def _is_dateline(text: str) -> bool:
    """A short line that is only a date or time stamp ("Updated 10:01 pm PST, …")."""
    if len(text) > 70 or not _DATE_OR_TIME.search(text):
        return False
    rest = _WORD.findall(_DATE_OR_TIME.sub(" ", text))
    return len(rest) <= 6 and len("".join(rest)) <= 30


def _drop_repeats(body: str, meta: PageMeta) -> str:
    """Drop what repeats the page's metadata at the edges of the body: a heading equal
    to the title, a short byline with the author's name, date stamps."""
    if not body:
        return body
    lines = body.split("\n")
    title = " ".join((meta.title or "").split()).casefold()
    author = " ".join((meta.author or "").split()).casefold()
    kept: list[str] = []
    last = len(lines) - 1
    for index, line in enumerate(lines):
        text = _plain(line)
        near_top = index < 4 and len(kept) < 3
        if near_top and title and text == title:
            continue
        if near_top and author and author in text and len(text) < len(author) + 40:
            continue
        if (near_top or index >= last - 1) and line.startswith("<p") and _is_dateline(text):
            continue
        kept.append(line)
    return "\n".join(kept)
