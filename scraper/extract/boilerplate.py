"""What the generic extractor throws away: page furniture before scoring, and
low-value blocks inside the chosen content afterwards (readability's "conditional
cleaning"). Patterns are about page furniture in general, never about one site.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from scraper.extract.measure import Dropper, Stats

__all__ = ["JUNK_TAGS", "class_weight", "content_dropper", "furniture_dropper", "is_furniture"]

JUNK_TAGS = [
    "script", "style", "template", "svg", "canvas", "iframe", "object", "embed", "input",
    "button", "select", "textarea", "link", "meta", "dialog", "audio", "video", "map",
]  # fmt: skip
# Furniture by tag; like furniture by name, kept when it holds the article.
FURNITURE_TAGS = frozenset({"form", "nav", "aside", "footer"})

# Furniture named as such: removed wherever found (unless it holds the article).
FURNITURE = re.compile(
    r"comment|disqus|share|sharing|social|related|recommend|newsletter|subscri|cookie|gdpr|"
    r"consent|promo|advert|(?:^|[^a-z])(?:ads?|adv|dfp|gpt|taboola|outbrain)(?:[^a-z]|$)|"
    r"ad-(?:slot|unit|container|wrapper|block|box)|adsbygoogle|sponsor|sidebar|breadcrumb|"
    r"footer|menu|popup|pop-up|modal|masthead|navbar|(?:^|[^a-z])nav(?:[^a-z]|$)|"
    r"pagination|pager|skyscraper|signup|sign-up|paywall|login|most-?popular|trending|"
    r"more-?stories|read-?more|also-?read|toolbar|shoutbox|agegate|byline|dateline|"
    r"author-?(?:bio|info|box)|(?:^|[^a-z])tags?(?:[^a-z]|$)|hidden|print-only|skip-link|"
    r"sr-only|visually-?hidden|screen-?reader|off-?screen"
)
# …unless the same name says it is content, and the furniture word is a weak one.
CONTENT_HINT = re.compile(r"article|body|content|main|column|story|entry|post-text")
STRONG_FURNITURE = re.compile(
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
    r"sidebar|skyscraper|sponsor|shopping|tags|tool|widget|credit"
)
_ROLES = frozenset({"menu", "menubar", "complementary", "navigation", "alert", "alertdialog",
                    "dialog"})  # fmt: skip
_PROTECTED = frozenset({"html", "body", "article", "main"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_PRUNED = frozenset({"table", "ul", "div", "section", "header"})
_MAX_FURNITURE_SHARE = 0.4


def class_weight(node: LexborNode) -> int:
    """Readability's weight of an element's class and id: ±25 each."""
    weight = 0
    attrs = node.attributes
    for name in (attrs.get("class"), attrs.get("id")):
        if name:
            lowered = name.lower()
            weight -= 25 if NEGATIVE.search(lowered) else 0
            weight += 25 if POSITIVE.search(lowered) else 0
    return weight


def _hidden(attrs: dict[str, str | None]) -> bool:
    return (
        "hidden" in attrs
        or (attrs.get("aria-hidden") or "").lower() == "true"
        or bool(_HIDDEN_STYLE.search(attrs.get("style") or ""))
    )


def _named_furniture(names: str) -> bool:
    if not FURNITURE.search(names):
        return False
    return not CONTENT_HINT.search(names) or bool(STRONG_FURNITURE.search(names))


def furniture_dropper(page_text: int) -> Dropper:
    """A ``measure`` dropper for the whole page: hidden elements, and elements whose
    tag, class, id or role name them as furniture, sparing those that hold the
    article or a large share of the page's text."""
    verdicts: dict[str, bool] = {}  # class and id strings repeat: decide each once

    def drop(node: LexborNode, tag: str, stats: Stats, is_root: bool) -> bool:
        if is_root or tag in _PROTECTED:
            return False
        attrs = node.attributes
        if not attrs and tag not in FURNITURE_TAGS:
            return False
        if ("hidden" in attrs or "aria-hidden" in attrs or "style" in attrs) and _hidden(attrs):
            return True
        furniture = tag in FURNITURE_TAGS or (attrs.get("role") or "").lower() in _ROLES
        if not furniture:
            names = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()
            verdict = verdicts.get(names)
            if verdict is None:
                verdict = verdicts[names] = _named_furniture(names)
            furniture = verdict
        return furniture and not stats.marked and stats.text <= _MAX_FURNITURE_SHARE * page_text

    return drop


