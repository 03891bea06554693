"""Paragraph-first content choice for the generic extractor.

Only the page's paragraphs (``p``, ``pre``, ``td``, and ``div``s with text of their
own) and their ancestors are looked at in Python; text lengths come from one C call
per node. Each paragraph adds its score to its ancestors, less with distance;
paragraphs inside furniture (by tag, name, role, or hidden) count for nothing.
Link density is measured for the few best candidates only, and the numbers the
readability rules need (text, links, children) are read on demand and cached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from selectolax.lexbor import LexborNode

from scraper.extract.boilerplate import Verdicts, is_furniture
from scraper.extract.measure import BLOCK_TAGS, collapsed_length, count_commas
from scraper.extract.scan import tag_ids

__all__ = ["Page", "content_nodes", "landmark", "marked_body", "paragraph_scores", "split_blocks"]

_STOP = frozenset({"body", "html"})
_ANCESTOR_LEVELS = 5
_MAX_FURNITURE_SHARE = 0.4
_COMMAS_TO_CHECK = 10
_MAX_PARAGRAPH_LINKS = 0.5
_CHUNK_TEXT = 200
_DIGITS = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"[.。!！?？]\s*$")


class Page:
    """Lazily read numbers about the elements under ``root``, cached by ``mem_id``."""

    def __init__(self, root: LexborNode, marked: Sequence[LexborNode] = ()) -> None:
        self.root = root
        self.root_key = root.mem_id
        self.nodes: dict[int, LexborNode] = {root.mem_id: root}
        self.nodes.update((node.mem_id, node) for node in marked)
        self.marked = frozenset(node.mem_id for node in marked)
        self.parent_of: dict[int, int] = {root.mem_id: 0}
        self._furniture: dict[int, bool] = {}
        self.verdicts: Verdicts = {}  # on the class and id names met
        self._text: dict[int, int] = {}
        self._density: dict[int, float] = {}
        self.prose: dict[int, int] = {}  # scored paragraphs outside furniture: length

    def parent(self, key: int) -> int:
        found = self.parent_of.get(key)
        if found is None:
            parent = self.nodes[key].parent
            found = 0
            if parent is not None and key != self.root_key:
                found = parent.mem_id
                self.nodes.setdefault(found, parent)
            self.parent_of[key] = found
        return found

    def ancestors(self, key: int) -> list[int]:
        found: list[int] = []
        key = self.parent(key)
        while key:
            found.append(key)
            key = self.parent(key)
        return found

    def add(self, node: LexborNode) -> int:
        key = node.mem_id
        self.nodes.setdefault(key, node)
        return key

    def furniture(self, key: int) -> bool:
        """Whether the element itself is named, tagged or hidden as furniture."""
        verdict = self._furniture.get(key)
        if verdict is None:
            verdict = self._furniture[key] = is_furniture(self.nodes[key], self.verdicts)
        return verdict

    def text(self, key: int) -> int:
        length = self._text.get(key)
        if length is None:
            length = self._text[key] = collapsed_length(self.nodes[key].text())
        return length

    def prose_floor(self, within: set[int] | None = None, enough: int | None = None) -> int:
        """A lower bound of the collapsed text of the root (or, given ``within``,
        of those disjoint elements together), read from the scores alone: the
        scored ``<p>`` inside, but those inside another scored ``<p>`` (parsing nests
        one in another only through a button, object, table… between them), summed
        until ``enough``. An element's collapsed text is at least the sum of its
        disjoint parts' (their inner spaces stay). ``<td>`` and containers are left
        out: their lengths count spaces around inline children that the text may
        not have."""
        paragraphs = {key for key in self.prose if self.nodes[key].tag == "p"}

        def counted(key: int) -> bool:
            above = key
            while within is None or above not in within:
                above = self.parent(above)
                if above in paragraphs:  # inside another scored <p>: that one counts
                    return False
                if not above:  # past the root
                    return within is None
            return True

        floor = 0
        for key in paragraphs:
            if counted(key):
                floor += self.prose[key]
                if enough is not None and floor >= enough:
                    break
        return floor

    def link_density(self, key: int) -> float:
        density = self._density.get(key)
        if density is None:
            # Raw lengths (whitespace uncollapsed): collapsing a large container's
            # text costs more than all the rest of the choice.
            node = self.nodes[key]
            text = len(node.text())
            links = sum(len(a.text()) for a in node.css("a[href]"))
            density = self._density[key] = min(1.0, links / text) if text else 0.0
        return density

    def holds_marked(self, key: int) -> bool:
        """Whether the element is or holds an <article> or a marked article body."""
        node = self.nodes[key]
        if key in self.marked or node.tag == "article":
            return True
        if node.css_first("article") is not None:
            return True
        return any(k in self.marked for k in (n.mem_id for n in node.css("[itemprop]")))

    def children(self, key: int) -> list[LexborNode]:
        return list(self.nodes[key].iter())


def _loose(node: LexborNode) -> tuple[int, str, bool]:
    """Text outside block children: (characters, the text, has a block child)."""
    parts: list[str] = []
    has_block = False
    for child in node.iter(include_text=True):
        if child.is_text_node:
            parts.append(child.text_content or "")
        elif child.is_element_node:
            if child.tag in BLOCK_TAGS:
                has_block = True
            else:
                parts.append(" " + child.text() + " ")
    text = "".join(parts)
    return collapsed_length(text), text, has_block


_BLOCK_CHILD = ", ".join(f"> {tag}" for tag in sorted(BLOCK_TAGS))
# Paragraphs, and divs holding only inline content (they read as paragraphs)...
_PARAGRAPHS = f"p, pre, td, div:not(:has({_BLOCK_CHILD}))"
# ...and divs holding blocks, whose text outside the blocks is a paragraph of its own.
_CONTAINERS = f"div:has({_BLOCK_CHILD})"
_BLOCK_IDS = tag_ids(*BLOCK_TAGS)
(_DIV,) = tag_ids("div")


def split_blocks(blocks: Sequence[LexborNode], holders: set[int] | None = None) -> frozenset[int]:
    """The ``mem_id`` of the divs among ``blocks`` that hold blocks (containers);
    the other blocks read as paragraphs. ``holders``: the elements known to have a
    block child, if the caller has them (``BodyScan.holders``)."""
    if holders is not None:
        return frozenset(
            key for node in blocks if node.tag_id == _DIV and (key := node.mem_id) in holders
        )
    return frozenset(node.mem_id for node in blocks if node.tag_id == _DIV and _holds_blocks(node))


def _holds_blocks(node: LexborNode) -> bool:
    return any(child.tag_id in _BLOCK_IDS for child in node.iter())


def paragraph_scores(
    page: Page,
    min_length: int,
    long_enough: Callable[[LexborNode], bool],
    blocks: Sequence[LexborNode] | None = None,
    container_keys: frozenset[int] | None = None,
    *,
    text_of: Callable[[LexborNode], str] | None = None,
) -> dict[int, float]:
    """Readability's content scores of the ancestors of every paragraph under the
    page's root, outside furniture. ``long_enough(node)`` says whether a short
    paragraph (half ``min_length`` or more) counts as long (CJK text). ``blocks``:
    the root's p, pre, td and div elements in page order, if the caller has them, and
    ``container_keys`` the ``split_blocks`` of them (or of more); ``text_of``, a
    reader of ``node.text()`` that keeps what it read, if the caller has one."""
    root = page.root
    if blocks is None:
        paragraphs = root.css(_PARAGRAPHS)
        containers = root.css(_CONTAINERS)
    else:
        if container_keys is None:
            container_keys = split_blocks(blocks)
        paragraphs, containers = [], []
        for node in blocks:
            (containers if node.mem_id in container_keys else paragraphs).append(node)
    found: list[tuple[LexborNode, int, str, bool]] = []
    for node in paragraphs:
        if node.tag == "td":
            found.append((node, *_loose(node)))
        else:
            text = node.text() if text_of is None else text_of(node)
            found.append((node, collapsed_length(text), text, False))
    for node in containers:
        own = node.text(deep=False)
        if own and not own.isspace():
            found.append((node, *_loose(node)))
    # Furniture around each paragraph; furniture holding much of the prose is spared
    # (a "sidebar" layout class on the article's own column).
    furniture_of: dict[int, tuple[int, ...]] = {0: ()}
    kept: list[tuple[int, int, int, bool, tuple[int, ...]]] = []
    held: dict[int, int] = {}
    total = 0
    for node, length, text, has_block in found:
        if length < min_length and not (
            length >= min_length // 2 and not has_block and long_enough(node)
        ):
            continue
        commas = count_commas(text)
        key = page.add(node)
        # A run of links separated by commas (tags, names) is a list, not prose; only
        # paragraphs with many commas are worth the look.
        if commas > _COMMAS_TO_CHECK and page.link_density(key) > _MAX_PARAGRAPH_LINKS:
            continue
        around = _furniture_around(page, key, furniture_of)
        for furniture in around:
            held[furniture] = held.get(furniture, 0) + length
        total += length
        kept.append((key, length, commas, has_block, around))
    spared = {key for key, length in held.items() if length > _MAX_FURNITURE_SHARE * total}
    content: dict[int, float] = {}
    for key, length, commas, has_block, around in kept:
        if any(furniture not in spared for furniture in around):
            continue
        page.prose[key] = length
        score = 1 + commas + min(length // 100, 3)
        tag = page.nodes[key].tag
        ancestor = key if tag == "td" or (tag == "div" and has_block) else page.parent(key)
        for level in range(_ANCESTOR_LEVELS):
            if not ancestor or page.nodes[ancestor].tag == "html":
                break
            divider = 1 if level == 0 else 2 if level == 1 else level * 3
            content[ancestor] = content.get(ancestor, 0.0) + score / divider
            ancestor = page.parent(ancestor)
    return content


def _furniture_around(page: Page, key: int, known: dict[int, tuple[int, ...]]) -> tuple[int, ...]:
    """The element and its ancestors (up to the root) that are furniture."""
    chain: list[int] = []
    while key not in known:
        chain.append(key)
        key = page.parent(key)
    around = known[key]
    for link in reversed(chain):
        if page.furniture(link):
            around = (*around, link)
        known[link] = around
    return around


# ---- from scores to content ----------------------------------------------------------

_TOP_FOR_DENSITY = 12
_THIN_TEXT = 1000
_CONFIDENT_SHARE = 0.5
_WIDEN_SHARE = 0.7
_MAX_WIDE_LINKS = 0.3
_MIN_CONTENT_SHARE = 0.25
_MARKED_SHARE = 0.5


def content_nodes(
    page: Page, content: dict[int, float], initial: Callable[[LexborNode], float]
) -> tuple[list[LexborNode], dict[int, float]]:
    """The chosen content nodes in page order, and every candidate's score (none
    when the choice was widened beyond the best candidates)."""
    if not content:
        return [], {}
    scores = {key: value + initial(page.nodes[key]) for key, value in content.items()}
    # a promising name must not make a winner of a node with little text of its own
    enough = _MIN_CONTENT_SHARE * max(content.values())
    ranking = {key: scores[key] for key, value in content.items() if value >= enough}
    ranked = sorted(ranking, key=ranking.__getitem__, reverse=True)[:_TOP_FOR_DENSITY]
    final = _Finals(ranked, ranking, page)
    top = _promote(final.best(), final, page)
    chosen = _with_siblings(top, scores, page)  # siblings, in page order
    extra = _same_kind_elsewhere(top, chosen, scores, page)
    wider = _widened(top, chosen + extra, page)
    if wider is not None:
        # The scores misled the choice: they do not judge what is inside either.
        return [page.nodes[wider]], {}
    nodes = [page.nodes[key] for key in chosen + extra]
    if extra:
        wanted = set(chosen + extra)
        position = {n.mem_id: i for i, n in enumerate(page.root.traverse()) if n.mem_id in wanted}
        nodes.sort(key=lambda n: position.get(n.mem_id, 0))
    return nodes, scores


def _widened(top: int, chosen: list[int], page: Page) -> int | None:
    """When the choice holds little of the page's prose (one fragment of a long
    article, one item of a list that is the article), the nearest ancestor of the
    top node that holds most of it and is not a list of links."""
    total = sum(page.prose.values())
    if not total:
        return None
    taken = set(chosen)
    # (the scored paragraphs inside decide most pages: no text to collapse)
    if (
        page.prose_floor(taken, _THIN_TEXT) >= _THIN_TEXT
        or sum(map(page.text, chosen)) >= _THIN_TEXT
    ):
        return None
    inside = 0
    held: dict[int, int] = {}
    for key, length in page.prose.items():
        ancestors = page.ancestors(key)
        if key in taken or taken.intersection(ancestors):
            inside += length
        for ancestor in ancestors:
            held[ancestor] = held.get(ancestor, 0) + length
    if inside >= _CONFIDENT_SHARE * total:
        return None
    for ancestor in page.ancestors(top):
        if held.get(ancestor, 0) >= _WIDEN_SHARE * total:
            if page.link_density(ancestor) > _MAX_WIDE_LINKS or page.furniture(ancestor):
                return None
            return ancestor
    return None


class _Finals:
    """The best candidates' scores discounted by their link density, each density
    measured only when the score could matter: a discounted score lies between 0
    and the score (a density is between 0 and 1), so a candidate whose score cannot
    reach what is asked is not measured."""

    def __init__(self, ranked: list[int], ranking: dict[int, float], page: Page) -> None:
        self._ranked = ranked  # by score, best first
        self._candidates = frozenset(ranked)
        self._ranking = ranking
        self._page = page
        self._known: dict[int, float] = {}

    def _reach(self, key: int) -> float:
        return max(self._ranking[key], 0.0)

    def get(self, key: int) -> float | None:
        """The candidate's discounted score; None for an element not among them."""
        if key not in self._candidates:
            return None
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = self._ranking[key] * (1 - self._page.link_density(key))
        return known

    def __getitem__(self, key: int) -> float:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def best(self) -> int:
        """The first candidate with the highest discounted score."""
        best, best_score = self._ranked[0], self[self._ranked[0]]
        for key in self._ranked[1:]:
            if self._reach(key) > best_score and self[key] > best_score:
                best, best_score = key, self[key]
        return best

    def at_least(self, threshold: float) -> list[int]:
        """The candidates whose discounted score is ``threshold`` or more, by score."""
        return [k for k in self._ranked if self._reach(k) >= threshold and self[k] >= threshold]


