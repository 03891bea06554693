"""What the generic extractor throws away: page furniture before scoring, and
low-value blocks inside the chosen content afterwards (readability's "conditional
cleaning"). Patterns are about page furniture in general, never about one site.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from selectolax.lexbor import LexborNode

from scraper.extract.measure import (
    FIELD,
    HAS_BLOCK,
    MARKED,
    TEXT,
    Dropper,
    Look,
    Stats,
    Verdict,
    fields,
    link_density,
)
from scraper.extract.wordmatch import any_word

__all__ = [
    "ASKED_ATTRIBUTES", "ASKED_BARE", "PageText", "Verdicts", "class_weight", "content_dropper",
    "furniture_dropper", "is_furniture",
]  # fmt: skip

# Furniture by tag; like furniture by name, kept when it holds the article.
FURNITURE_TAGS = frozenset({"form", "nav", "aside", "footer"})

# Furniture named as such: removed wherever found (unless it holds the article).
_FURNITURE_NAMES = any_word(
    words=(
        "comment", "disqus", "share", "sharing", "social", "related", "recommend",
        "newsletter", "subscri", "cookie", "gdpr", "consent", "promo", "advert", "ad-slot",
        "ad-unit", "ad-container", "ad-wrapper", "ad-block", "ad-box", "adsbygoogle",
        "sponsor", "sidebar", "breadcrumb", "footer", "menu", "popup", "pop-up", "modal",
        "masthead", "navbar", "pagination", "pager", "skyscraper", "signup", "sign-up",
        "paywall", "login", "most-?popular", "trending", "more-?stories", "read-?more",
        "also-?read", "toolbar", "shoutbox", "agegate", "byline", "dateline", "author-?bio",
        "author-?info", "author-?box", "hidden", "print-only", "skip-link", "sr-only",
        "visually-?hidden", "screen-?reader", "off-?screen",
    ),
    bounded=("ads?", "adv", "dfp", "gpt", "taboola", "outbrain", "nav", "tags?"),
)  # fmt: skip
# …unless the same name says it is content, and the furniture word is a weak one.
_CONTENT_HINT = any_word(
    words=("article", "body", "content", "main", "column", "story", "entry", "post-text")
)
_STRONG_FURNITURE = any_word(
    words=(
        "comment", "disqus", "share", "sharing", "social", "related", "recommend",
        "newsletter", "subscri", "cookie", "promo", "advert", "outbrain", "taboola", "popup",
        "modal", "breadcrumb", "byline", "dateline",
    ),
    bounded=("ads?", "dfp"),
)  # fmt: skip
# Readability's class weights.
_POSITIVE = any_word(
    words=(
        "article", "body", "content", "entry", "hentry", "h-entry", "main", "page", "post",
        "text", "blog", "story", "prose",
    )
)  # fmt: skip
_NEGATIVE = any_word(
    words=(
        "-ad-", "hidden", "banner", "combx", "comment", "com-", "contact", "foot", "footer",
        "footnote", "gdpr", "masthead", "media", "meta", "outbrain", "promo", "related",
        "scroll", "share", "shoutbox", "sidebar", "skyscraper", "sponsor", "shopping", "tags",
        "tool", "widget", "credit",
    ),
    tokens=("hid",),
)  # fmt: skip
_ROLES = frozenset({"menu", "menubar", "complementary", "navigation", "alert", "alertdialog",
                    "dialog"})  # fmt: skip
_PROTECTED = frozenset({"html", "body", "article", "main"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_NOT_WORD = re.compile(r"[\W_]+")
_PRUNED = frozenset({"table", "ul", "div", "section", "header"})
_MAX_FURNITURE_SHARE = 0.4

# Without attributes, only these tags can be dropped (by tag, or by their numbers).
ASKED_BARE = FURNITURE_TAGS | _PRUNED | {"p"}
# The verdict on each (class, id) pair met.
Verdicts = dict[tuple[str | None, str | None], bool]
# Of other tags, only elements with one of these attributes can be dropped (hidden,
# or named or given a role as furniture).
ASKED_ATTRIBUTES = frozenset({"hidden", "aria-hidden", "style", "role", "class", "id"})


def class_weight(node: LexborNode, cache: dict[str, int] | None = None) -> int:
    """Readability's weight of an element's class and id: ±25 each (``cache``:
    the weight of each class or id string seen before)."""
    return _weight(node, node.attributes, {} if cache is None else cache)


def _weight(node: LexborNode, attrs: dict[str, str | None], cache: dict[str, int]) -> int:
    weight = 0
    for is_id, name in ((False, attrs.get("class")), (True, attrs.get("id"))):
        if name:
            found = cache.get(name)
            if found is None:
                lowered = name.lower()
                found = cache[name] = (25 if _POSITIVE(lowered) else 0) - (
                    25 if _NEGATIVE(lowered) else 0
                )
            if found < 0 and is_id and _id_names_its_heading(node, attrs):
                found = 0
            weight += found
    return weight


def _hidden(attrs: dict[str, str | None]) -> bool:
    if "hidden" in attrs or (attrs.get("aria-hidden") or "").lower() == "true":
        return True
    style = (attrs.get("style") or "").lower()
    return ("none" in style or "hidden" in style) and bool(_HIDDEN_STYLE.search(style))


def _named_furniture(names: str) -> bool:
    if not _FURNITURE_NAMES(names):
        return False
    return not _CONTENT_HINT(names) or _STRONG_FURNITURE(names)


def _furniture_verdict(
    tag: str,
    attrs: dict[str, str | None],
    verdicts: Verdicts,
    node: LexborNode | None = None,
) -> bool | None:
    """True: hidden. False: not furniture. None: furniture by tag, role or name
    (dropped unless it holds the article or much of the page)."""
    if not attrs:
        return None if tag in FURNITURE_TAGS else False
    if ("hidden" in attrs or "aria-hidden" in attrs or "style" in attrs) and _hidden(attrs):
        return True
    if tag in FURNITURE_TAGS:
        return None
    role = attrs.get("role")
    if role and role.lower() in _ROLES:
        return None
    name = attrs.get("class")
    anchor = attrs.get("id")
    if not name and not anchor:  # a link, an image: nothing named
        return False
    key = (name, anchor)
    verdict = verdicts.get(key)
    if verdict is None:
        verdict = verdicts[key] = _named_furniture(f"{name or ''} {anchor or ''}".lower())
    if verdict and node is not None and _id_names_its_heading(node, attrs):
        return False
    return None if verdict else False


def _id_names_its_heading(node: LexborNode, attrs: dict[str, str | None]) -> bool:
    """A section whose id is its own heading's anchor ("sharing-with-a-team" above
    "Sharing with a team") is named by its words, not as a share bar; asked only of
    elements a name already made furniture."""
    anchor = attrs.get("id")
    if not anchor or _furniture_class(attrs):
        return False
    for child in node.iter():
        if child.tag in _HEADINGS:
            return _slug(child.text()) == _slug(anchor)
        if child.text(deep=False).strip():
            return False
    return False


def _slug(text: str) -> str:
    return "-".join(_NOT_WORD.split(text.casefold())).strip("-")


def _furniture_class(attrs: dict[str, str | None]) -> bool:
    return _named_furniture((attrs.get("class") or "").lower())


def is_furniture(node: LexborNode, verdicts: Verdicts) -> bool:
    """Whether the element is hidden, or named, tagged or given a role as furniture
    (``verdicts`` caches the verdict on class and id strings). Never for the page's
    and the article's own elements (html, body, article, main)."""
    tag = node.tag or ""
    if tag in _PROTECTED:
        return False
    return _furniture_verdict(tag, node.attributes, verdicts, node) is not False


