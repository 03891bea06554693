"""One pass over a tree that measures every element bottom-up (text, links, commas,
paragraphs…) and drops elements on the way, so that a dropped element's numbers
never reach its ancestors. Linear in the size of the tree whatever its depth: the
generic extractor's scoring and pruning read these numbers instead of re-walking
subtrees.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from selectolax.lexbor import LexborNode

__all__ = ["BLOCK_TAGS", "Measured", "Stats", "measure"]

COMMAS = re.compile(r"[,，、。،]")
# Children that make a <div> a container rather than a paragraph (readability's list).
BLOCK_TAGS = frozenset({
    "blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul", "section", "article",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "header", "main", "picture",
})  # fmt: skip
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_OWN_NUMBERS = _HEADINGS | {"p", "div", "img", "li", "a", "article"}


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


@dataclass
class Measured:
    stats: dict[int, Stats] = field(default_factory=dict)
    parent: dict[int, int] = field(default_factory=dict)
    nodes: dict[int, LexborNode] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)  # elements in page order
    dropped: list[LexborNode] = field(default_factory=list)  # innermost first
    dead: set[int] = field(default_factory=set)  # dropped, or inside something dropped
    # each element's own text (outside child elements): (characters, commas)
    own_text: dict[int, tuple[int, int]] = field(default_factory=dict)

    def ancestors(self, key: int, limit: int = 1_000_000) -> list[int]:
        found: list[int] = []
        key = self.parent.get(key, 0)
        while key and len(found) < limit:
            found.append(key)
            key = self.parent.get(key, 0)
        return found


def measure(
    root: LexborNode,
    drop: Dropper,
    marked: frozenset[int] = frozenset(),
    known: dict[int, tuple[int, int]] | None = None,
) -> Measured:
    """Measure ``root``'s subtree; ``drop`` decides which elements go (they are
    listed in ``dropped``, not removed: call ``decompose`` on them in that order).
    ``marked``: ids of elements that count as an article body. ``known``: the
    ``own_text`` of an earlier measure of the same elements, reused."""
    result = Measured()
    stats = result.stats
    parents = result.parent
    nodes = result.nodes
    order = result.order
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
        if parent_key not in stats and key != root_id:
            continue  # inside something skipped (cannot happen for elements; be safe)
        entries.append((node, tag, key, parent_key))
        stats[key] = Stats()
        parents[key] = parent_key
        nodes[key] = node
        order.append(key)
    dropped_nodes = result.dropped
    own_text = result.own_text
    known = known or {}
    for node, tag, key, parent_key in reversed(entries):
        own = stats[key]
        found = known.get(key)
        if found is None:
            text = node.text(deep=False)
            if text and not text.isspace():
                found = (
                    len(" ".join(text.split())),
                    text.count(",") + text.count("，") + text.count("、") + text.count("。")
                    + text.count("،"),
                )  # fmt: skip
            else:
                found = (0, 0)
        own_text[key] = found
        length, commas = found
        if length:
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
            dropped_nodes.append(node)
            continue
        if not is_root:
            stats[parent_key].add(own, tag in BLOCK_TAGS)
    dropped = {n.mem_id for n in result.dropped}
    dead = result.dead
    for key in order:
        if key in dropped or parents.get(key) in dead:
            dead.add(key)
    return result


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