def _promote(top: int, final: _Finals, page: Page) -> int:
    """Readability's adjustments: a shared ancestor of several close runners-up, a
    parent that scores better, or the parent of an only child."""
    top_score = final[top]
    close = [k for k in final.at_least(0.75 * top_score) if k != top]
    if len(close) >= 3:
        close_ancestors = [set(page.ancestors(k)) for k in close]
        for parent in page.ancestors(top):
            if page.nodes[parent].tag in _STOP:
                break
            if sum(parent in ids for ids in close_ancestors) >= 3:
                top = parent
                break
    last = final.get(top)
    if last is None:  # (an ancestor the runners-up share)
        last = top_score
    for parent in page.ancestors(top):
        if page.nodes[parent].tag in _STOP:
            break
        score = final.get(parent)
        if score is None:
            continue
        if score < last / 3:
            break
        if score > last:
            top = parent
            break
        last = score
    parent = page.parent(top)
    while parent and page.nodes[parent].tag not in _STOP and len(page.children(parent)) == 1:
        top, parent = parent, page.parent(parent)
    return top


def _with_siblings(top: int, scores: dict[int, float], page: Page) -> list[int]:
    """Readability's sibling rule: siblings that score well, or read like prose."""
    parent = page.parent(top)
    if not parent and top == page.root_key:
        # The region's root won: its siblings were not scored, but may be paragraphs.
        outside = page.root.parent
        parent = page.add(outside) if outside is not None else 0
    if not parent or page.nodes[parent].tag in _STOP:
        return [top]
    top_score = scores.get(top, 0.0)
    threshold = max(10.0, top_score * 0.2)
    top_class = page.nodes[top].attributes.get("class") or ""
    chosen: list[int] = []
    for sibling in page.children(parent):
        key = page.add(sibling)
        if key == top:
            chosen.append(key)
            continue
        page.parent_of.setdefault(key, parent)
        if page.furniture(key):
            continue
        same_class = top_class and sibling.attributes.get("class") == top_class
        bonus = top_score * 0.2 if same_class else 0.0
        if scores.get(key, -1e9) + bonus >= threshold:
            chosen.append(key)
        elif same_class and key not in scores:
            # A chunk of the same article whose paragraphs sit too deep to score it.
            if page.text(key) > _CHUNK_TEXT and page.link_density(key) < 0.25:
                chosen.append(key)
        elif sibling.tag == "p" or (
            sibling.tag_id == _DIV and not sibling.attributes and not _holds_blocks(sibling)
        ):  # a paragraph, or a bare div that reads as one (a named one is a component)
            text = page.text(key)
            density = page.link_density(key)
            if (text > 80 and density < 0.25) or (
                0 < text <= 80 and density == 0 and _SENTENCE_END.search(sibling.text())
            ):
                chosen.append(key)
    return chosen


