"""The extractor's shortcuts for text and token streams must give exactly what the
plain way gives: whitespace collapsing, comma counting, dropping empty inline
elements (a linear pass, checked against the plain quadratic one), the lines
the cleaner passes over (checked against nh3), the inline fix-ups skipped, and text
nodes told by tag id."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
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
    nested_html,
)
from scraper.extract.clean import _CLEANER, _EMPTY_INLINE, _inline_spaces, _sanitised, clean_body
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


# Paragraphs of inline markup as pages write them: attributes nh3 drops (class,
# style, data-, target) beside the ones it keeps (href, title, lang), tags it unwraps
# (span, font, custom elements), comments, and link targets the URL standard refuses.
_HREFS = ["/x", "https://a.example/p?q=1&r=2", "http://1.2.3.4/", "http://a.123./",
          "http://xn--zz/", "http://a.example:99999/", "http://user@a.example/", "mailto:x@y",
          "http://a_b.example/", "//cdn.example/i", "#top", "http://a.example./é", "x y.html"]  # fmt: skip
_ATTRS = ['class="c"', 'style="font-weight:400"', 'data-n="3"', 'target="_blank"',
          'title="a &amp; &quot;b&quot;"', 'lang="fr"', 'id="i"', 'title=""']  # fmt: skip
_INLINE_TEXT = st.sampled_from(["word", " ", "  ", "&amp;", "&lt;&gt;", "&nbsp;", "中文", "é",
                                 "\u00ad", "'\"", "\u200b"])  # fmt: skip


@st.composite
def _inline_paragraph(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(
            st.sampled_from(["text", "text", "a", "tag", "comment"] if depth < 3 else ["text"])
        )
        if kind == "text":
            parts.append(draw(_INLINE_TEXT))
        elif kind == "comment":
            parts.append("<!-- c -->")
        else:
            tag = (
                "a"
                if kind == "a"
                else draw(
                    st.sampled_from(
                        ["em", "b", "span", "font", "x-y", "code", "abbr", "time", "q", "bdi"]
                    )
                )
            )
            attrs = draw(st.lists(st.sampled_from(_ATTRS), max_size=2, unique=True))
            if tag == "a":
                attrs.append(f'href="{draw(st.sampled_from(_HREFS))}"')
            inner = draw(_inline_paragraph(depth + 1))
            parts.append(f"<{tag} {' '.join(attrs)}>{inner}</{tag}>")
    return "".join(parts)


def _lines_through_nh3(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cleaner as it was: no line of inline markup passed over, and list items,
    cells and quotes serialised as the page wrote them (nh3 takes out the rest)."""

    def simple_paragraph(self: Any, node: Any, leaf: str) -> str | None:
        simple = self.simple_inline(node)
        return None if simple is None else simple[0] and f"<{leaf}>{simple[0]}</{leaf}>"

    def nested(self: Any, node: Any, depth: int) -> tuple[str, bool]:
        simple = self.simple_inline(node)
        if simple is not None:
            return simple[0], False
        sub: list[Token] = []
        self.children(node, sub, depth)
        return nested_html(sub), False

    monkeypatch.setattr("scraper.extract.clean._Walker.simple_paragraph", simple_paragraph)
    monkeypatch.setattr("scraper.extract.clean._Walker.nested", nested)