_HIDDEN = "hidden"  # content_dropper's verdict on a hidden element it measures


class PageText:
    """The collapsed length of the page's text, as the content dropper's share test
    asks it: read (``read()``, the dearest question of the drop) only when
    ``at_least``, a lower bound of it, does not decide. Answers are those of reading it
    at the first question; ``settle`` must be called before the tree changes, so that
    a later question still gets the length as it was then."""

    def __init__(self, read: Callable[[], int], at_least: int = 0) -> None:
        self._read = read
        self._at_least = at_least
        self._length: int | None = None
        self.asked = False

    def share(self, length: int) -> bool:
        """Whether ``length`` is at most a furniture's share of the page's text."""
        self.asked = True
        if self._length is None:
            if length <= _MAX_FURNITURE_SHARE * self._at_least:
                return True
            self._length = self._read()
        return length <= _MAX_FURNITURE_SHARE * self._length

    def settle(self) -> None:
        """The tree is about to change: read the length now if a question relied on
        the bound, and forget the bound (it held for the tree as it was)."""
        if self.asked and self._length is None:
            self._length = self._read()
        self._at_least = 0


def content_dropper(
    scores: dict[int, float], page_text: PageText, marked: bool, verdicts: Verdicts
) -> tuple[Look, Dropper]:
    """A ``measure`` dropper for the chosen content: hidden elements; elements whose
    tag, class, id or role name them as furniture, sparing those that hold the
    article or a large share of the page's text (``page_text``); and readability's
    conditional cleaning. ``marked``: whether the page marks elements as its article
    body. ``verdicts``: the verdicts on class and id names met so far on the page
    (the choice's), kept and added to (those strings repeat: each decided once)."""
    weights: dict[str, int] = {}
    share = page_text.share

    def look(node: LexborNode, tag: str, attrs: dict[str, str | None]) -> Verdict:
        if tag in _PROTECTED:
            return False
        verdict = _furniture_verdict(tag, attrs, verdicts, node)
        if verdict:  # hidden: it goes; unmeasured once the page's text is known,
            # as what is inside might have asked for it (decided before any cut)
            return True if page_text.asked else _HIDDEN
        if verdict is None and not marked and node.css_first("article") is None:
            # Its measured text is at most its raw text: if that is a furniture's
            # share, it goes whatever is inside, which need not be measured.
            return share(len(node.text())) or None
        return verdict

    def drop(  # noqa: PLR0917 (measure's Dropper, called in its hot loop)
        node: LexborNode,
        tag: str,
        attrs: dict[str, str | None],
        stats: Stats,
        is_root: bool,
        verdict: Verdict,
    ) -> bool:
        if is_root:
            if tag != "p":
                return False
            return _doomed(node, tag, stats, scores.get(node.mem_id, 0.0), attrs, weights)
        if verdict is _HIDDEN or (
            verdict is None and not stats & MARKED and share(stats >> TEXT & FIELD)
        ):
            return True
        if tag not in ASKED_BARE:  # (not a tag conditional cleaning looks at)
            return False
        return _doomed(node, tag, stats, scores.get(node.mem_id, 0.0), attrs, weights)

    return look, drop


