"""Generic main-content extraction for pages that have no site rule.

A readability-class algorithm on selectolax: page furniture is removed by tag and by
name; every paragraph (``p``, ``pre``, ``td``, and ``div`` text that is not inside a
block) adds its score to its ancestors, weighted down by distance; candidates are
discounted by link density; the best one grows to take in siblings that score well;
low-value blocks inside it are pruned; ``clean_body`` normalises the result. Text is
measured in characters, so Chinese (no spaces) scores like any other language.
"""

from __future__ import annotations

import re
from datetime import UTC, tzinfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.boilerplate import (
    COMMAS,
    JUNK_TAGS,
    class_weight,
    link_density,
    prune_content,
    remove_furniture,
    text_length,
)
from scraper.extract.clean import clean_body
from scraper.extract.meta import PageMeta, page_metadata
from scraper.types import Extracted

__all__ = ["extract_generic"]

MAX_CHARS = 4_000_000  # a page beyond this is cut: articles never need more
MIN_PARAGRAPH = 25
_ANCESTOR_LEVELS = 5
_TOP_FOR_DENSITY = 12
_MIN_CONTENT_SHARE = 0.25
_MARKED_SHARE = 0.5
_DIV_BLOCKS = frozenset({
    "blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul", "section", "article",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "header", "main", "picture",
})  # fmt: skip
_TAG_BASE = {
    "div": 5, "pre": 3, "td": 3, "blockquote": 3, "address": -3, "ol": -3, "ul": -3,
    "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3, "h1": -5, "h2": -5, "h3": -5,
    "h4": -5, "h5": -5, "h6": -5, "th": -5,
}  # fmt: skip
_STOP = frozenset({"body", "html", None})
_SENTENCE_END = re.compile(r"[.。!！?？]\s*$")
_DATE_OR_TIME = re.compile(
    r"\b(?:19|20)\d\d\b|\b\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?|\d{4}年|\d{1,2}月\d{1,2}日", re.I
)
_WORD = re.compile(r"\w+")


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
    tree = LexborHTMLParser(html[:MAX_CHARS])
    meta = page_metadata(tree, url, default_tz=default_tz)
    body = tree.body
    if body is None:
        return _result("", meta)
    tree.strip_tags(JUNK_TAGS)
    remove_furniture(body)
    paragraphs = _paragraphs(body)
    nodes, scores = _content_nodes(paragraphs)
    marked = _marked_body(body, nodes)
    if marked is not None:
        nodes = [marked]
    if not nodes:
        return _result("", meta)
    div_paragraphs = {node.mem_id for node, _, virtual in paragraphs if node.tag == "div" and not virtual}
    nodes = prune_content(nodes, scores, div_paragraphs)
    fragment = "".join(node.html or "" for node in nodes)
    return _result(_drop_repeats(clean_body(fragment, url), meta), meta)


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


# ---- scoring -------------------------------------------------------------------------


def _paragraphs(body: LexborNode) -> list[tuple[LexborNode, str, bool]]:
    """(node, text, virtual): real paragraphs, and ``div`` text outside blocks, which
    counts as a paragraph inside that div (``virtual``)."""
    found: list[tuple[LexborNode, str, bool]] = []
    for node in body.css("p, pre, td, div"):
        if node.tag != "div":
            found.append((node, node.text(), False))
            continue
        has_block = False
        loose: list[str] = []
        for child in node.iter(include_text=True):
            if child.is_text_node:
                loose.append(child.text_content or "")
            elif child.tag in _DIV_BLOCKS:
                has_block = True
            else:
                loose.append(child.text())
        text = "".join(loose)
        if has_block:
            found.append((node, text, True))
        else:
            found.append((node, text, False))
    return found


def _marked_body(body: LexborNode, chosen: list[LexborNode]) -> LexborNode | None:
    """The element the page marks as the article body (schema.org ``articleBody``),
    when it holds a fair share of the text the scoring found."""
    marked = body.css("[itemprop~=articleBody]")
    if not marked:
        return None
    best = max(marked, key=text_length)
    found = sum(text_length(node) for node in chosen)
    return best if text_length(best) >= _MARKED_SHARE * found else None


def _initial_score(node: LexborNode) -> float:
    return _TAG_BASE.get(node.tag or "", 0) + class_weight(node)