def is_furniture(node: LexborNode, verdicts: dict[str, bool]) -> bool:
    """Whether the element is hidden, or named, tagged or given a role as furniture
    (``verdicts`` caches the verdict on class and id strings). Never for the page's
    and the article's own elements (html, body, article, main)."""
    tag = node.tag or ""
    if tag in _PROTECTED:
        return False
    attrs = node.attributes
    if not attrs:
        return tag in FURNITURE_TAGS
    if ("hidden" in attrs or "aria-hidden" in attrs or "style" in attrs) and _hidden(attrs):
        return True
    if tag in FURNITURE_TAGS or (attrs.get("role") or "").lower() in _ROLES:
        return True
    names = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()
    verdict = verdicts.get(names)
    if verdict is None:
        verdict = verdicts[names] = _named_furniture(names)
    return verdict


def content_dropper(scores: dict[int, float], page_text: int) -> Dropper:
    """A ``measure`` dropper for the chosen content: furniture (as ``furniture_dropper``)
    and readability's conditional cleaning (as ``prune_content``), in one pass."""
    furniture = furniture_dropper(page_text)

    def drop(node: LexborNode, tag: str, stats: Stats, is_root: bool) -> bool:
        if is_root:
            return tag == "p" and _doomed(node, tag, stats, scores.get(node.mem_id, 0.0))
        return furniture(node, tag, stats, is_root) or _doomed(
            node, tag, stats, scores.get(node.mem_id, 0.0)
        )

    return drop


def _own_rows(table: LexborNode) -> list[LexborNode]:
    """The table's own rows (not those of tables nested in its cells)."""
    rows: list[LexborNode] = []
    for child in table.iter():
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in child.iter() if row.tag == "tr")
    return rows


def _is_data_table(table: LexborNode) -> bool:
    # Only the table's own structure is read: querying its whole subtree would make
    # pages of deeply nested layout tables quadratic.
    if (table.attributes.get("role") or "") == "presentation":
        return False
    if any(c.tag in ("caption", "thead", "col", "colgroup", "tfoot") for c in table.iter()):
        return True
    rows = _own_rows(table)
    cells = [[c.tag for c in row.iter()] for row in rows[:5]]
    if any("th" in row for row in cells):
        return True
    cols = max((row.count("td") for row in cells), default=0)
    return len(rows) >= 10 or cols > 4 or len(rows) * cols > 10


def _inside(node: LexborNode, tags: tuple[str, ...], limit: int = 8) -> bool:
    parent = node.parent
    for _ in range(limit):
        if parent is None:
            return False
        if parent.tag in tags:
            return True
        parent = parent.parent
    return False


def _doomed(node: LexborNode, tag: str, stats: Stats, score: float) -> bool:
    """Readability's _cleanConditionally test, on measured numbers. The exemptions
    that read the tree around the node (data tables, code, figures) are looked at
    only when they could change the verdict."""
    if tag == "p":  # a short paragraph that is only a link: "Related: …", "Read more"
        return 0 < stats.text < 150 and stats.link_density > 0.8
    if tag not in _PRUNED:
        return False
    weight = class_weight(node)
    if weight + score < 0:
        return _not_exempt(node, tag)
    if stats.commas >= 10:
        return False
    length = stats.text
    paragraphs = stats.paragraphs - (tag == "div" and not stats.has_block)
    images = stats.images
    is_list = tag == "ul"
    density = stats.link_density
    doomed = (
        (not is_list and stats.items - 100 > paragraphs)
        or (not is_list and weight < 25 and density > 0.2)
        or (weight >= 25 and density > 0.5)
        or (is_list and density > 0.5)
        or (
            (
                (images > 1 and paragraphs / images < 0.5)
                or (
                    not is_list
                    and stats.headings < 0.9 * max(1, length)
                    and length < 25
                    and (images == 0 or images > 2)
                )
            )
            and not _inside(node, ("figure",))
        )
    )
    if doomed and is_list and images:  # a plain list of images stays
        items = list(node.iter())
        if images == len(items) and all(len(list(item.iter())) <= 1 for item in items):
            return False
    return doomed and _not_exempt(node, tag)


def _not_exempt(node: LexborNode, tag: str) -> bool:
    """Data tables and anything inside code are never pruned."""
    if tag == "table" and _is_data_table(node):
        return False
    return not _inside(node, ("code", "pre"))
