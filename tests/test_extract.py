"""extract_article's order: the site rule, then the generic extractor, then the feed's
own content when the page is missing or thinner; never an exception for bad HTML."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.articles import page_input
from scraper.charset import decode_body
from scraper.extract import extract_article, load_rules
from scraper.extract.rules import Rule
from scraper.types import Fetched

URL = "https://www.zaobao.com.sg/realtime/world/story20240101-1"
SGT = timezone(timedelta(hours=8))
RULE_PAGE = """<html><head><title>规则标题 | 联合早报</title></head><body>
<article class="max-w-full"><h1>规则标题</h1><div class="articleBody">
<p>第一段，由规则取出。</p><div class="bff-google-ad">广告</div><p>第二段，由规则取出。</p>
</div></article><span class="when">2024-01-01 08:00</span></body></html>"""
GENERIC_PAGE = """<html><head><title>通用标题</title>
<meta property="article:published_time" content="2024-01-01T08:00:00+08:00"></head><body>
<nav>首页</nav><article><p>通用提取的第一段正文，长度足够。</p><p>通用提取的第二段正文。</p>
</article></body></html>"""
FEED = (
    '<p>订阅源的全文第一段，比页面长得多，内容完整。</p><section id="imu"><div id="dfp-ad-imu1">'
    "</div></section><p>订阅源的全文第二段，同样完整。</p><p>订阅源的全文第三段。</p>"
    '<p><img class="lazyload" data-src="//x.com/s3fs-public/a.jpg"></p><p>请购买此文章。</p>'
)


@pytest.fixture(scope="module")
def rule() -> Rule:
    found = load_rules().by_name("zaobao")
    assert found is not None
    return found


def test_the_rule_comes_first(rule: Rule) -> None:
    got = extract_article(
        RULE_PAGE, URL, rule=rule, feed_content=None, feed_title="订阅标题", default_tz=UTC
    )
    assert got.method == "rule:zaobao"
    assert got.title == "规则标题"
    assert got.body == "<p>第一段，由规则取出。</p>\n<p>第二段，由规则取出。</p>"


def test_generic_when_the_rule_finds_nothing_or_there_is_none(rule: Rule) -> None:
    for which in (rule, None):
        got = extract_article(
            GENERIC_PAGE, URL, rule=which, feed_content=None, feed_title=None, default_tz=UTC
        )
        assert got.method == "generic"
        assert "通用提取的第一段正文" in got.body and "首页" not in got.body
        assert got.title == "通用标题"
        assert got.published == datetime(2024, 1, 1, 8, tzinfo=SGT)


def test_generic_fallback_reads_zoneless_times_in_the_site_zone(rule: Rule) -> None:
    page = GENERIC_PAGE.replace("2024-01-01T08:00:00+08:00", "2024-01-01T08:00:00")
    got = extract_article(page, URL, rule=rule, feed_content=None, feed_title=None, default_tz=UTC)
    assert got.method == "generic" and got.published == datetime(2024, 1, 1, 8, tzinfo=SGT)
    got = extract_article(page, URL, rule=None, feed_content=None, feed_title=None, default_tz=UTC)
    assert got.published == datetime(2024, 1, 1, 8, tzinfo=UTC)


def test_feed_content_when_the_page_could_not_be_fetched(rule: Rule) -> None:
    got = extract_article(
        None, URL, rule=rule, feed_content=FEED, feed_title="订阅标题", default_tz=UTC
    )
    assert got.method == "feed" and got.title == "订阅标题"
    assert got.body.split("\n")[:3] == [
        "<p>订阅源的全文第一段，比页面长得多，内容完整。</p>",
        "<p>订阅源的全文第二段，同样完整。</p>",
        "<p>订阅源的全文第三段。</p>",
    ]
    # the rule's strip list, image rewrites and paywall drops apply to feed content too
    assert "dfp-ad" not in got.body and "购买此文章" not in got.body
    assert 'src="https://static.zaobao.com/s3fs-public/a.jpg"' in got.body
    plain = extract_article(
        None, URL, rule=None, feed_content=FEED, feed_title=None, default_tz=UTC
    )
    assert plain.method == "feed" and plain.title is None
    assert "订阅源的全文第三段" in plain.body and "<script" not in plain.body


def test_feed_content_when_the_page_is_thinner(rule: Rule) -> None:
    thin = RULE_PAGE.replace("<p>第二段，由规则取出。</p>", "")
    got = extract_article(
        thin, URL, rule=rule, feed_content=FEED, feed_title="订阅标题", default_tz=UTC
    )
    assert got.method == "feed"
    assert got.title == "规则标题"  # the page's metadata is kept
    assert "订阅源的全文第一段" in got.body and "由规则取出" not in got.body


def test_page_kept_when_the_feed_is_thinner(rule: Rule) -> None:
    got = extract_article(
        RULE_PAGE,
        URL,
        rule=rule,
        feed_content="<p>摘要。</p>",
        feed_title="订阅标题",
        default_tz=UTC,
    )
    assert got.method == "rule:zaobao" and "第二段" in got.body


def test_nothing_anywhere_gives_an_empty_body(rule: Rule) -> None:
    for html in (None, "", "<html><body><nav>菜单</nav></body></html>"):
        got = extract_article(
            html, URL, rule=rule, feed_content="  ", feed_title=" 订阅标题 ", default_tz=UTC
        )
        assert got.body == ""
        assert got.title == "订阅标题"


@pytest.mark.parametrize(
    "html",
    [
        "\x00\x01\ufffd<<<>>>",
        "<div>" * 5000,
        "<p>unclosed <b><i>tags <script>never ends",
        '<html><script type="application/ld+json">{"@type": "NewsArticle", "headline": [1]}'
        "</script><article class='articleBody'><p>x</p></article>",
        "<div class='articleBody'><p>\ud800 lone surrogate</p></div>",
        '<script type="application/ld+json">{"@type": [{"a": 1}], "headline": {"x": 1},'
        '"datePublished": 5}</script><div class="articleBody"><p>x</p></div>',
    ],
)
def test_bad_html_does_not_raise(rule: Rule, html: str) -> None:
    got = extract_article(html, URL, rule=rule, feed_content=None, feed_title="t", default_tz=UTC)
    assert isinstance(got.body, str)


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("<>/=\"' pdivarticle.class#jsonJSON.parse(){}\\"))
        | st.characters(),
        max_size=300,
    )
)
def test_arbitrary_text_does_not_raise(text: str) -> None:
    rule = load_rules().by_name("zaobao")
    page = (
        f"<div class='articleBody'>{text}</div><script>window.__staticRouterHydrationData = "
        f"JSON.parse({text!r})</script>"
    )
    got = extract_article(page, URL, rule=rule, feed_content=text, feed_title=None, default_tz=UTC)
    assert isinstance(got.body, str)


_LAYOUT_PAGES = sorted(
    (Path(__file__).resolve().parent.parent / "scraper/extract/rules/tests/zaobao").glob("*.html")
) + sorted((Path(__file__).resolve().parent / "data/generic").glob("*.html"))


@pytest.mark.parametrize("path", _LAYOUT_PAGES, ids=lambda p: p.name)
def test_a_page_read_as_its_utf8_bytes_is_the_page_read_as_text(path: Path, rule: Rule) -> None:
    """The pipeline hands the extractor a UTF-8 page's bytes (no encoding again):
    every field is what the text gives, by the rule and by the generic extractor."""
    text = path.read_text(encoding="utf-8")
    for page_rule in (rule, None):
        kwargs = {"rule": page_rule, "feed_content": None, "feed_title": None, "default_tz": SGT}
        assert extract_article(text.encode(), URL, **kwargs) == extract_article(text, URL, **kwargs)


def _fetched(content: bytes, content_type: str) -> Fetched:
    text, encoding = decode_body(content, content_type)
    return Fetched(
        url=URL, status=200, content_type="text/html", content=content, text=text, encoding=encoding
    )


def test_the_extractor_reads_a_utf8_page_as_its_bytes_and_any_other_as_text() -> None:
    chinese = "<html><head><meta charset='{}'></head><body><p>新闻正文，足够长。</p></body></html>"
    utf8 = _fetched(chinese.format("utf-8").encode(), "text/html")
    assert page_input(utf8) is utf8.content
    undeclared = _fetched(chinese.format("").encode(), "text/html")  # read as UTF-8 all the same
    assert page_input(undeclared) is undeclared.content
    broken = _fetched(chinese.format("utf-8").encode() + b"\xff\xfe tail", "text/html")
    assert "\ufffd" in broken.text and page_input(broken) == broken.text  # bytes would differ
    bom = _fetched(codecs.BOM_UTF8 + chinese.format("utf-8").encode(), "text/html")
    assert bom.encoding == "utf-8-sig" and page_input(bom) == bom.text
    gbk = _fetched(chinese.format("gbk").encode("gbk"), "text/html; charset=gbk")
    assert page_input(gbk) == gbk.text == chinese.format("gbk")
