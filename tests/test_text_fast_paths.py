"""The extractor's shortcuts for text and token streams must give exactly what the
plain way gives: whitespace collapsing, comma counting, dropping empty inline
elements (a linear pass, checked against the plain quadratic one), the lines
the cleaner passes over (checked against nh3), the inline fix-ups skipped, and text
nodes told by tag id."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from scraper.extract.blocks import (
    BLOCK,
    BR,
    CLOSE,
    IMG,
    OPEN,
    TEXT,
    Token,
    _drop_empty,
    escape_text,
)
from scraper.extract.clean import _CLEANER, _EMPTY_INLINE, _inline_spaces, _sanitised
from scraper.extract.measure import collapsed, collapsed_length, count_commas
from scraper.extract.scan import TEXT_ID

# Every kind of whitespace Python's str.split knows, beside letters of several scripts.
_CHARS = list("ab ,.\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u1680\u2000\u2028\u2029\u3000\u200bé中，、。،")
_TEXTS = st.text(st.sampled_from(_CHARS), max_size=40) | st.text(max_size=40)


@settings(max_examples=1000)
@given(_TEXTS)
def test_collapsing_is_split_and_join(text: str) -> None:
    assert collapsed(text) == " ".join(text.split())
    assert collapsed_length(text) == len(" ".join(text.split()))


@settings(max_examples=1000)
@given(_TEXTS)
def test_commas_of_every_script_counted(text: str) -> None:
    assert count_commas(text) == sum(text.count(c) for c in ",，、。،")


def _drop_empty_plainly(run: list[Token]) -> list[Token]:
    """The definition: at each close, look back at everything the element holds."""
    result: list[Token] = []
    opens: list[int] = []
    for tok in run:
        if tok[0] == OPEN:
            opens.append(len(result))
            result.append(tok)
        elif tok[0] == CLOSE and opens:
            start = opens.pop()
            inner = result[start + 1 :]
            if all(t[0] == TEXT and not t[1].strip() for t in inner):
                space = " " if any(t[1] for t in inner) else ""
                del result[start:]
                if space:
                    result.append((TEXT, space))
            else:
                result.append(tok)
        elif tok[0] != CLOSE:
            result.append(tok)
    return result


_LEAVES = st.sampled_from(
    [(TEXT, ""), (TEXT, " "), (TEXT, "\n "), (TEXT, "x"), (TEXT, " y "), (BR,), (IMG, "<img>"),
     (BLOCK, "<p>z</p>"), (CLOSE, "b"), (OPEN, "i", "")]
)  # fmt: skip


def _element(children: list[list[Token]]) -> list[Token]:
    return [(OPEN, "a", ""), *(t for child in children for t in child), (CLOSE, "a")]


_RUNS = st.recursive(
    st.lists(_LEAVES, max_size=4),
    lambda inner: st.lists(inner, max_size=4).map(
        lambda parts: _element(parts) if len(parts) % 2 else [t for p in parts for t in p]
    ),
    max_leaves=30,
)


@settings(max_examples=1000)
@given(_RUNS)
def test_empty_inline_elements_dropped_as_by_definition(run: list[Token]) -> None:
    assert _drop_empty(run) == _drop_empty_plainly(run)


def test_empty_inline_elements_examples() -> None:
    empty = [(TEXT, "a"), (OPEN, "b", ""), (TEXT, " "), (CLOSE, "b"), (TEXT, "c")]
    assert _drop_empty(empty) == [(TEXT, "a"), (TEXT, " "), (TEXT, "c")]
    nested = [(OPEN, "b", ""), (OPEN, "i", ""), (CLOSE, "i"), (TEXT, "x"), (CLOSE, "b")]
    assert _drop_empty(nested) == [(OPEN, "b", ""), (TEXT, "x"), (CLOSE, "b")]
    image = [(OPEN, "a", ""), (IMG, "<img>"), (CLOSE, "a")]
    assert _drop_empty(image) == image


# Text as lines hold it: entities (real, unknown and unterminated), markup
# characters, and characters an HTML parser rewrites (NUL, CR, no-break space).
_ENTITIES = ["&amp;", "&lt;", "&gt;", "&quot;", "&#38;", "&#x26;", "&nbsp;", "&am", "&", "&amp",
             "&unknown;", ";"]  # fmt: skip
_LINE_CHARS = [*_CHARS, *_ENTITIES, "<", ">", '"', "'", "\x00", "\ufffd", "\U0001f600",
               "\ue000", "\ufdd0"]  # fmt: skip
_LINE_TEXTS = (
    st.lists(st.sampled_from(["a", " ", "中", *_ENTITIES]), max_size=12).map("".join)
    | st.lists(st.sampled_from(_LINE_CHARS), max_size=30).map("".join)
    | st.text(max_size=40)
)


@settings(max_examples=2000)
@given(st.sampled_from(["p", "h2", "h6"]), _LINE_TEXTS, st.booleans())
def test_lines_passed_over_are_what_nh3_returns(tag: str, text: str, escaped: bool) -> None:
    """A line the cleaner does not give to nh3 is one nh3 would give back unchanged."""
    inner = escape_text(collapsed(text)) if escaped else text
    line = f"<{tag}>{inner}</{tag}>"
    if _sanitised(line):
        assert _CLEANER.clean(line) == line


def test_escaped_text_lines_are_passed_over() -> None:
    """The shortcut applies to the commonest line: plain text, escaped."""
    assert _sanitised(f"<p>{escape_text('Fish & chips <3, 鱼和薯条。')}</p>")
    assert _sanitised("<h3>Heading</h3>")
    assert not _sanitised("<p>a&nbsp;b</p>")
    assert not _sanitised("<p>a\xa0b</p>")
    assert not _sanitised("<p>a <b>b</b></p>")
    assert not _sanitised("<p>a</h2>")


# Inline HTML as lexbor serialises a paragraph: tags, text and single spaces.
_INLINE_PARTS = ["<b>", "</b>", "<a href='x'>", "</a>", "<i></i>", "<x-a>", "</x-a>", " ", "a",
                 "bc", "中"]  # fmt: skip
_INLINE_HTML = st.lists(st.sampled_from(_INLINE_PARTS), max_size=16).map(
    lambda parts: collapsed("".join(parts))
)


@settings(max_examples=2000)
@given(_INLINE_HTML)
def test_inline_html_shortcuts_skip_only_what_would_not_change(html: str) -> None:
    """simple_inline asks for the space fix-up only around tags, and for the removal
    of empty elements only where an end tag follows a start tag's ">"."""
    if "> " not in html and " <" not in html:
        assert _inline_spaces(html) == html
    if "></" not in html and "> </" not in html:
        assert _EMPTY_INLINE.sub(r"\2", html) == html


def test_text_nodes_known_by_their_tag_id() -> None:
    """TEXT_ID stands for is_text_node: text, CDATA in foreign content; not comments,
    processing instructions or elements."""
    html = "<p>x<!--c--></p><svg><![CDATA[cd]]><?pi x?><g>t</g></svg><math>m</math><x-a>y</x-a>"
    nodes = list(LexborHTMLParser(html).root.traverse(include_text=True))
    assert sum(node.is_text_node for node in nodes) == 5  # x, cd, t, m, y
    for node in nodes:
        assert (node.tag_id == TEXT_ID) == node.is_text_node
