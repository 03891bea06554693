"""clean_body: the body rules of ../shared/spec/output-format.md."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser

from scraper.extract.clean import body_text_length, clean_body

BASE = "https://news.example.com/world/story-1.html"
ZAOBAO = Path(__file__).resolve().parents[1] / "../shared/corpus/zaobao"


def clean(html: str, **kw: object) -> str:
    return clean_body(html, BASE, **kw)  # type: ignore[arg-type]


def assert_one_html_block(body: str) -> None:
    """The whole <div> stays one HTML block for CommonMark: no code block, no
    Markdown paragraph made out of the body."""
    doc = f"<div>\n{body}\n</div>\n"
    tokens = MarkdownIt("commonmark").parse(doc)
    assert [t.type for t in tokens] == ["html_block"], tokens
    assert tokens[0].content == doc
    rendered = MarkdownIt("commonmark").render(doc)
    assert rendered == doc


def assert_line_rules(body: str) -> None:
    if not body:
        return
    assert not body.endswith("\n")
    for line in body.split("\n"):
        assert line, "empty line"
        assert not line[0].isspace(), line
        assert re.match(r"<(p|h[2-6]|figure|ul|ol|dl|blockquote|table|pre|hr)\b", line), line


def text_chars(html: str) -> Counter[str]:
    body = LexborHTMLParser(html).body
    text = body.text() if body is not None else ""
    return Counter(ch for ch in text if not ch.isspace())


# ---- structure -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<div>text <b>x</b></div>", "<p>text <b>x</b></p>"),
        ("one<br><br>two <i>it</i><br>three", "<p>one</p>\n<p>two <i>it</i><br>three</p>"),
        ("<p>a<br> <br>b</p>", "<p>a</p>\n<p>b</p>"),
        ("<h1>Title</h1><h3>Sub</h3>", "<h2>Title</h2>\n<h3>Sub</h3>"),
        ("<p>  a \n\t  b  </p>", "<p>a b</p>"),
        ("<p> </p><p><br></p><p>&nbsp;</p><div>  </div><p>x</p>", "<p>x</p>"),
        ("<p><br>a<br></p>", "<p>a</p>"),
        (
            "<div><section><article><p>deep</p>tail</article></section></div>",
            "<p>deep</p>\n<p>tail</p>",
        ),
        ("<span><p>a</p><p>b</p></span>", "<p>a</p>\n<p>b</p>"),
        ("<p>a <b> </b> b<i></i> c</p>", "<p>a b c</p>"),
        ("<p><b>bold </b>x</p>", "<p><b>bold </b>x</p>"),
        (
            "<ul><li>one</li><li><p>two</p><p>three</p></li></ul>",
            "<ul><li>one</li><li><p>two</p><p>three</p></li></ul>",
        ),
        ("<ol><li> a </li><li></li></ol>", "<ol><li>a</li></ol>"),
        (
            "<blockquote><p>q1</p><p>q2</p></blockquote>",
            "<blockquote><p>q1</p><p>q2</p></blockquote>",
        ),
        ("<blockquote>single</blockquote>", "<blockquote>single</blockquote>"),
        ("<p>a</p><hr><p>b</p>", "<p>a</p>\n<hr>\n<p>b</p>"),
        (
            "<table><tr><th>h</th><td colspan='2' class='x'>c</td></tr></table>",
            '<table><tbody><tr><th>h</th><td colspan="2">c</td></tr></tbody></table>',
        ),
        (
            "<table><tr><td><p>layout</p><p>table</p></td></tr></table>",
            "<p>layout</p>\n<p>table</p>",
        ),
        ("<dl><dt>term</dt><dd>def</dd></dl>", "<dl><dt>term</dt><dd>def</dd></dl>"),
        ("<p>x<strike>y</strike><tt>z</tt></p>", "<p>x<s>y</s><code>z</code></p>"),
        (
            "<p class='c' id='i' style='color:red' onclick='x()'><span class='s'>plain</span></p>",
            "<p>plain</p>",
        ),
        (
            "<p>第一段。</p>\n\n   <p>\u3000\u3000第二段，内容。</p>",
            "<p>第一段。</p>\n<p>第二段，内容。</p>",
        ),
    ],
)
def test_structure(html: str, expected: str) -> None:
    out = clean(html)
    assert out == expected
    assert_line_rules(out)
    assert clean(out) == out


@pytest.mark.parametrize(
    "html",
    [
        "<table><caption>a</caption><caption><p>b</p></caption><tr><td>1</td><td>2</td></tr></table>",
        "<figure><figcaption><p>a</p><p>b</p></figcaption></figure>",
        "<figure><img src='/a.jpg'><figcaption>a<ul><li>b</li></ul></figcaption></figure>",
        "<ul><div><a</div><img src='/i.png'><p>a</p></ul>",
        "<blockquote><hr>a<br><br>a</blockquote>",
        "a<br><b></b><br>a",
        "a<sup><br style='display:none'><br></sup>",
    ],
)
def test_found_by_fuzzing_stay_idempotent(html: str) -> None:
    out = clean(html)
    assert clean(out) == out
    assert_line_rules(out)
    assert text_chars(out) == text_chars(html)


def test_pathological_nesting_keeps_text() -> None:
    assert clean("<pre>" + "<span>" * 1900 + "x\ny") == "<pre>x&#10;y</pre>"
    assert clean("<dl>" + "<div>" * 1900 + "<dt>x</dt>") == "<dl><dd>x</dd></dl>"
    out = clean("<ul><li>" * 1900 + "deep")
    assert "deep" in out and clean(out) == out


def test_empty_inputs() -> None:
    assert clean("") == ""
    assert clean("   \n ") == ""
    assert clean("<script>x</script><p> </p>") == ""


def test_pre_keeps_lines_on_one_line() -> None:
    out = clean("<pre>\n  def f():\n\n      return 1 &lt; 2\n</pre><pre><code>a<br>b</code></pre>")
    assert out == (
        "<pre>  def f():&#10;&#10;      return 1 &lt; 2</pre>\n<pre><code>a&#10;b</code></pre>"
    )
    assert_one_html_block(out)
    assert clean(out) == out


def test_rendered_body_is_one_html_block() -> None:
    html = """
        <h1>Head</h1>
        <p>Para   one
           continues.</p>

        <div>    indented text after a blank line</div>
        <pre>
    code
        more code

    end</pre>
        <ul>
          <li>one</li>

          <li>two</li>
        </ul>
        <blockquote>
            <p>quoted</p>

            <p>again</p>
        </blockquote>
        <table>
          <tr><td>a</td><td>b</td></tr>

          <tr><td>c</td><td>d</td></tr>
        </table>
        <figure><img src="/a.jpg"><figcaption>  cap  </figcaption></figure>
    """
    out = clean(html)
    assert_line_rules(out)
    assert_one_html_block(out)
    assert "<pre>    code&#10;        more code&#10;&#10;    end</pre>" in out


# ---- images and links ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "src"),
    [
        ('<img data-src="/a.jpg" src="data:image/gif;base64,R0lGOD">', "/a.jpg"),
        ('<img data-original="/b.jpg" src="/img/blank.gif">', "/b.jpg"),
        ('<img data-lazy-src="/c.jpg">', "/c.jpg"),
        ('<img srcset="/s.jpg 320w, /m.jpg 640w, /l.jpg 1280w, /x.jpg 900w">', "/l.jpg"),
        ('<img data-srcset="/1x.jpg 1x, /2x.jpg 2x" src="/placeholder.png">', "/2x.jpg"),
        ('<img src="/real.jpg" srcset="/big.jpg 2000w">', "/real.jpg"),
        (
            '<picture><source data-srcset="/p-small.webp 300w, /p-big.webp 900w">'
            '<img src="data:image/png;base64,xx"></picture>',
            "/p-big.webp",
        ),
        ('<picture><source srcset="/s.webp"><img src="/fallback.jpg"></picture>', "/fallback.jpg"),
        ('<img class="lazyload" src="1x1.gif"><noscript><img src="/ns.jpg"></noscript>', "/ns.jpg"),
        ('<noscript><img src="/only-noscript.jpg"></noscript>', "/only-noscript.jpg"),
        ('<img src="//cdn.example.org/p.jpg">', "https://cdn.example.org/p.jpg"),
        ('<img src="https://a.example/c,w_300/x.jpg">', "https://a.example/c,w_300/x.jpg"),
        (
            '<img srcset="https://a.example/c,w_300/x.jpg 300w,'
            ' https://a.example/c,w_900/x.jpg 900w">',
            "https://a.example/c,w_900/x.jpg",
        ),
    ],
)
def test_lazy_images(html: str, src: str) -> None:
    out = clean(html)
    expected = src if src.startswith("https:") else "https://news.example.com" + src
    assert out == f'<figure><img src="{expected}" alt=""></figure>'


def test_noscript_copy_replaces_placeholder_keeping_alt() -> None:
    out = clean(
        '<p><img class="lazy" src="data:x" data-src="/a.jpg" alt="A cat">'
        '<noscript><img src="/a.jpg"></noscript></p>'
    )
    assert out == '<figure><img src="https://news.example.com/a.jpg" alt="A cat"></figure>'


@pytest.mark.parametrize(
    "html",
    [
        "<img>",
        '<img src="">',
        '<img src="data:image/png;base64,iVBOR">',
        '<img src="/spacer.gif">',
        '<img src="/t.gif" width="1" height="1">',
        '<img src="javascript:alert(1)">',
        '<img src="mailto:x@example.com">',
        "<picture><source srcset='data:x'></picture>",
    ],
)
def test_unusable_images_dropped(html: str) -> None:
    assert clean(html) == ""


def test_figure_keeps_image_and_caption() -> None:
    out = clean(
        '<figure class="f"><a href="/big.jpg"><img src="/s.jpg" alt="Alt" title="T" width="640"'
        ' height="x" onerror="alert(1)"></a><figcaption> The <b>caption</b> </figcaption></figure>'
    )
    assert out == (
        '<figure><img src="https://news.example.com/s.jpg" alt="Alt" title="T" width="640">'
        "<figcaption>The <b>caption</b></figcaption></figure>"
    )


def test_image_inside_text_stays_inline_and_alone_becomes_figure() -> None:
    out = clean('<p>see <img src="/i.png"> here</p><p><img src="/j.png"></p>')
    assert out == (
        '<p>see <img src="https://news.example.com/i.png" alt=""> here</p>\n'
        '<figure><img src="https://news.example.com/j.png" alt=""></figure>'
    )


def test_figure_without_image_is_plain_text() -> None:
    assert clean("<figure><blockquote>q</blockquote><figcaption>who</figcaption></figure>") == (
        "<blockquote>q</blockquote>\n<p>who</p>"
    )


def test_links_absolute_and_bad_schemes_dropped() -> None:
    out = clean(
        '<p><a href="/rel?a=1&amp;b=2" class="c" target="_blank" rel="x">rel</a> '
        '<a href="../up">up</a> <a href="//proto.example/x">proto</a> '
        '<a href="mailto:x@example.com" title="Mail">mail</a> '
        '<a href="javascript:alert(1)">js</a> <a href=" JaVa\tScript:alert(1)">js2</a> '
        '<a href="vbscript:msgbox">vb</a> <a href="data:text/html,<b>x</b>">data</a> '
        '<a name="anchor">named</a> <a href="#sec">frag</a></p>'
    )
    assert out == (
        '<p><a href="https://news.example.com/rel?a=1&amp;b=2">rel</a> '
        '<a href="https://news.example.com/up">up</a> <a href="https://proto.example/x">proto</a> '
        '<a href="mailto:x@example.com" title="Mail">mail</a> js js2 vb data named '
        '<a href="https://news.example.com/world/story-1.html#sec">frag</a></p>'
    )


# ---- junk ----------------------------------------------------------------------------


def test_junk_elements_removed() -> None:
    junk = [
        "<script>var a = 1;</script>",
        "<style>p { color: red }</style>",
        "<noscript>enable js</noscript>",
        "<iframe src='https://ads.example'>frame</iframe>",
        "<object data='x'>obj</object>",
        "<embed src='x'>",
        "<form action='/s'><input name='q'><button>Go</button><select><option>o</option>"
        "</select><textarea>t</textarea></form>",
        "<svg><text>svg text</text></svg>",
        "<canvas>canvas</canvas>",
        "<template><p>tpl</p></template>",
        "<link rel='stylesheet' href='x.css'><meta name='x' content='y'>",
        "<nav>nav links</nav><aside>aside</aside><footer>foot</footer><header>head</header>",
        "<!-- a comment -->",
        "<div hidden>hidden</div>",
        "<div aria-hidden='true'>aria hidden</div>",
        "<p style='margin:0; DISPLAY : none'>display none</p>",
    ]
    out = clean("<p>keep</p>" + "".join(junk) + "<p>me</p>")
    assert out == "<p>keep</p>\n<p>me</p>"


def test_strip_selectors() -> None:
    html = (
        '<p>a</p><section id="imu"><div id="dfp-ad-imu1">ad</div></section>'
        '<div class="further-reading"><p>more</p></div><p>b</p>'
    )
    assert clean(html, strip=["section#imu", '[id^="dfp-ad-"]', ".further-reading"]) == (
        "<p>a</p>\n<p>b</p>"
    )


def test_zero_width_characters_removed() -> None:
    zw = "\u200b\u200c\u200d\u2060\ufeff"
    html = (
        f"<p>wa{zw}ter\x01mark\x7f</p>"
        f'<span style="line-height: 0;">{zw * 3}</span>'
        f"<pre>co{zw}de\tx</pre><p>{zw}</p>"
    )
    assert clean(html) == "<p>watermark</p>\n<pre>code\tx</pre>"


def test_line_height_span_with_text_is_kept() -> None:
    assert clean('<p>a <span style="line-height:0">real</span></p>') == "<p>a real</p>"


@pytest.mark.parametrize(
    "html",
    [
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">click</a>',
        "<svg onload=alert(1)><circle></circle></svg>",
        '<iframe src="javascript:alert(1)"></iframe>',
        "<style>body{background:url(javascript:alert(1))}</style>",
        '<p onmouseover="alert(1)">hover</p>',
        '<math><mtext><table><mglyph><style><img src=x onerror="alert(1)">',
        '<a href="&#106;avascript:alert(1)">encoded</a>',
        '<img src="x" srcset="javascript:alert(1) 2x">',
        '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
        '<form><button formaction="javascript:alert(1)">b</button></form>',
        "<scr<script>ipt>alert(1)</script>",
    ],
)
def test_xss_vectors(html: str) -> None:
    out = clean(html)
    lowered = out.lower()
    for bad in ("javascript:", "onerror", "onload", "onmouseover", "<script", "<style",
                "<iframe", "<svg", "<object", "<embed", "<form", "<button"):  # fmt: skip
        assert bad not in lowered, out
    assert clean(out) == out


# ---- text is never lost; idempotence -------------------------------------------------


def test_every_paragraph_survives() -> None:
    paragraphs = [f"Paragraph number {i} with some words, and 中文句子{i}。" for i in range(12)]
    html = (
        f"<div class='x'><p>{paragraphs[0]}</p><div><div>{paragraphs[1]}<br><br>"
        f"<b>{paragraphs[2]}</b></div></div><section><p><span>{paragraphs[3]}</span></p>"
        f"<ul><li>{paragraphs[4]}</li></ul><blockquote>{paragraphs[5]}</blockquote>"
        f"<table><tr><td>{paragraphs[6]}</td><td>{paragraphs[7]}</td></tr></table>"
        f"<figure><img src='/i.jpg'><figcaption>{paragraphs[8]}</figcaption></figure>"
        f"<h1>{paragraphs[9]}</h1><font>{paragraphs[10]}</font><pre>{paragraphs[11]}</pre>"
        "</section></div>"
    )
    out = clean(html)
    text = LexborHTMLParser(out).body.text()  # type: ignore[union-attr]
    for paragraph in paragraphs:
        assert paragraph in text
    assert text_chars(out) == text_chars(html)


_TAGS = [
    "p", "div", "span", "b", "i", "a", "h1", "h3", "ul", "ol", "li", "blockquote", "pre", "code",
    "table", "tr", "td", "th", "figure", "figcaption", "br", "section", "em", "strong", "font",
    "hr", "dl", "dt", "dd", "sup", "q", "caption", "x-custom", "u",
]  # fmt: skip
_JUNK_TAGS = ["img", "noscript", "picture", "source", "script", "iframe", "nav"]
_ATTRS = ["", " href='/x'", " href='javascript:x'", " class='c'", " colspan='2'"]
_JUNK_ATTRS = [" src='/i.png'", " data-src='/l.png'", " style='display:none'", " hidden",
               " srcset='/a.png 1x, /b.png 2x'", " src='data:x'"]  # fmt: skip
_TEXTS = ["", " ", "a", "word ", " two words ", "中文。", "\n", "x\ny", "&amp;", "&lt;b&gt;",
          "\u00a0", "\t", "<", "'", '"', "\u200b", "1"]  # fmt: skip


def _fragments(tags: list[str], attrs: list[str]) -> st.SearchStrategy[str]:
    def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.builds(
            lambda tag, attr, kids: f"<{tag}{attr}>{''.join(kids)}</{tag}>",
            st.sampled_from(tags),
            st.sampled_from(attrs),
            st.lists(children, max_size=4),
        )

    node = st.recursive(st.sampled_from(_TEXTS), element, max_leaves=25)
    return st.lists(node, max_size=5).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_fragments(_TAGS + _JUNK_TAGS, _ATTRS + _JUNK_ATTRS))
def test_idempotent_and_line_rules_on_generated_fragments(html: str) -> None:
    out = clean(html)
    assert clean(out) == out
    assert_line_rules(out)
    if out:
        assert_one_html_block(out)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_fragments(_TAGS, _ATTRS))
def test_no_text_lost_on_generated_fragments(html: str) -> None:
    out = clean(html)
    zero_width = Counter({"\u200b": text_chars(html)["\u200b"]})
    assert text_chars(out) == text_chars(html) - zero_width


def test_deterministic() -> None:
    html = "<div><p>a</p><img data-src='/x.jpg'><ul><li>b</li></ul></div>"
    assert len({clean(html) for _ in range(5)}) == 1


def test_deep_nesting_does_not_fail() -> None:
    html = "<div>" * 400 + "<p>deep <b>text</b></p>" + "</div>" * 400
    out = clean(html)
    assert "deep" in out and "text" in out
    assert_line_rules(out)


# ---- body_text_length ----------------------------------------------------------------


def test_body_text_length_counts_characters() -> None:
    assert body_text_length("") == 0
    assert body_text_length("<p>中文 句子</p>\n<p>a b&amp;</p>") == 7
    assert body_text_length('<figure><img src="https://x/a.jpg" alt="long alt"></figure>') == 0


# ---- a real page ---------------------------------------------------------------------


def test_zaobao_page_body() -> None:
    page = ZAOBAO / "2021-11-18-story20211118-1214802.html"
    if not page.exists():
        pytest.skip("shared corpus not present")
    tree = LexborHTMLParser(page.read_text("utf-8"))
    article = tree.css_first("article#article-body")
    assert article is not None
    out = clean_body(
        article.html or "",
        "https://www.zaobao.com/realtime/world/story20211118-1214802",
        strip=["section#imu", '[id^="dfp-ad-"]'],
    )
    lines = out.split("\n")
    assert len(lines) == 5
    assert all(line.startswith("<p>") and line.endswith("</p>") for line in lines)
    assert lines[0].startswith("<p>（早报讯）日本媒体周四（11月18日）报道")
    assert "googletag" not in out
    assert not re.search("[\u200b\u200c\u200d\ufeff]", out)
    assert_one_html_block(out)


# Paragraphs of text and plain inline markup are copied from lexbor's serialisation
# (the fast path); the token walk handles everything else. Both must agree.
SIMPLE_PARAGRAPHS = [
    '<p>Read <a href="/x?a=1&amp;b=2">this</a> and <span class="c">that</span>.</p>',
    "<p>  a <b> </b> b<i></i> c  </p>",
    '<p><a href="/y"></a>Lead <strong>bold <em>both</em></strong> tail</p>',
    "<p>non&nbsp;breaking&nbsp; space and &lt;escaped&gt; &amp; text</p>",
    "<p><count-badge data-n='3'></count-badge> comments</p>",
    "<p>before <!-- a comment --> after</p>",
    '<p><span style="font-weight: 400;">styled</span> text</p>',
    '<p>SoftBank <a href="https://a.example/">one </a>\n<a href="https://b.example/">two</a></p>',
    "<h3>A <em>heading</em> here</h3>",
    "<p>zero\u200bwidth\u00a0and\x07control</p>",
    "<p><a href='javascript:void(0)'>no target</a> kept as text</p>",
    '<p>hidden <span style="display:none">secret</span> part</p>',
    "<p><span></span></p>",
    "<p><x-custom>word </x-custom></p>",
    "<p><x-a> <b>lead</b></x-a> and <i>tail </i></p>",
    "<p>word <font> two words </font></p>",
    "<p>a <b> <i> c</i></b> d</p>",
    '<p title="x > y">a <a href="/z" title="1 < 2">link</a> b</p>',
]


@pytest.mark.parametrize("html", SIMPLE_PARAGRAPHS)
def test_simple_paragraph_fast_path_matches_token_walk(
    html: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = clean(html)
    monkeypatch.setattr("scraper.extract.clean._Walker.simple_paragraph", lambda *a: None)
    assert fast == clean(html)


def test_simple_paragraph_fast_path_output() -> None:
    assert clean('<p>Read <a href="/x">this</a> and <span class="c">that</span>.</p>') == (
        '<p>Read <a href="https://news.example.com/x">this</a> and that.</p>'
    )
    assert clean('<p>hidden <span style="display:none">secret</span> part</p>') == (
        "<p>hidden part</p>"
    )
    assert clean("<p><count-badge></count-badge> comments <!-- c --></p>") == "<p>comments</p>"


def _in_containers(paragraph: str) -> list[str]:
    inner = paragraph[paragraph.index(">") + 1 : paragraph.rindex("<")]
    return [
        f"<ul><li>{inner}</li><li>second item</li></ul>",
        f"<table><tr><td>{inner}</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>",
        f"<blockquote>{inner}</blockquote>",
        f"<dl><dt>term</dt><dd>{inner}</dd></dl>",
    ]


@pytest.mark.parametrize("html", [c for p in SIMPLE_PARAGRAPHS for c in _in_containers(p)])
def test_simple_inline_fast_path_in_items_cells_and_quotes_matches_token_walk(
    html: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = clean(html)
    monkeypatch.setattr("scraper.extract.clean._Walker.simple_inline", lambda *a, **k: None)
    assert fast == clean(html)
