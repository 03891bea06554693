"""What the generic extractor throws away: page furniture before scoring, and
low-value blocks inside the chosen content afterwards (readability's "conditional
cleaning"). Patterns are about page furniture in general, never about one site.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

__all__ = [
    "class_weight",
    "link_density",
    "prune_content",
    "remove_furniture",
    "text_length",
]

JUNK_TAGS = [
    "script", "style", "template", "svg", "canvas", "iframe", "object", "embed", "form",
    "input", "button", "select", "textarea", "nav", "aside", "footer", "link", "meta",
    "dialog", "audio", "video", "map",
]  # fmt: skip

# Furniture named as such: removed wherever found (unless it holds the article).
FURNITURE = re.compile(
    r"comment|disqus|share|sharing|social|related|recommend|newsletter|subscri|cookie|gdpr|"
    r"consent|promo|advert|(?:^|[^a-z])(?:ads?|adv|dfp|gpt|taboola|outbrain)(?:[^a-z]|$)|"
    r"ad-(?:slot|unit|container|wrapper|block|box)|adsbygoogle|sponsor|sidebar|breadcrumb|"
    r"footer|menu|popup|pop-up|modal|masthead|navbar|(?:^|[^a-z])nav(?:[^a-z]|$)|"
    r"pagination|pager|skyscraper|signup|sign-up|paywall|login|most-?popular|trending|"
    r"more-?stories|read-?more|also-?read|toolbar|shoutbox|agegate|byline|dateline|"
    r"author-?(?:bio|info|box)|(?:^|[^a-z])tags?(?:[^a-z]|$)|hidden|print-only|skip-link|"
    r"sr-only|visually-?hidden|screen-?reader|off-?screen",
)
# …unless the same name says it is content.
CONTENT_HINT = re.compile(r"article|body|content|main|column|story|entry|post-text")
_STRONG_FURNITURE = re.compile(
    r"comment|disqus|share|sharing|social|related|recommend|newsletter|subscri|cookie|"
    r"promo|advert|(?:^|[^a-z])(?:ads?|dfp)(?:[^a-z]|$)|outbrain|taboola|popup|modal|"
    r"breadcrumb|byline|dateline"
)
POSITIVE = re.compile(
    r"article|body|content|entry|hentry|h-entry|main|page|post|text|blog|story|prose"
)
NEGATIVE = re.compile(
    r"-ad-|hidden|^hid$| hid$| hid |^hid |banner|combx|comment|com-|contact|foot|footer|"
    r"footnote|gdpr|masthead|media|meta|outbrain|promo|related|scroll|share|shoutbox|"
    r"sidebar|skyscraper|sponsor|shopping|tags|tool|widget|caption|credit"
)
_ROLES = {"menu", "menubar", "complementary", "navigation", "alert", "alertdialog", "dialog"}
_PROTECTED = {"html", "body", "article", "main"}
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
COMMAS = re.compile(r"[,，、。،]")


def text_length(node: LexborNode) -> int:
    """Characters of text, runs of whitespace counted as one."""
    return len(" ".join(node.text().split()))


def link_density(node: LexborNode, total: int | None = None) -> float:
    total = text_length(node) if total is None else total
    if not total:
        return 0.0
    links = sum(text_length(a) for a in node.css("a[href]"))
    return min(1.0, links / total)


def _names(node: LexborNode) -> str:
    attrs = node.attributes
    return f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()


def class_weight(node: LexborNode) -> int:
    weight = 0
    attrs = node.attributes
    for value in (attrs.get("class"), attrs.get("id")):
        if value:
            value = value.lower()
            weight -= 25 if NEGATIVE.search(value) else 0
            weight += 25 if POSITIVE.search(value) else 0
    return weight


def remove_furniture(body: LexborNode) -> None:
    """Remove junk tags, hidden elements, and elements whose class/id/role name
    them as furniture, sparing any that hold a large share of the page's text."""
    page_text = max(1, text_length(body))
    doomed: list[LexborNode] = []
    for node in body.css("[class], [id], [role], [hidden], [aria-hidden], [style]"):
        tag = node.tag or ""
        if tag in _PROTECTED:
            continue
        attrs = node.attributes
        if (
            "hidden" in attrs
            or (attrs.get("aria-hidden") or "").lower() == "true"
            or _HIDDEN.search(attrs.get("style") or "")
        ):
            doomed.append(node)
            continue
        names = _names(node)
        role = (attrs.get("role") or "").lower()
        furniture = role in _ROLES
        if not furniture and names.strip() and FURNITURE.search(names):
            furniture = not CONTENT_HINT.search(names) or bool(_STRONG_FURNITURE.search(names))
        if not furniture:
            continue
        if node.css_first("article, [itemprop=articleBody]") is not None:
            continue
        if text_length(node) > 0.4 * page_text:
            continue
        doomed.append(node)
    for node in reversed(doomed):  # innermost first: an ancestor is never freed early
        node.decompose()


