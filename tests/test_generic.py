"""extract_generic on small hand-made pages (tests/data/generic), and its limits."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser

from scraper.extract.clean import clean_body
from scraper.extract.generic import extract_generic
from scraper.extract.limits import bounded_html

DATA = Path(__file__).parent / "data" / "generic"
URL = "https://news.example.com/2024/story.html"
ZAOBAO = Path(__file__).resolve().parents[1] / "../shared/corpus/zaobao"


def page(name: str) -> str:
    return (DATA / name).read_text("utf-8")


def body_text(body: str) -> str:
    root = LexborHTMLParser(body).body
    return root.text(separator=" ") if root is not None else ""


def assert_well_formed(body: str) -> None:
    """Body rules of the archive format, and nothing left for clean_body to do."""
    for line in body.split("\n"):
        assert line.startswith("<") and not line[0].isspace()
    assert clean_body(body, URL) == body
    doc = f"<div>\n{body}\n</div>\n"
    assert [t.type for t in MarkdownIt("commonmark").parse(doc)] == ["html_block"]


def test_news_article() -> None:
    result = extract_generic(page("news_article.html"), URL)
    assert result.method == "generic"
    assert result.title == "River Town Opens New Bridge After Decade of Delays"
    assert result.published == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    assert result.author == "Jane Reporter"
    assert result.image == "https://news.example.com/images/bridge-lead.jpg"
    assert result.language == "en"
    assert result.tags == ("bridges", "infrastructure", "river town")
    text = body_text(result.body)
    for kept in (
        "After ten years of planning disputes",
        "Hundreds of residents walked across the span",
        "A long road to the river",
        "The project was first proposed in 2014",
        "steel prices",
        "We learned more about mud",
        "Length: 420 metres",
        "Local businesses on the western side",
        "The old ferry landing will be turned into a small park",
    ):
        assert kept in text
    for junk in (
        "Sport",
        "cookies",
        "Share on Twitter",
        "Advertisement",
        "Related stories",
        "Ferry service ends",
        "morning newsletter",
        "waiting for this bridge",
        "Most read",
        "All rights reserved",
        "By Jane Reporter",
    ):
        assert junk not in text
    assert result.body.startswith("<p>After ten years")  # no title, no byline
    assert '<a href="https://news.example.com/news/steel-prices">' in result.body
    assert "<h2>A long road to the river</h2>" in result.body
    assert_well_formed(result.body)


def test_chinese_article_with_div_paragraphs() -> None:
    sgt = timezone(timedelta(hours=8))
    result = extract_generic(page("chinese_article.html"), URL, default_tz=sgt)
    assert result.title == "山城新建图书馆周末开放 市民排队入馆"
    assert result.published == datetime(2024, 5, 18, 10, 20, tzinfo=sgt)
    assert result.author == "王小明"
    assert result.tags == ("图书馆", "山城", "文化")
    assert result.language == "zh-CN"
    lines = result.body.split("\n")
    assert lines[0].startswith("<p>本报讯 山城市新建的市立图书馆")
    text = body_text(result.body)
    for kept in ("藏书量超过一百二十万册", "李女士说", "第二客厅", "自助借还机共有四十台"):
        assert kept in text
    for junk in ("首页", "分享到", "相关新闻", "热点排行", "版权所有", "山城地铁二号线"):
        assert junk not in text
    assert '<img src="https://img.example.cn/2024/0518/lib.jpg" alt="图书馆外景">' in result.body
    assert_well_formed(result.body)


def test_article_body_marked_with_itemprop() -> None:
    result = extract_generic(page("marked_body.html"), URL)
    assert result.title == "港口货运量连续三个月回升"
    assert result.published == datetime(2024, 6, 2, 8, 15, tzinfo=timezone(timedelta(hours=8)))
    lines = result.body.split("\n")
    assert len(lines) == 3
    assert lines[0].startswith("<p>示例财经讯 最新统计数据显示")
    assert "\u200b" not in result.body
    assert "推荐阅读" not in result.body and "标签" not in result.body
    assert_well_formed(result.body)


def test_layout_table_cell() -> None:
    result = extract_generic(page("layout_table.html"), URL)
    text = body_text(result.body)
    assert "The fishing boats came in late on Thursday" in text
    assert "raise the mooring fees" in text
    assert "Archive" not in text and "Advertise here" not in text
    assert "<table" not in result.body
    assert_well_formed(result.body)


def test_article_in_chunks() -> None:
    result = extract_generic(page("chunked_article.html"), URL)
    text = body_text(result.body)
    assert "Twenty years ago almost every night train" in text
    assert "The revival has not been easy" in text
    assert "keep stations open for arrivals at six" in text
    assert "Subscribe" not in text and "Get our app" not in text
    assert "Another story about trains" not in text


def test_leading_title_and_byline_dropped() -> None:
    html = (
        "<html><head><title>A Headline | Site</title><meta name='author' content='Sam Writer'>"
        "</head><body><div class='post'><h1>A Headline</h1><p>By Sam Writer</p>"
        "<p>Updated 10:01 pm PST, Tuesday, November 19, 2019</p>"
        + "<p>This is a long paragraph of the article body, with enough words in it to count "
        "as real content for any extractor that reads it, and then some more words.</p>"
        * 3
        + "</div></body></html>"
    )
    body = extract_generic(html, URL).body
    assert body.startswith("<p>This is a long paragraph")
    assert "Sam Writer" not in body and "A Headline" not in body and "10:01" not in body


def test_short_item_falls_back_to_the_article_region() -> None:
    html = (
        "<html><body><nav><a href='/'>Home</a></nav><article><h1>Notice</h1>"
        "<p>Office closed Monday.</p><p>Back Tuesday.</p></article><footer>f</footer></body></html>"
    )
    result = extract_generic(html, URL)
    assert result.title == "Notice"  # the h1, the page having no other title
    assert result.body == "<p>Office closed Monday.</p>\n<p>Back Tuesday.</p>"


def test_short_chinese_paragraphs_count() -> None:
    html = (
        "<html><body><div class='menu'><a href='/'>首页</a></div><div class='text'>"
        "<p>这是一段很短的中文正文，只有十几个字。</p><p>第二段也很短，但是意思完整。</p>"
        "</div><div class='links'><a href='/1'>其他新闻标题一</a> <a href='/2'>其他新闻标题二</a></div>"
        "</body></html>"
    )
    body = extract_generic(html, URL).body
    assert (
        body == "<p>这是一段很短的中文正文，只有十几个字。</p>\n<p>第二段也很短，但是意思完整。</p>"
    )


PROSE = (
    "The council voted on Tuesday to extend the programme, after a debate that ran "
    "late into the evening, with members divided over the cost."
)


def test_article_in_a_sidebar_named_column_is_kept() -> None:
    # Furniture by name ("sidebar") that holds most of the page's prose is the article.
    paragraphs = "".join(f"<p>{PROSE} Part {n}.</p>" for n in range(6))
    html = (
        "<html><body><div class='layout has-sidebar'><div class='col'>"
        f"{paragraphs}</div></div><div class='comments'><p>{PROSE} A reader.</p>"
        f"<p>{PROSE} Another reader.</p></div></body></html>"
    )
    body = extract_generic(html, URL).body
    assert body.count("<p>") == 6 and "Part 5." in body
    assert "reader" not in body


def test_prose_in_comments_does_not_win() -> None:
    comments = "".join(f"<p>{PROSE} Reader {n}.</p>" for n in range(8))
    html = (
        f"<html><body><div class='story'><p>{PROSE} Story one.</p><p>{PROSE} Story two.</p>"
        f"<p>{PROSE} Story three.</p></div><section id='comments'>{comments}</section>"
        "</body></html>"
    )
    body = extract_generic(html, URL).body
    assert "Story three." in body and "Reader" not in body


def test_divs_of_inline_text_are_paragraphs() -> None:
    # No <p> at all: each <div> holds its text in spans and links (old blog markup).
    divs = "".join(
        f"<div><span style='font-size: small'>{PROSE} <a href='/more'>Item {n}</a>.</span></div>"
        for n in range(5)
    )
    html = (
        "<html><body><div class='nav'><a href='/'>Home</a> <a href='/news'>News</a></div>"
        f"<div class='post-body'>{divs}</div></body></html>"
    )
    body = extract_generic(html, URL).body
    assert body.count("<p>") == 5
    assert '<a href="https://news.example.com/more">Item 4</a>' in body
    assert "Home" not in body


def test_furniture_inside_the_article_is_removed() -> None:
    html = (
        f"<html><body><article><p>{PROSE} One.</p><div class='share-bar'><a href='/fb'>"
        f"Share on Facebook</a></div><p>{PROSE} Two.</p><p>{PROSE} Three.</p>"
        "<p style='display:none'>Hidden text that is long enough to be a paragraph.</p>"
        "</article></body></html>"
    )
    body = extract_generic(html, URL).body
    assert "Three." in body and "Share" not in body and "Hidden" not in body


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "<html></html>",
        "<html><body></body></html>",
        "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></body></html>",
        "<html><body><ul><li><a href='/a'>First story of the day</a></li>"
        "<li><a href='/b'>Second story of the day</a></li></ul></body></html>",
        "<html><body><form><p>Sign in to read on</p><input name='user'></form></body></html>",
        "\x00\x01\x02 garbage \ufffd <<<>>> </div></p>",
        "<frameset><frame src='x'></frameset>",
    ],
)
def test_nothing_to_find(html: str) -> None:
    result = extract_generic(html, URL)
    assert result.body == ""
    assert result.method == "generic"


def test_never_raises_on_binary_garbage() -> None:
    rng = random.Random(7)
    for _ in range(5):
        junk = bytes(rng.getrandbits(8) for _ in range(20_000)).decode("latin-1")
        assert extract_generic(junk, URL).method == "generic"
    assert extract_generic(b"<p>bytes \xff\xfe</p>", URL).method == "generic"  # type: ignore[arg-type]


def test_nested_fifty_levels() -> None:
    text = "A sentence of the deeply nested article, with commas, and words. " * 5
    html = "<div>" * 50 + f"<p>{text}</p>" * 3 + "</div>" * 50
    assert "deeply nested article" in extract_generic(html, URL).body


@pytest.mark.parametrize(
    "html",
    [
        "<div><span>" * 60_000 + "<p>" + "words, " * 100,
        "<table><tr><td>" * 20_000 + "words, " * 100,
        "<p>" + "<b>" * 60_000 + "words " * 100,
    ],
)
def test_pathological_nesting_is_bounded(html: str) -> None:
    start = time.process_time()
    result = extract_generic(html, URL)
    assert time.process_time() - start < 5
    assert result.method == "generic"


def test_large_page_is_bounded() -> None:
    paragraph = "<p>" + "Some sentence, with words and commas, here. " * 10 + "</p>\n"
    html = "<html><body><div>" + paragraph * 45_000 + "</div></body></html>"  # ~20 MB
    start = time.process_time()
    result = extract_generic(html, URL)
    assert time.process_time() - start < 20
    assert result.body.startswith("<p>Some sentence")


def test_bounded_html() -> None:
    ordinary = "<div><p>a<p>b<ul><li>x<li>y</ul><img src=x><br></div>" * 1000
    assert bounded_html(ordinary) == ordinary.encode()
    deep = "<div>" * 3000 + "text"
    assert bounded_html(deep, max_depth=2000) == b"<div>" * 2000
    assert bounded_html(deep.encode(), max_depth=2000) == b"<div>" * 2000
    assert bounded_html("x" * 10, max_bytes=4) == b"xxxx"
    # cut at a character's start, not inside its UTF-8 bytes
    assert bounded_html("ab早报", max_bytes=4) == b"ab"
    assert bounded_html("ab早报", max_bytes=5) == "ab早".encode()
    assert bounded_html("a\ud800b") == b"ab"  # a lone surrogate cannot be encoded


def test_zaobao_page() -> None:
    path = ZAOBAO / "2021-11-18-story20211118-1214802.html"
    if not path.exists():
        pytest.skip("shared corpus not present")
    sgt = timezone(timedelta(hours=8))
    url = "https://www.zaobao.com/realtime/world/story20211118-1214802"
    result = extract_generic(path.read_text("utf-8"), url, default_tz=sgt)
    lines = result.body.split("\n")
    assert len(lines) == 5
    assert lines[0].startswith("<p>（早报讯）日本媒体周四（11月18日）报道")
    assert "googletag" not in result.body
    assert result.title == "日本长期失业者人数上升"
    assert result.published == datetime(2021, 11, 18, 17, 28, 39, tzinfo=sgt)
    assert_well_formed(result.body)


def test_paragraphs_straight_under_body() -> None:
    # No wrapper at all: the body itself is the article.
    html = (
        "<html><body><h1>Field notes</h1>"
        + "".join(f"<p>{PROSE} Note {n}.</p>" for n in range(3))
        + "<br></body></html>"
    )
    body = extract_generic(html, URL).body
    assert body.count("<p>") == 3 and "Note 2." in body


def test_a_short_note_is_kept_whole() -> None:
    # Every paragraph is under the minimum length: the page is still one short text.
    html = "<html><body><p>Closed today.</p><p>Open again tomorrow at nine.</p></body></html>"
    assert extract_generic(html, URL).body == (
        "<p>Closed today.</p>\n<p>Open again tomorrow at nine.</p>"
    )


def test_text_straight_in_body_without_paragraphs() -> None:
    html = "<html><body>\n  Just a line of text\n  <ul><li>one item</li></ul></body></html>"
    body = extract_generic(html, URL).body
    assert "Just a line of text" in body and "<li>one item</li>" in body


def test_the_second_strategy_still_drops_furniture() -> None:
    html = (
        "<html><body><nav><a href='/'>Home</a></nav><p>A short notice.</p>"
        "<div class='share-buttons'><a href='/s'>Share</a></div>"
        "<footer>Footer text of the site</footer></body></html>"
    )
    assert extract_generic(html, URL).body == "<p>A short notice.</p>"


def test_a_section_named_by_its_heading_is_not_furniture() -> None:
    # Documentation generators give each section its heading's words as an id; a
    # heading "Sharing the work" must not make the section a share bar.
    sections = "".join(
        f"<div class='section' id='{slug}'><h2>{title}</h2>"
        + "".join(f"<p>{PROSE} {title} {n}.</p>" for n in range(3))
        + "</div>"
        for slug, title in (
            ("why-it-matters", "Why it matters"),
            ("sharing-the-work-with-others", "Sharing the work with others"),
            ("related-tools", "Related tools"),
        )
    )
    html = f"<html><body><div class='body'>{sections}</div></body></html>"
    body = extract_generic(html, URL).body
    assert "Sharing the work with others 2." in body and "Related tools 2." in body
    # A share bar named so is still dropped, heading or not.
    bar = "<div id='share'><h3>Share</h3><a href='/fb'>Facebook</a></div>"
    html = f"<html><body><div class='body'>{sections}{bar}</div></body></html>"
    assert "Facebook" not in extract_generic(html, URL).body


def test_a_long_comma_separated_list_of_links_is_not_the_article() -> None:
    names = ", ".join(f"<a href='/users/{n}'>reader{n}</a>" for n in range(400))
    html = (
        "<html><body><div class='work'>"
        + "".join(f"<p>{PROSE} Chapter {n}.</p>" for n in range(8))
        + f"</div><div id='kudos'><p>{names} liked this.</p></div></body></html>"
    )
    body = extract_generic(html, URL).body
    assert "Chapter 7." in body and "reader399" not in body


def test_an_article_written_in_divs_beside_a_note_in_paragraphs() -> None:
    # The story is a div per paragraph (an editor's markup); a short note under it
    # uses <p>. The note must not be taken for the article.
    story = "".join(
        f"<div style='margin: 1em 0'><div><span>{PROSE} Scene {n}.</span></div></div>"
        for n in range(12)
    )
    note = f"<div class='author-note'><p>{PROSE} Thanks for reading.</p><p>{PROSE}</p></div>"
    html = f"<html><body><div class='chapter'>{story}</div>{note}</body></html>"
    body = extract_generic(html, URL).body
    assert "Scene 0." in body and "Scene 11." in body


def test_a_bare_div_beside_the_best_block_is_a_paragraph() -> None:
    html = (
        "<html><body><article><h1>Title</h1><div>"
        + "".join(f"<p>{PROSE} First part {n}.</p>" for n in range(3))
        + f"</div><h2>More</h2><div>{PROSE} A closing paragraph in a div.</div>"
        + "</article></body></html>"
    )
    assert "A closing paragraph in a div." in extract_generic(html, URL).body


def test_chunks_of_one_article_are_all_kept() -> None:
    # Chunks of one class between figures; the first chunk's paragraphs sit too deep
    # for their scores to reach it.
    deep = "".join(f"<p>{PROSE} Opening {n}.</p>" for n in range(2))
    for _ in range(5):
        deep = f"<div><i></i>{deep}</div>"
    chunk = "".join(f"<p>{PROSE} Later {n}.</p>" for n in range(8))
    html = (
        "<html><body><div id='post'>"
        f"<div class='chunk'>{deep}</div>"
        "<figure><img src='/a.jpg'><figcaption>A picture</figcaption></figure>"
        f"<div class='chunk'><div>{chunk}</div></div></div></body></html>"
    )
    body = extract_generic(html, URL).body
    assert "Opening 0." in body and "Later 7." in body


def test_numbered_parts_of_a_story_body_are_kept() -> None:
    first = "".join(f"<p>{PROSE} Part one {n}.</p>" for n in range(2))
    second = "".join(f"<p>{PROSE} Part two {n}.</p>" for n in range(6))
    html = (
        "<html><body><article><div class='lead'><div class='story-body story-body-1'>"
        f"{first}</div><span>Photo</span></div><div class='ad'>Advertisement</div>"
        "<aside><div>More</div></aside><div class='rest'><span>Continued</span>"
        f"<div class='story-body story-body-2'>{second}</div></div>"
        "</article></body></html>"
    )
    body = extract_generic(html, URL).body
    assert "Part one 0." in body and "Part two 5." in body and "Advertisement" not in body


def test_a_post_written_as_lists_is_kept_whole() -> None:
    # Weekly notes: a line of intro, then lists; the only paragraphs long enough to
    # score are screenshot captions, so the best candidate alone is a fragment.
    items = "".join(
        f"<li>Item {n}: the team landed a change that makes the thing faster for everyone"
        " who uses it, <a href='/bug'>bug 1</a></li>"
        for n in range(8)
    )

    def caption(n: int) -> str:
        return (
            f"<ul><li>Screenshot {n}<div class='wp-caption'><img src='/a{n}.png'>"
            f"<p>The new panel {n}{', and more' * (4 * n)}.</p></div></li></ul>"
        )

    html = (
        "<html><body><nav><ul><li><a href='/'>Home</a></li></ul></nav>"
        f"<div class='entry'><p>Notes for this week.</p>{caption(1)}"
        f"<h3>Highlights</h3><ul>{items}</ul>{caption(2)}<h3>Fixes</h3><ul>{items}</ul>"
        f"{caption(3)}</div><footer>Footer</footer></body></html>"
    )
    body = extract_generic(html, URL).body
    assert body.count("Item 7:") == 2 and "Highlights" in body and "Footer" not in body


def test_teasers_around_an_article_do_not_widen_it() -> None:
    story = "".join(f"<p>{PROSE} Story {n}.</p>" for n in range(10))
    teasers = "".join(
        f"<div class='teaser'><h3><a href='/t{n}'>Another story {n}</a></h3>"
        f"<div class='info'><p>{PROSE} Teaser {n}.</p></div></div>"
        for n in range(14)
    )
    html = f"<html><body><div class='article-body'>{story}</div>{teasers}</body></html>"
    body = extract_generic(html, URL).body
    assert "Story 9." in body and "Teaser" not in body
