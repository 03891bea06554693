"""One pass over a tree that measures every element bottom-up (text, links, commas,
paragraphs…) and drops elements on the way, so that a dropped element's numbers
never reach its ancestors. Linear in the size of the tree whatever its depth: the
generic extractor's scoring and pruning read these numbers instead of re-walking
subtrees.
"""

from __future__ import annotations

from collections.abc import Callable

from selectolax.lexbor import LexborNode

__all__ = ["BLOCK_TAGS", "Stats", "collapsed", "collapsed_length", "count_commas", "measure"]

# Children that make a <div> a container rather than a paragraph (readability's list).
BLOCK_TAGS = frozenset({
    "blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul", "section", "article",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "header", "main", "picture",
})  # fmt: skip
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_OWN_NUMBERS = _HEADINGS | {"p", "div", "img", "li", "a", "article"}


def count_commas(text: str) -> int:
    """Commas of any script (and the ideographic full stop, which Chinese uses for
    what English separates with commas)."""
    commas = text.count(",")
    if not text.isascii():  # (a flag test: no scan)
        commas += text.count("，") + text.count("、") + text.count("。") + text.count("،")
    return commas


def collapsed(text: str) -> str:
    """``" ".join(text.split())``, without building the words when the only
    whitespace inside the text is single spaces (most text nodes: their only other
    whitespace is the source's indentation around them). Every whitespace
    character but the space is unprintable, which ``isprintable`` tests in C."""
    if "  " not in text and text.isprintable():
        return text.strip(" ")
    stripped = text.strip()
    if "  " not in stripped and stripped.isprintable():
        return stripped
    return " ".join(text.split())


def collapsed_length(text: str) -> int:
    """``len(collapsed(text))``."""
    if "  " not in text and text.isprintable():
        return len(text.strip(" "))
    stripped = text.strip()
    if "  " not in stripped and stripped.isprintable():
        return len(stripped)
    return len(" ".join(text.split()))


class Stats:
    """An element's numbers, its subtree's kept elements included."""

    __slots__ = ("commas", "has_block", "headings", "images", "items", "links", "marked",
                 "paragraphs", "text")  # fmt: skip

    def __init__(self) -> None:
        self.text = 0  # characters of text, whitespace runs counted as one
        self.links = 0  # of which inside a[href]
        self.commas = 0
        self.has_block = False  # a block element among its children
        self.paragraphs = 0  # <p>, and <div>s holding only inline content
        self.images = 0
        self.items = 0  # <li>
        self.headings = 0  # characters of heading text
        self.marked = False  # holds an <article> or a schema.org articleBody

    @property
    def link_density(self) -> float:
        return min(1.0, self.links / self.text) if self.text else 0.0


# drop(node, tag, attributes, stats, is_root) -> bool: called once per element,
# children first (``attributes``: the element's, read once for measure and dropper).
Dropper = Callable[[LexborNode, str, dict[str, str | None], Stats, bool], bool]


def measure(
    root: LexborNode, drop: Dropper, marked: frozenset[int] = frozenset()
) -> list[LexborNode]:
    """Measure ``root``'s subtree; ``drop`` decides which elements go. Returns them
    innermost first (not removed: call ``decompose`` on them in that order); the
    root, if dropped, comes last. ``marked``: ids of elements that count as an
    article body."""
    stats: dict[int, Stats] = {}
    root_id = root.mem_id
    # Page order, parents before children (lexbor's own traversal). Only elements are
    # visited in Python: an element's own text comes from one C call
    # (``text(deep=False)``), which keeps this pass cheap on pages of thousands of nodes.
    entries: list[tuple[LexborNode, str, int, Stats | None]] = []
    for node in root.traverse():
        tag = node.tag
        if not tag or tag[0] in "-_!#":
            continue
        key = node.mem_id
        own = stats[key] = Stats()
        parent = None if key == root_id else stats.get(node.parent.mem_id)  # type: ignore[union-attr]
        entries.append((node, tag, key, parent))
    dropped: list[LexborNode] = []
    for node, tag, key, parent in reversed(entries):
        own = stats[key]
        text = node.text(deep=False)
        if text and not text.isspace():
            own.text += collapsed_length(text)
            own.commas += count_commas(text)
        attrs = node.attributes
        if tag in _OWN_NUMBERS:
            _own_numbers(tag, attrs, own)
        if key in marked:
            own.marked = True
        if drop(node, tag, attrs, own, parent is None):
            dropped.append(node)
        elif parent is not None:
            parent.text += own.text
            parent.links += own.links
            parent.commas += own.commas
            parent.paragraphs += own.paragraphs
            parent.images += own.images
            parent.items += own.items
            parent.headings += own.headings
            if own.marked:
                parent.marked = True
            if tag in BLOCK_TAGS:
                parent.has_block = True
    return dropped


def _own_numbers(tag: str, attrs: dict[str, str | None], own: Stats) -> None:
    if tag == "p" or (tag == "div" and not own.has_block):
        own.paragraphs += 1
    elif tag == "img":
        own.images += 1
    elif tag == "li":
        own.items += 1
    elif tag in _HEADINGS:
        own.headings = own.text
    elif tag == "a" and "href" in attrs:
        own.links = own.text
    elif tag == "article":
        own.marked = True