def _is_data_table(table: LexborNode) -> bool:
    attrs = table.attributes
    if (attrs.get("role") or "") == "presentation":
        return False
    if table.css_first("caption, thead, th, col, colgroup, tfoot") is not None:
        return True
    rows = len(table.css("tr"))
    cols = max((len(tr.css("td")) for tr in table.css("tr")[:5]), default=0)
    return rows >= 10 or cols > 4 or (rows * cols > 10)


def _has_ancestor(node: LexborNode, tags: tuple[str, ...], limit: int = 8) -> bool:
    parent = node.parent
    for _ in range(limit):
        if parent is None:
            return False
        if parent.tag in tags:
            return True
        parent = parent.parent
    return False


def _conditionally_doomed(node: LexborNode, score: float, div_paragraphs: set[int]) -> bool:
    """Readability's _cleanConditionally test for one element."""
    tag = node.tag or ""
    if tag == "table" and _is_data_table(node):
        return False
    if _has_ancestor(node, ("code", "pre")):
        return False
    weight = class_weight(node)
    if weight + score < 0:
        return True
    text = node.text()
    if len(COMMAS.findall(text)) >= 10:
        return False
    length = len(" ".join(text.split()))
    paragraphs = len(node.css("p")) + sum(
        1 for div in node.css("div") if div.mem_id in div_paragraphs
    )
    images = len(node.css("img"))
    items = len(node.css("li")) - 100
    inputs = len(node.css("input"))
    heading = sum(text_length(h) for h in node.css("h1, h2, h3, h4, h5, h6"))
    density = link_density(node, length)
    is_list = tag in ("ul", "ol")
    in_figure = _has_ancestor(node, ("figure",))
    doomed = (
        (images > 1 and paragraphs / images < 0.5 and not in_figure)
        or (not is_list and items > paragraphs)
        or inputs > paragraphs // 3
        or (
            not is_list
            and heading < 0.9 * max(1, length)
            and length < 25
            and (images == 0 or images > 2)
            and not in_figure
        )
        or (not is_list and weight < 25 and density > 0.2)
        or (weight >= 25 and density > 0.5)
    )
    doomed = doomed or (is_list and density > 0.5)
    if doomed and is_list:  # a plain list of images stays
        children = [c for c in node.iter()]
        if all(len([g for g in c.iter()]) <= 1 for c in children) and images == len(children):
            return False
    return doomed


def prune_content(
    nodes: list[LexborNode], scores: dict[int, float], div_paragraphs: set[int]
) -> list[LexborNode]:
    """Readability's conditional cleaning inside the chosen nodes: link lists, image
    galleries without text, negatively named blocks. ``div_paragraphs``: the divs
    that hold only inline content, which count as paragraphs."""
    kept = []
    for top in nodes:
        inner = [
            n for n in top.css("table, ul, div, section, header")
            if n.mem_id != top.mem_id
        ]  # fmt: skip
        for node in reversed(inner):
            if _conditionally_doomed(node, scores.get(node.mem_id, 0.0), div_paragraphs):
                node.decompose()
        for paragraph in reversed(top.css("p")):
            length = text_length(paragraph)
            if 0 < length < 150 and link_density(paragraph, length) > 0.8:
                if paragraph.mem_id == top.mem_id:
                    break
                paragraph.decompose()
        else:
            kept.append(top)
    return kept