def _content_nodes(
    paragraphs: list[tuple[LexborNode, str, bool]],
) -> tuple[list[LexborNode], dict[int, float]]:
    """The chosen content nodes in page order, and every candidate's score."""
    content: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}
    order: dict[int, int] = {}  # page order of candidates and paragraphs
    for index, (node, text, virtual) in enumerate(paragraphs):
        order.setdefault(node.mem_id, index)
        length = len(" ".join(text.split()))
        if length < MIN_PARAGRAPH:
            continue
        score = 1 + len(COMMAS.findall(text)) + min(length // 100, 3)
        ancestor = node if virtual else node.parent
        for level in range(_ANCESTOR_LEVELS):
            if ancestor is None or ancestor.tag in _STOP:
                break
            key = ancestor.mem_id
            if key not in content:
                content[key] = 0.0
                nodes[key] = ancestor
                order.setdefault(key, index)
            content[key] += score / (1 if level == 0 else 2 if level == 1 else level * 3)
            ancestor = ancestor.parent
    if not content:
        return [], {}
    scores = {key: value + _initial_score(nodes[key]) for key, value in content.items()}
    # a promising name must not make a winner of a node with little text of its own
    enough = _MIN_CONTENT_SHARE * max(content.values())
    ranking = {key: scores[key] for key, value in content.items() if value >= enough}
    ranked = sorted(ranking, key=ranking.__getitem__, reverse=True)[:_TOP_FOR_DENSITY]
    final = {k: ranking[k] * (1 - link_density(nodes[k])) for k in ranked}
    best = max(final, key=final.__getitem__)
    top = _promote(nodes[best], final, nodes)
    chosen = _with_siblings(top, scores)
    chosen += _same_kind_elsewhere(top, chosen, scores, nodes)
    chosen.sort(key=lambda n: order.get(n.mem_id, order.get(top.mem_id, 0)))
    return chosen, scores


def _same_kind_elsewhere(
    top: LexborNode, chosen: list[LexborNode], scores: dict[int, float], nodes: dict[int, LexborNode]
) -> list[LexborNode]:
    """Articles cut into chunks: well-scoring nodes named exactly like the top one
    that are not inside (or around) what is already chosen."""
    name = top.attributes.get("class")
    if not name:
        return []
    threshold = max(10.0, scores.get(top.mem_id, 0.0) * 0.5)
    taken = {n.mem_id for n in chosen}
    around = set().union(*(_ancestor_ids(n) for n in chosen))
    extra = []
    for key, node in nodes.items():
        if key in taken or key in around or scores[key] < threshold:
            continue
        if node.attributes.get("class") != name or node.css_first("article") is not None:
            continue
        if link_density(node) > 0.25:
            continue
        if _ancestor_ids(node) & (taken | {n.mem_id for n in extra}):
            continue
        extra.append(node)
    return extra


def _promote(top: LexborNode, final: dict[int, float], nodes: dict[int, LexborNode]) -> LexborNode:
    """Readability's adjustments: a shared ancestor of several close runners-up, a
    parent that scores better, or the parent of an only child."""
    top_score = final[top.mem_id]
    close = [nodes[k] for k, s in final.items() if k != top.mem_id and s >= 0.75 * top_score]
    if len(close) >= 3:
        close_ancestors = [_ancestor_ids(n) for n in close]
        parent = top.parent
        while parent is not None and parent.tag not in _STOP:
            if sum(parent.mem_id in ids for ids in close_ancestors) >= 3:
                top = parent
                break
            parent = parent.parent
    last = final.get(top.mem_id, top_score)
    parent = top.parent
    while parent is not None and parent.tag not in _STOP:
        score = final.get(parent.mem_id)
        if score is None:
            parent = parent.parent
            continue
        if score < last / 3:
            break
        if score > last:
            top = parent
            break
        last = score
        parent = parent.parent
    parent = top.parent
    while parent is not None and parent.tag not in _STOP and _element_count(parent) == 1:
        top, parent = parent, parent.parent
    return top


def _ancestor_ids(node: LexborNode) -> set[int]:
    ids = set()
    parent = node.parent
    while parent is not None and parent.tag not in _STOP:
        ids.add(parent.mem_id)
        parent = parent.parent
    return ids


def _element_count(node: LexborNode) -> int:
    return sum(1 for _ in node.iter())


def _with_siblings(top: LexborNode, scores: dict[int, float]) -> list[LexborNode]:
    parent = top.parent
    if parent is None or parent.tag in _STOP:
        return [top]
    top_score = scores.get(top.mem_id, 0.0)
    threshold = max(10.0, top_score * 0.2)
    top_class = top.attributes.get("class") or ""
    chosen: list[LexborNode] = []
    for sibling in parent.iter():
        if sibling.mem_id == top.mem_id:
            chosen.append(sibling)
            continue
        bonus = top_score * 0.2 if top_class and sibling.attributes.get("class") == top_class else 0
        if scores.get(sibling.mem_id, -1e9) + bonus >= threshold:
            chosen.append(sibling)
        elif sibling.tag == "p":
            length = text_length(sibling)
            density = link_density(sibling, length)
            if (length > 80 and density < 0.25) or (
                0 < length <= 80 and density == 0 and _SENTENCE_END.search(sibling.text())
            ):
                chosen.append(sibling)
    return chosen


# ---- after cleaning ------------------------------------------------------------------


def _plain(line: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", line).split()).casefold()


def _is_dateline(text: str) -> bool:
    """A short line that is only a date or time stamp ("Updated 10:01 pm PST, …")."""
    if len(text) > 70 or not _DATE_OR_TIME.search(text):
        return False
    rest = _DATE_OR_TIME.sub(" ", text)
    return len(_WORD.findall(rest)) <= 6 and len("".join(_WORD.findall(rest))) <= 30


def _drop_repeats(body: str, meta: PageMeta) -> str:
    """Drop what repeats the page's metadata at the edges of the body: a heading equal
    to the title, a short byline with the author's name, date stamps."""
    if not body:
        return body
    lines = body.split("\n")
    title = " ".join((meta.title or "").split()).casefold()
    author = " ".join((meta.author or "").split()).casefold()
    kept = []
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
