"""Bounds on what the HTML parser is given.

lexbor (like any HTML5 tree builder) spends time proportional to the depth of the
open-element stack on many tags, so a page nested tens of thousands deep takes
minutes to parse. ``bounded_html`` cuts a document where its estimated nesting
passes ``max_depth`` (and beyond ``max_bytes``): the part before the cut is parsed,
and no article needs what lies past it.

It returns the UTF-8 bytes the parser is fed with: selectolax encodes text input
itself, and counting tags in bytes is several times faster than in a ``str`` that
holds any non-Latin-1 character, so encoding once here costs nothing extra.
"""

from __future__ import annotations

import re
from itertools import repeat

__all__ = ["MAX_BYTES", "MAX_DEPTH", "bounded_html"]

MAX_BYTES = 4_000_000  # a 20 MB page, cut here, is extracted within the fuzz test's 1 s
MAX_DEPTH = 2000

# Tags that never stay open: void elements, and those whose end tag may be left out
# (an unclosed <p> or <li> is closed by the next one, it does not nest).
_ALWAYS_CLOSED = (
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
    "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rp", "html", "head",
    "body", "frame", "keygen", "image",
)  # fmt: skip
_NOT_NESTING = frozenset(
    name.encode() for tag in _ALWAYS_CLOSED for name in (tag, tag.upper(), tag.capitalize())
)
# A start tag's name, or "/" for an end tag (a one-byte result: a shared object).
_TAG = re.compile(rb"<(/(?=[A-Za-z])|[A-Za-z][A-Za-z0-9]*)")
# What each tag does to the estimate, as one byte: "/" down, "+" up, nothing for the
# tags that never nest (the default, "+", is every other name).
_MOVE = {b"/": b"/", **dict.fromkeys(_NOT_NESTING, b"")}
_STRETCH = 512  # moves per step of the proof
# A "</" that starts no end tag (not followed by a letter), and the bytes per step
# of the proof by counts.
_NO_END_TAG = re.compile(rb"</(?![A-Za-z])")
_SPAN = 16384
# A "<" that does not start an end tag. findall's one-byte results are one shared
# object, and the engine finds each "<" by memchr: this counts them faster than
# ``bytes.count(b"</")``, whose two-byte search crawls.
_OPENING = re.compile(rb"<(?!/)")
_CHUNK = 1 << 20  # bytes counted by one findall (its list: 8 bytes per match)


def bounded_html(
    html: str | bytes, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES
) -> bytes:
    """``html`` as UTF-8 (text that cannot be encoded, lone surrogates, is left out,
    as selectolax does), cut where its nesting (estimated from its tags) passes
    ``max_depth`` and to at most ``max_bytes`` (at a character's start); unchanged
    in every ordinary case."""
    data = html.encode("utf-8", "ignore") if isinstance(html, str) else html
    if len(data) > max_bytes:
        end = max_bytes
        while end and data[end] & 0xC0 == 0x80:  # not inside a character
            end -= 1
        data = data[:end]
    # Cheap proofs first: every nesting tag opens with "<" and never with "</", so
    # the depth is at most the count of "<" that do not start an end tag.
    if (
        _openings(data) <= max_depth
        or _shallow_by_counts(data, max_depth)
        or _shallow(data, max_depth)
    ):
        return data
    return data[: _cut_at(data, max_depth)]


def _openings(data: bytes, chunk: int = _CHUNK) -> int:
    """The "<" that do not start an end tag (one at a chunk's end counts whatever
    follows: an upper bound, as the proof needs)."""
    return sum(
        len(_OPENING.findall(data, start, start + chunk)) for start in range(0, len(data), chunk)
    )


def _shallow_by_counts(data: bytes, max_depth: int, span: int = _SPAN) -> bool:
    """``_shallow``'s proof over stretches of bytes (``span`` or so, each cut before
    a "<", so that no tag is split), from counts alone: each stretch's "<" that do
    not start an end tag (more than its nesting start tags) and its end tags. It
    proves most long pages (void elements and paragraphs counted as opening do not
    add up to the limit) several times faster than the walk over every tag."""
    bound = 0
    start = 0
    size = len(data)
    while start < size:
        end = data.find(b"<", start + span)
        if end == -1:
            end = size
        ends = data.count(b"</", start, end)
        opened = data.count(b"<", start, end) - ends
        if bound + opened > max_depth:
            return False
        closed = ends - len(_NO_END_TAG.findall(data, start, end))
        bound = max(bound + opened - closed, opened)
        start = end
    return True


def _shallow(data: bytes, max_depth: int, stretch: int = _STRETCH) -> bool:
    """A proof, at C speed, that the estimate never passes ``max_depth``: over each
    stretch of tags, the depth rises at most by the stretch's start tags, and ends
    at most at the larger of (start + opened - closed) and (opened): after the last
    end tag met at depth 0, only the stretch's own start tags count."""
    moves = b"".join(map(_MOVE.get, _TAG.findall(data), repeat(b"+")))
    bound = 0
    for start in range(0, len(moves), stretch):
        closed = moves.count(b"/", start, start + stretch)
        opened = min(stretch, len(moves) - start) - closed
        if bound + opened > max_depth:
            return False
        bound = max(bound + opened - closed, opened)
    return True


def _cut_at(data: bytes, max_depth: int) -> int:
    """Where the estimated nesting of ``data`` first passes ``max_depth``."""
    depth = 0
    for match in _TAG.finditer(data):
        name = match.group(1)
        if name == b"/":
            if depth:
                depth -= 1
        elif name not in _NOT_NESTING:
            depth += 1
            if depth > max_depth:
                return match.start()
    return len(data)
