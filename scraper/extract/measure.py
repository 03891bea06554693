"""One pass over a tree that measures every element bottom-up (text, links, commas,
paragraphs…) and drops elements on the way, so that a dropped element's numbers
never reach its ancestors. Linear in the size of the tree whatever its depth: the
generic extractor's scoring and pruning read these numbers instead of re-walking
subtrees.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import cast

from selectolax.lexbor import LexborNode

__all__ = [
    "BLOCK_TAGS", "COMMAS", "FIELD", "HAS_BLOCK", "HEADINGS", "IMAGES", "ITEMS", "LINKS", "MARKED",
    "PARAGRAPHS", "TEXT", "Look", "Stats", "Verdict", "after", "collapsed", "collapsed_length",
    "count_commas", "fields", "link_density", "measure",
]  # fmt: skip

# Children that make a <div> a container rather than a paragraph (readability's list).
BLOCK_TAGS = frozenset({
    "blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul", "section", "article",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "header", "main", "picture",
})  # fmt: skip
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_OWN_NUMBERS = _HEADINGS | {"p", "div", "img", "li", "a", "article"}
# Void elements that are HTML ones wherever the parser meets them (inside SVG or
# MathML too): they never have children, so no text to read.
_VOID = frozenset({"br", "embed", "hr", "img", "meta"})


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


# An element's numbers, its subtree's kept elements included, as 32-bit fields of
# one int, at these shifts: adding two elements' numbers adds every field in one
# step (each element passes its numbers up to its parent).
TEXT = 0  # characters of text, whitespace runs counted as one
LINKS = 32  # of which inside a[href]
COMMAS = 64
PARAGRAPHS = 96  # <p>, and <div>s holding only inline content
IMAGES = 128
ITEMS = 160  # <li>
HEADINGS = 192  # characters of heading text
FIELD = (1 << 32) - 1  # (a page has fewer characters: MAX_BYTES)
_SUMMED = (1 << 224) - 1
_FIELDS = struct.Struct("<7I")
HAS_BLOCK = 1 << 224  # a flag: a block element among its children (not passed up)
MARKED = 1 << 225  # a flag: holds an <article> or a schema.org articleBody
Stats = int


def fields(stats: Stats) -> tuple[int, int, int, int, int, int, int]:
    """(text, links, commas, paragraphs, images, items, headings), in one C step."""
    return cast(
        "tuple[int, int, int, int, int, int, int]",
        _FIELDS.unpack((stats & _SUMMED).to_bytes(28, "little")),
    )


def link_density(stats: Stats) -> float:
    text = stats >> TEXT & FIELD
    return min(1.0, (stats >> LINKS & FIELD) / text) if text else 0.0


# look(node, tag, attributes) -> verdict: the dropper's first word on an element,
# in page order (parents first): True drops it with all it holds, unmeasured; any
# other verdict is handed to drop(node, tag, attributes, stats, is_root, verdict),
# called children first, with the element's numbers (``attributes``: read once).
Verdict = object
Look = Callable[[LexborNode, str, dict[str, str | None]], Verdict]
Dropper = Callable[[LexborNode, str, dict[str, str | None], Stats, bool, Verdict], bool]


def measure(
    root: LexborNode,
    look: Look,
    drop: Dropper,
    marked: frozenset[int],
    asked: tuple[frozenset[str], frozenset[str]],
) -> list[LexborNode]:
    """Measure ``root``'s subtree; ``look`` and ``drop`` decide which elements go.
    Returns them innermost first (not removed: call ``decompose`` on them in that
    order); the root, if dropped, comes last. ``marked``: ids of elements that count
    as an article body. ``asked``: (tags, attributes): the dropper is asked only
    about the root, elements of these tags and those with one of these attributes
    (it would keep any other)."""
    position: dict[int, int] = {}
    root_id = root.mem_id
    # Page order, parents before children (lexbor's own traversal), with the
    # position of each one's parent (-1: none). Only elements are visited in Python:
    # an element's own text comes from one C call (``text(deep=False)``), which keeps
    # this pass cheap on pages of thousands of nodes.
    entries: list[tuple[LexborNode, str, int, int, dict[str, str | None], bool, Verdict]] = []
    dropped: list[LexborNode] = []
    skip_to: int | None = -1  # the mem_id that ends a subtree dropped unmeasured
    for node in root.traverse():
        key = node.mem_id
        if skip_to != -1:
            if key != skip_to:
                continue
            skip_to = -1
        tag = node.tag
        if not tag or tag[0] in "-_!#":
            continue
        attrs = node.attributes
        if key == root_id:
            entries.append((node, tag, key, -1, attrs, True, False))
            position[key] = 0
            continue
        ask = tag in asked[0] or bool(attrs and not asked[1].isdisjoint(attrs))
        verdict = look(node, tag, attrs) if ask else False
        if verdict is True:
            dropped.append(node)
            skip_to = after(node)
            if skip_to is None:
                break
            continue
        parent = position.get(node.parent.mem_id, -1)  # type: ignore[union-attr]
        position[key] = len(entries)
        entries.append((node, tag, key, parent, attrs, ask, verdict))
    numbers = [0] * len(entries)
    for at in range(len(entries) - 1, -1, -1):
        node, tag, key, parent, attrs, ask, verdict = entries[at]
        own = numbers[at]
        text = "" if tag in _VOID else node.text(deep=False)
        if text and not text.isspace():
            own += collapsed_length(text) + (count_commas(text) << COMMAS)
        if tag in _OWN_NUMBERS:
            own = _own_numbers(tag, attrs, own)
        if key in marked:
            own |= MARKED
        if ask and drop(node, tag, attrs, own, parent < 0, verdict):
            dropped.append(node)
        elif parent >= 0:
            numbers[parent] = (numbers[parent] + (own & _SUMMED)) | (own & MARKED)
            if tag in BLOCK_TAGS:
                numbers[parent] |= HAS_BLOCK
    return dropped


def after(node: LexborNode) -> int | None:
    """The ``mem_id`` of the first element after ``node``'s subtree, in page order;
    None when nothing follows inside the document."""
    current: LexborNode | None = node
    while current is not None:
        sibling = current.next
        while sibling is not None:
            if sibling.is_element_node:
                return sibling.mem_id
            sibling = sibling.next
        current = current.parent
    return None


def _own_numbers(tag: str, attrs: dict[str, str | None], own: Stats) -> Stats:
    if tag == "p" or (tag == "div" and not own & HAS_BLOCK):
        return own + (1 << PARAGRAPHS)
    if tag == "img":
        return own + (1 << IMAGES)
    if tag == "li":
        return own + (1 << ITEMS)
    if tag in _HEADINGS:
        return _with_field(own, HEADINGS, own >> TEXT & FIELD)
    if tag == "a" and "href" in attrs:
        return _with_field(own, LINKS, own >> TEXT & FIELD)
    if tag == "article":
        return own | MARKED
    return own


def _with_field(stats: Stats, field: int, value: int) -> Stats:
    return stats & ~(FIELD << field) | value << field