def _same_kind_elsewhere(
    top: int, chosen: list[int], scores: dict[int, float], page: Page
) -> list[int]:
    """Articles cut into chunks: well-scoring nodes named like the top one (numbers
    aside: ``body-1``, ``body-2``), outside what is already chosen, that are not lists
    of teasers."""
    name = _kind(page.nodes[top].attributes.get("class"))
    if not name:
        return []
    threshold = max(10.0, scores.get(top, 0.0) * 0.3)
    taken = set(chosen)
    around = set().union(*(page.ancestors(k) for k in chosen))
    extra: list[int] = []
    for key, score in scores.items():
        if key in taken or key in around or score < threshold:
            continue
        if _kind(page.nodes[key].attributes.get("class")) != name:
            continue
        if page.holds_marked(key) or page.link_density(key) > 0.25:
            continue
        if taken.intersection(page.ancestors(key)):
            continue
        extra.append(key)
        taken.add(key)
    return extra


def _kind(name: str | None) -> str:
    return _DIGITS.sub("", name) if name else ""


def marked_body(page: Page, chosen: list[LexborNode]) -> LexborNode | None:
    """The element the page marks as the article body (schema.org ``articleBody``),
    when it holds a fair share of the text the scoring found."""
    alive = [k for k in page.marked if not _furniture_up(page, k)]
    if not alive:
        return None
    best = max(alive, key=page.text)
    found = sum(page.text(page.add(n)) for n in chosen)
    return page.nodes[best] if page.text(best) >= _MARKED_SHARE * found else None


def _furniture_up(page: Page, key: int) -> bool:
    return any(page.furniture(k) for k in (key, *page.ancestors(key)))


def landmark(body: LexborNode, page: Page) -> LexborNode | None:
    """With no paragraph long enough to score (a short item), the page's own
    article or main region, if it has one with text."""
    regions = [page.add(n) for n in body.css("article, main, [role=main]")]
    best = max(regions, key=page.text, default=None)
    return page.nodes[best] if best is not None and page.text(best) else None
