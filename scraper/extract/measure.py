"""One pass over a tree that measures every element bottom-up (text, links, commas,
paragraphs…) and drops elements on the way, so that a dropped element's numbers
never reach its ancestors. Linear in the size of the tree whatever its depth: the
generic extractor's scoring and pruning read these numbers instead of re-walking
subtrees.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

__all__ = ["BLOCK_TAGS", "Stats", "collapsed_length", "measure"]

COMMAS = re.compile(r"[,，、。،]")
# Children that make a <div> a container rather than a paragraph (readability's list).
BLOCK_TAGS = frozenset({
    "blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul", "section", "article",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "header", "main", "picture",
})  # fmt: skip
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_OWN_NUMBERS = _HEADINGS | {"p", "div", "img", "li", "a", "article"}


def collapsed_length(text: str) -> int:
    """``len(" ".join(text.split()))``, without building the words when the only
    whitespace in ``text`` is single spaces (most paragraphs)."""
    if "  " not in text and text.isprintable():
        return len(text.strip(" "))
    return len(" ".join(text.split()))


@dataclass(slots=True)
class Stats:
    text: int = 0  # characters of text, whitespace runs counted as one
    links: int = 0  # of which inside a[href]
    commas: int = 0
    loose_text: int = 0  # text outside any block child (a div's own paragraph)
    loose_commas: int = 0
    has_block: bool = False
    paragraphs: int = 0  # <p>, and <div>s holding only inline content
    images: int = 0
    items: int = 0  # <li>
    headings: int = 0  # characters of heading text
    children: int = 0  # element children kept
    marked: bool = False  # holds an <article> or a schema.org articleBody

    def add(self, child: Stats, block: bool) -> None:
        self.text += child.text
        self.links += child.links
        self.commas += child.commas
        self.paragraphs += child.paragraphs
        self.images += child.images
        self.items += child.items
        self.headings += child.headings
        self.marked = self.marked or child.marked
        self.children += 1
        if block:
            self.has_block = True
        else:
            self.loose_text += child.text
            self.loose_commas += child.commas

    @property
    def link_density(self) -> float:
        return min(1.0, self.links / self.text) if self.text else 0.0


# drop(node, tag, stats, is_root) -> bool: called once per element, children first.
Dropper = Callable[[LexborNode, str, Stats, bool], bool]


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
    entries: list[tuple[LexborNode, str, int, int]] = []
    for node in root.traverse():
        tag = node.tag or "-"
        if tag[0] in "-_!#":
            continue
        key = node.mem_id
        parent_key = 0 if key == root_id else node.parent.mem_id  # type: ignore[union-attr]
        entries.append((node, tag, key, parent_key))
        stats[key] = Stats()
    dropped: list[LexborNode] = []
    for node, tag, key, parent_key in reversed(entries):
        own = stats[key]
        text = node.text(deep=False)
        if text and not text.isspace():
            length = collapsed_length(text)
            commas = (
                text.count(",") + text.count("，") + text.count("、") + text.count("。")
                + text.count("،")
            )  # fmt: skip
            own.text += length
            own.loose_text += length
            own.commas += commas
            own.loose_commas += commas
        if tag in _OWN_NUMBERS:
            _own_numbers(node, tag, own)
        if key in marked:
            own.marked = True
        is_root = key == root_id
        if drop(node, tag, own, is_root):
            dropped.append(node)
        elif not is_root:
            parent = stats.get(parent_key)
            if parent is not None:
                parent.add(own, tag in BLOCK_TAGS)
    return dropped


def _own_numbers(node: LexborNode, tag: str, own: Stats) -> None:
    if tag == "p" or (tag == "div" and not own.has_block):
        own.paragraphs += 1
    elif tag == "img":
        own.images += 1
    elif tag == "li":
        own.items += 1
    elif tag in _HEADINGS:
        own.headings = own.text
    elif tag == "a" and "href" in node.attributes:
        own.links = own.text
    elif tag == "article":
        own.marked = True