@settings(max_examples=700, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inner=_inline_paragraph())
def test_inline_lines_passed_over_are_what_nh3_returns(
    inner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A paragraph of inline markup cleaned with nh3 skipped (what nh3 would take out
    taken out of the tree first) is the paragraph nh3 makes."""
    html = f"<p>{inner}</p><p>b <a class='k' href='/z'>c</a></p>"
    fast = clean_body(html, "https://news.example.com/a/b")
    with monkeypatch.context() as patched:
        _lines_through_nh3(patched)
        assert fast == clean_body(html, "https://news.example.com/a/b")


# Where else a run of inline markup is a line's content: list items (beside text
# and other items), quotes, cells and definitions.
_RUN_CONTAINERS = [
    "<ul><li>{}</li><li>b <a class='k' href='/z'>c</a></li></ul>",
    "<ol>x &amp; y<li>{}</li><li>{}</li></ol>",
    "<ul><li>{}</li><li><p>a paragraph</p></li></ul>",
    "<blockquote>{}</blockquote>",
    "<table><tr><td>{}</td><td>b</td></tr><tr><td>c</td><td>{}</td></tr></table>",
    "<table><thead><tr><th colspan=' 2'>{}</th></tr></thead><tr><td rowspan=x>{}</td></tr></table>",
    "<table><caption>{}</caption><tr><td>a</td><td>{}</td></tr></table>",
    "<dl><dt>{}</dt><dd>{}</dd></dl>",
]


@settings(max_examples=1500, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inner=_inline_paragraph(), container=st.sampled_from(_RUN_CONTAINERS))
def test_runs_in_lists_quotes_and_cells_passed_over_are_what_nh3_returns(
    inner: str, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list, quote or table whose items are runs of inline markup, cleaned with nh3
    skipped where every run is one nh3 would leave, is the one nh3 makes."""
    html = container.format(inner, inner)
    fast = clean_body(html, "https://news.example.com/a/b")
    with monkeypatch.context() as patched:
        _lines_through_nh3(patched)
        assert fast == clean_body(html, "https://news.example.com/a/b")


def _lines_given_to_nh3(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The lines the cleaner hands nh3 from now on (nh3 still cleans them)."""
    given: list[str] = []
    clean_line = _CLEANER.clean

    class Spy:
        def clean(self, line: str) -> str:
            given.append(line)
            return clean_line(line)

    monkeypatch.setattr("scraper.extract.clean._CLEANER", Spy())
    return given


def test_lists_and_quotes_of_plain_runs_are_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    given_to_nh3 = _lines_given_to_nh3(monkeypatch)
    html = (
        '<ul><li>One <a class="x" href="/x">link</a></li><li><span>Two</span></li></ul>'
        '<blockquote>Said <em data-n="1">so</em>.</blockquote>'
        "<ol><li>Item</li><li><p>a paragraph</p></li></ol>"
    )
    assert clean_body(html, "https://news.example.com/") == (
        '<ul><li>One <a href="https://news.example.com/x">link</a></li><li>Two</li></ul>\n'
        "<blockquote>Said <em>so</em>.</blockquote>\n"
        "<ol><li>Item</li><li><p>a paragraph</p></li></ol>"
    )
    assert given_to_nh3 == ["<ol><li>Item</li><li><p>a paragraph</p></li></ol>"]


def test_inline_lines_nh3_would_not_change_are_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shortcut is taken: lines of links and emphasis with attributes nh3 drops and
    tags it unwraps reach nh3 no more; one with a target the URL standard refuses does."""
    given_to_nh3 = _lines_given_to_nh3(monkeypatch)
    html = (
        '<p>Read <a class="x" target="_blank" href="/x">this</a> <span class="s">and</span>'
        ' <font color="red"><em data-n="1">that</em></font>.</p>'
        '<p>A <a href="http://1.2.3.400/">bad host</a>.</p>'
    )
    assert clean_body(html, "https://news.example.com/") == (
        '<p>Read <a href="https://news.example.com/x">this</a> and <em>that</em>.</p>\n'
        "<p>A <a>bad host</a>.</p>"  # (nh3 keeps the link, without its target)
    )
    assert given_to_nh3 == ['<p>A <a href="http://1.2.3.400/">bad host</a>.</p>']


# ---- bounds of text the choice and the drop read instead of the text itself -------

# Pages of paragraphs that parsing may nest in one another (through a button, an
# object, a table in quirks mode), with whitespace runs and words at their edges.
_WORDS = st.sampled_from(["", " ", "  ", "\n\t", "word", "two words", " edge ", "中文，字"])


def _wrapped(tag: str, inner: list[str]) -> str:
    if tag == "table":
        return f"<table><tr><td>{''.join(inner)}</td></tr></table>"
    return f"<{tag}>{''.join(inner)}</{tag}>"


def _wrap(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    tags = st.sampled_from(["p", "div", "span", "button", "object", "table", "td", "b"])
    return st.builds(_wrapped, tags, st.lists(inner, max_size=4))


_FRAGMENT = st.recursive(_WORDS.map(lambda text: text * 9), _wrap, max_leaves=14)


def _scored_page(html: str) -> Any:
    from scraper.extract import paragraphs

    body = LexborHTMLParser(html).body
    assert body is not None
    page = paragraphs.Page(body)
    paragraphs.paragraph_scores(page, 25, lambda node: False)
    return page


@settings(max_examples=1500)
@given(st.lists(_FRAGMENT, min_size=1, max_size=5), st.booleans())
def test_the_prose_floor_is_at_most_the_text(fragments: list[str], quirks: bool) -> None:
    page = _scored_page(("" if quirks else "<!doctype html>") + "".join(fragments))
    assert page.prose_floor() <= collapsed_length(page.root.text())


def test_the_prose_floor_counts_a_paragraph_nested_in_another_once() -> None:
    inner = "inner words " * 5
    html = f"<!doctype html><p>{'outer words ' * 5}<button><p>{inner}</p></button></p>"
    page = _scored_page(html)
    nested = [k for k in page.prose if page.nodes[k].tag == "p"]
    assert len(nested) == 2  # both scored: the floor must not add the inner one twice
    assert page.prose_floor() == collapsed_length(page.root.css_first("p").text())
    assert page.prose_floor() <= collapsed_length(page.root.text())


@settings(max_examples=1500)
@given(st.lists(_FRAGMENT, min_size=1, max_size=5), st.data())
def test_the_prose_near_the_choice_is_at_most_its_text(fragments: list[str], data: Any) -> None:
    page = _scored_page("".join(fragments))
    elements = [n for n in page.root.traverse() if n.is_element_node]
    parent = data.draw(st.sampled_from(elements))
    children = [c for c in parent.iter() if c.is_element_node] or [parent]
    chosen = data.draw(
        st.lists(st.sampled_from(children), unique_by=lambda n: n.mem_id, min_size=1)
    )
    keys = [page.add(node) for node in chosen]  # siblings: disjoint, as the choice's are
    assert page.prose_floor(set(keys)) <= sum(map(page.text, keys))


def test_the_prose_near_the_choice_counts_a_nested_paragraph_once() -> None:
    html = f"<!doctype html><div><p>{'outer words ' * 5}<button><p>{'inner ' * 9}</p></button></p></div>"
    page = _scored_page(html)
    div = page.add(page.root.css_first("div"))
    near = page.prose_floor({div})
    outer = page.add(page.root.css_first("p"))
    assert near == collapsed_length(page.nodes[outer].text())  # the outer one only
    assert near <= page.text(div)
    assert page.prose_floor({outer}) == near  # the outer one chosen: the inner not again


# Questions to the page's text length: ("ask", length) or ("cut", new length): the
# tree changes (after settle) to a page of that length.
_QUESTIONS = st.lists(st.tuples(st.sampled_from(["ask", "cut"]), st.integers(0, 300)), max_size=12)


@settings(max_examples=2000)
@given(st.integers(0, 300), st.integers(0, 300), _QUESTIONS)
def test_page_text_answers_as_reading_at_the_first_question(
    length: int, slack: int, questions: list[tuple[str, int]]
) -> None:
    """A bound (at most the length) spares the read, never changes an answer: each is
    what reading the length at the first question (as the dropper once did) gives."""
    from scraper.extract.boilerplate import PageText

    current = [length]
    reads: list[int] = []

    def read() -> int:
        reads.append(current[0])
        return current[0]

    page_text = PageText(read, max(0, length - slack))
    first: int | None = None  # the reference: the length at the first question
    for kind, value in questions:
        if kind == "ask":
            if first is None:
                first = current[0]
            assert page_text.share(value) is (value <= 0.4 * first)
        else:
            page_text.settle()
            current[0] = value
    assert len(reads) <= 1
    assert page_text.asked is (first is not None)


_HREF_PARTS = st.tuples(
    st.sampled_from(["https://", "http://", "HTTP://", "mailto:", "ftp://", "", "h/ttp://"]),
    st.sampled_from(["a.example", "a.123.", "1.2.3.4", "xn--zz", "a_b.example", "u@a.example",
                     "a.example:99999", "a.example:8080", "a.example.", "", "0x1.example"]),
    st.sampled_from(["", "/", "/x/y", "?q=/", "#f/g", "?", "#", ":1/", "/é", " x/"]),
)  # fmt: skip


@settings(max_examples=1500)
@given(st.lists(_HREF_PARTS.map("".join), min_size=1, max_size=8))
def test_link_targets_judged_once_per_site_as_each_alone(hrefs: list[str]) -> None:
    """Verdicts kept by the target's site (what comes before its first "/" after
    "://") are those of judging each target by itself."""
    from scraper.extract.clean import _safe_href, _Walker

    walker = _Walker("https://news.example.com/")
    for href in hrefs:
        assert walker.safe_href(href) is _safe_href(href), href


@settings(max_examples=2000)
@given(
    st.lists(
        st.tuples(
            st.floats(-50, 200, allow_nan=False) | st.sampled_from([0.0, 10.0, -10.0]),
            st.floats(0, 1) | st.sampled_from([0.0, 1.0, 0.5]),
        ),
        min_size=1,
        max_size=12,
    ),
    st.floats(-50, 200, allow_nan=False),
)
def test_discounted_scores_measured_only_when_they_matter(
    candidates: list[tuple[float, float]], threshold: float
) -> None:
    """The best candidate and those at or above a threshold are those of measuring
    every candidate's link density (negative scores too); each is measured once."""
    from scraper.extract.paragraphs import _Finals

    ranking = {key: score for key, (score, _) in enumerate(candidates)}
    density = {key: d for key, (_, d) in enumerate(candidates)}
    ranked = sorted(ranking, key=ranking.__getitem__, reverse=True)
    measured: list[int] = []

    class Page:
        def link_density(self, key: int) -> float:
            measured.append(key)
            return density[key]

    every = {k: ranking[k] * (1 - density[k]) for k in ranked}
    finals = _Finals(ranked, ranking, Page())  # type: ignore[arg-type]
    assert finals.best() == max(every, key=every.__getitem__)
    assert finals.at_least(threshold) == [k for k, s in every.items() if s >= threshold]
    assert finals.get(len(candidates)) is None  # not a ranked candidate
    assert len(measured) == len(set(measured))  # each measured once
