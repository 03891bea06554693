"""One walk over a page's body that finds what the generic extractor needs.

Each ``css()`` call makes lexbor walk the whole tree (about 0.1 ms on a typical news
page), and the extractor used to ask six or seven of them: junk tags, metadata
sources, prose paragraphs, cells, divs. Here one Python walk of the body, comparing
lexbor's integer tag ids, collects all of them in page order, and skips the inside of
junk elements (scripts, SVG, forms' controls…), which are removed afterwards.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.measure import BLOCK_TAGS

__all__ = ["TEXT_ID", "BodyScan", "scan_body", "tag_ids"]


def tag_ids(*tags: str) -> frozenset[int]:
    """lexbor's ids of these (HTML) tag names."""
    document = LexborHTMLParser("")
    return frozenset(document.create_node(tag).tag_id for tag in tags)


# A text node's tag id (CDATA is text too): one integer compared instead of the
# ``is_text_node`` property, which costs four times as much.
TEXT_ID = LexborHTMLParser("<p>x").body.child.child.tag_id  # type: ignore[union-attr]

JUNK_TAGS = (
    "script", "style", "template", "svg", "canvas", "iframe", "object", "embed", "input",
    "button", "select", "textarea", "link", "meta", "dialog", "audio", "video", "map",
)  # fmt: skip
_JUNK = tag_ids(*JUNK_TAGS)
# Metadata sources that may sit in the body (microdata <meta>, JSON-LD, <time>).
_SOURCES = tag_ids("meta", "script", "time", "title")
_PROSE = tag_ids("p", "pre")
_CELLS = tag_ids("div", "td")
_BLOCKS = tag_ids(*BLOCK_TAGS)


@dataclass(slots=True)
class BodyScan:
    """The body's elements the extractor reads, each list in page order.
    ``order`` holds every element's ``mem_id`` in page order, junk excluded, and
    ``index`` the position there of each element collected below."""

    junk: list[LexborNode] = field(default_factory=list)  # outermost junk elements
    sources: list[LexborNode] = field(default_factory=list)  # meta, script, time, title
    prose: list[LexborNode] = field(default_factory=list)  # p and pre
    blocks: list[LexborNode] = field(default_factory=list)  # p, pre, td and div
    order: list[int] = field(default_factory=list)
    index: dict[int, int] = field(default_factory=dict)
    holders: set[int] = field(default_factory=set)  # elements with a block child
    _texts: dict[int, str] = field(default_factory=dict)

    def remove_junk(self) -> None:
        for node in self.junk:
            node.decompose()
        self.junk.clear()

    def text(self, node: LexborNode) -> str:
        """``node.text()``, read once: the region, the scores and the length rules
        all read the same paragraphs' text. (Only while the tree is not changed:
        the junk is removed before the first call.)"""
        key = node.mem_id
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = node.text()
        return text

    def blocks_in(self, root: LexborNode) -> list[LexborNode]:
        """The collected p, pre, td and div elements inside ``root`` (itself included)."""
        if not self.order:
            return []
        try:
            start = self.order.index(root.mem_id)
        except ValueError:
            return []
        after = _after(root)
        end = len(self.order)
        if after is not None:
            with suppress(ValueError):
                end = self.order.index(after, start)
        index = self.index
        return [n for n in self.blocks if start <= index[n.mem_id] < end]


def scan_body(body: LexborNode) -> BodyScan:
    """Walk ``body`` once; junk elements are listed (not removed) and not entered."""
    scan = BodyScan()
    junk = scan.junk
    sources = scan.sources
    prose = scan.prose
    blocks = scan.blocks
    order = scan.order
    index = scan.index
    holders = scan.holders
    skip_to: int | None = -1  # the mem_id that ends a junk subtree (None: the body's end)
    for node in body.traverse():
        key = node.mem_id
        if skip_to != -1:
            if key != skip_to:
                continue
            skip_to = -1
        tag = node.tag_id
        if tag in _JUNK:
            junk.append(node)
            if tag in _SOURCES:
                sources.append(node)
            skip_to = _after(node)
            if skip_to is None:
                break
            continue
        if tag in _SOURCES:
            sources.append(node)
        if tag in _BLOCKS:
            holders.add(node.parent.mem_id)  # type: ignore[union-attr]
        index_here = len(order)
        order.append(key)
        if tag in _PROSE:
            prose.append(node)
            blocks.append(node)
            index[key] = index_here
        elif tag in _CELLS:
            blocks.append(node)
            index[key] = index_here
    return scan


def _after(node: LexborNode) -> int | None:
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
