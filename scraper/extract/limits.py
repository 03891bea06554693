"""Bounds on what the HTML parser is given.

lexbor (like any HTML5 tree builder) spends time proportional to the depth of the
open-element stack on many tags, so a page nested tens of thousands deep takes
minutes to parse. ``bounded_html`` cuts a document where its estimated nesting
passes ``max_depth`` (and beyond ``max_chars``): the part before the cut is parsed,
and no article needs what lies past it.
"""

from __future__ import annotations

import re

__all__ = ["MAX_CHARS", "MAX_DEPTH", "bounded_html"]

MAX_CHARS = 4_000_000
MAX_DEPTH = 2000

_TAG = re.compile(r"<(/?[A-Za-z][A-Za-z0-9]*)")
# Tags that never stay open: void elements, and those whose end tag may be left out
# (an unclosed <p> or <li> is closed by the next one, it does not nest).
_ALWAYS_CLOSED = (
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
    "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rp", "html", "head",
    "body", "frame", "keygen", "image",
)  # fmt: skip
_NOT_NESTING = frozenset(
    name for tag in _ALWAYS_CLOSED for name in (tag, tag.upper(), tag.capitalize())
)


def bounded_html(html: str, max_depth: int = MAX_DEPTH, max_chars: int = MAX_CHARS) -> str:
    """``html`` cut where its nesting (estimated from its tags) passes ``max_depth``,
    and to at most ``max_chars`` characters; unchanged in every ordinary case."""
    html = html[:max_chars]
    # Cheap proofs first: every nesting tag opens with "<" and never with "</", so
    # the depth is at most the count of "<" that do not start an end tag.
    tags = html.count("<")
    if tags <= max_depth or tags - html.count("</") <= max_depth:
        return html
    depth = 0
    for match in _TAG.finditer(html):
        name = match.group(1)
        if name[0] == "/":
            if depth:
                depth -= 1
        elif name not in _NOT_NESTING:
            depth += 1
            if depth > max_depth:
                return html[: match.start()]
    return html
