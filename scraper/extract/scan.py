"""One walk over a page's body that finds what the generic extractor needs.

Each ``css()`` call makes lexbor walk the whole tree (about 0.1 ms on a typical news
page), and the extractor used to ask six or seven of them: junk tags, metadata
sources, prose paragraphs, cells, divs. Here one Python walk of the body, comparing
lexbor's integer tag ids, collects all of them in page order, and skips the inside of
junk elements (scripts, SVG, forms' controls…), which are removed afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.measure import BLOCK_TAGS, after

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
_BLOCK_IDS = _PROSE | _CELLS  # the blocks collected
# What the walk does with each tag it looks at, as bits (one lookup a node; most
# tags, span, a, li…, have none).
_IS_JUNK, _IS_SOURCE, _IS_BLOCK, _IS_PROSE, _IS_CELL = 1, 2, 4, 8, 16
_ROLES = {
    tag: (tag in _JUNK) * _IS_JUNK
    | (tag in _SOURCES) * _IS_SOURCE
    | (tag in _BLOCKS) * _IS_BLOCK
    | (tag in _PROSE) * _IS_PROSE
    | (tag in _CELLS) * _IS_CELL
    for tag in _JUNK | _SOURCES | _BLOCKS | _PROSE | _CELLS
}


@dataclass(slots=True)
class BodyScan:
    """The body's elements the extractor reads, each list in page order; ``index``
    holds the position in ``blocks`` of each block, by ``mem_id``."""

    junk: list[LexborNode] = field(default_factory=list)  # outermost junk elements
    sources: list[LexborNode] = field(default_factory=list)  # meta, script, time, title
    prose: list[LexborNode] = field(default_factory=list)  # p and pre
    blocks: list[LexborNode] = field(default_factory=list)  # p, pre, td and div
    index: dict[int, int] = field(default_factory=dict)
    body: int = 0  # the body's mem_id
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
        """The collected p, pre, td and div elements inside ``root`` (itself
        included), a run of ``blocks``: from the first inside it to the first after."""
        if root.mem_id == self.body:
            return list(self.blocks)
        start = self._first_block(root)
        if start is None:
            return []
        end = len(self.blocks)
        current: LexborNode | None = root
        while current is not None and current.mem_id != self.body:
            sibling = current.next
            while sibling is not None:
                found = self._first_block(sibling)
                if found is not None:
                    return self.blocks[start:found]
                sibling = sibling.next
            current = current.parent
        return self.blocks[start:end]

    def _first_block(self, root: LexborNode) -> int | None:
        """The position of the first block at or inside ``root``, in page order."""
        for node in root.traverse():
            if node.tag_id in _BLOCK_IDS:
                return self.index.get(node.mem_id)
        return None


def scan_body(body: LexborNode) -> BodyScan:
    """Walk ``body`` once; junk elements are listed (not removed) and not entered."""
    scan = BodyScan()
    junk = scan.junk
    sources = scan.sources
    prose = scan.prose
    blocks = scan.blocks
    index = scan.index
    scan.body = body.mem_id
    holders = scan.holders
    roles = _ROLES
    skip_to: int | None = -1  # the mem_id that ends a junk subtree (None: the body's end)
    for node in body.traverse():
        if skip_to != -1:
            if node.mem_id != skip_to:
                continue
            skip_to = -1
        role = roles.get(node.tag_id)
        if role is None:
            continue
        if role & _IS_JUNK:
            junk.append(node)
            if role & _IS_SOURCE:
                sources.append(node)
            skip_to = after(node)
            if skip_to is None:
                break
            continue
        if role & _IS_SOURCE:
            sources.append(node)
        if role & _IS_BLOCK:
            holders.add(node.parent.mem_id)  # type: ignore[union-attr]
        if role & _IS_PROSE:
            prose.append(node)
        if role & (_IS_PROSE | _IS_CELL):
            index[node.mem_id] = len(blocks)
            blocks.append(node)
    return scan