def furniture_dropper() -> tuple[Look, Dropper]:
    """A ``measure`` dropper for a whole page: hidden elements and furniture (by tag,
    class, id or role) wherever they are, and readability's conditional cleaning."""
    verdicts: Verdicts = {}
    weights: dict[str, int] = {}

    def look(node: LexborNode, tag: str, attrs: dict[str, str | None]) -> Verdict:
        return tag not in _PROTECTED and _furniture_verdict(tag, attrs, verdicts, node) is not False

    def drop(  # noqa: PLR0917 (measure's Dropper, called in its hot loop)
        node: LexborNode,
        tag: str,
        attrs: dict[str, str | None],
        stats: Stats,
        is_root: bool,
        verdict: Verdict,
    ) -> bool:
        if is_root:
            return False
        return _doomed(node, tag, stats, 0.0, attrs, weights)

    return look, drop


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


def _doomed(  # noqa: PLR0917 (one call site, in the hot loop)
    node: LexborNode,
    tag: str,
    stats: Stats,
    score: float,
    attrs: dict[str, str | None],
    weights: dict[str, int],
) -> bool:
    """Readability's _cleanConditionally test, on measured numbers. The exemptions
    that read the tree around the node (data tables, code, figures) are looked at
    only when they could change the verdict."""
    if tag == "p":  # a short paragraph that is only a link: "Related: …", "Read more"
        return 0 < stats >> TEXT & FIELD < 150 and link_density(stats) > 0.8
    if tag not in _PRUNED:
        return False
    weight = _weight(node, attrs, weights)
    if weight + score < 0:
        return _not_exempt(node, tag)
    length, links, commas, paragraphs, images, items, headings = fields(stats)
    if commas >= 10:
        return False
    paragraphs -= tag == "div" and not stats & HAS_BLOCK
    is_list = tag == "ul"
    density = min(1.0, links / length) if length else 0.0
    doomed = (
        (not is_list and items - 100 > paragraphs)
        or (not is_list and weight < 25 and density > 0.2)
        or (weight >= 25 and density > 0.5)
        or (is_list and density > 0.5)
        or (
            (
                (images > 1 and paragraphs / images < 0.5)
                or (
                    not is_list
                    and headings < 0.9 * max(1, length)
                    and length < 25
                    and (images == 0 or images > 2)
                )
            )
            and not _inside(node, ("figure",))
        )
    )
    if doomed and is_list and images:  # a plain list of images stays
        children = list(node.iter())
        if images == len(children) and all(len(list(c.iter())) <= 1 for c in children):
            return False
    return doomed and _not_exempt(node, tag)


def _not_exempt(node: LexborNode, tag: str) -> bool:
    """Data tables and anything inside code are never pruned."""
    if tag == "table" and _is_data_table(node):
        return False
    return not _inside(node, ("code", "pre"))
