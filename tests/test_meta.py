"""page_metadata, json_ld_objects and parse_datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from scraper.extract.meta import (
    PageMeta,
    json_ld_objects,
    page_metadata,
    parse_datetime,
    title_forms,
    title_key,
)

SGT = timezone(timedelta(hours=8))
URL = "https://news.example.com/a/story.html"
ZAOBAO = Path(__file__).resolve().parents[1] / "../shared/corpus/zaobao"


def meta_of(html: str, tz: timezone = UTC) -> PageMeta:
    return page_metadata(LexborHTMLParser(html), URL, default_tz=tz)


# ---- parse_datetime ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-11-18T17:28:39+08:00", datetime(2021, 11, 18, 17, 28, 39, tzinfo=SGT)),
        ("2021-11-18T09:28:39Z", datetime(2021, 11, 18, 9, 28, 39, tzinfo=UTC)),
        ("2021-11-18T09:28:39.123Z", datetime(2021, 11, 18, 9, 28, 39, 123000, tzinfo=UTC)),
        ("2021-11-18T09:28:39.1234567Z", datetime(2021, 11, 18, 9, 28, 39, 123456, tzinfo=UTC)),
        ("2021-11-18T17:28:39+0800", datetime(2021, 11, 18, 17, 28, 39, tzinfo=SGT)),
        ("2021-11-18T17:28:39", datetime(2021, 11, 18, 17, 28, 39, tzinfo=SGT)),
        ("2021-11-18 17:28", datetime(2021, 11, 18, 17, 28, tzinfo=SGT)),
        ("2021-11-18", datetime(2021, 11, 18, tzinfo=SGT)),
        ("2021/11/18 17:28:30", datetime(2021, 11, 18, 17, 28, 30, tzinfo=SGT)),
        ("11/18/2021 - 17:28", datetime(2021, 11, 18, 17, 28, tzinfo=SGT)),
        ("2019年11月18日 17:28", datetime(2019, 11, 18, 17, 28, tzinfo=SGT)),
        ("发布 / 2019年11月18日 5:28 PM", datetime(2019, 11, 18, 17, 28, tzinfo=SGT)),
        ("发布 / 2019年11月18日 下午5:28", datetime(2019, 11, 18, 17, 28, tzinfo=SGT)),
        ("发布时间：2021-11-18 17:28", datetime(2021, 11, 18, 17, 28, tzinfo=SGT)),
        ("2019年11月18日", datetime(2019, 11, 18, tzinfo=SGT)),
        ("Thu, 18 Nov 2021 09:28:00 GMT", datetime(2021, 11, 18, 9, 28, tzinfo=UTC)),
        ("Thu, 18 Nov 2021 17:28:00 +0800", datetime(2021, 11, 18, 17, 28, tzinfo=SGT)),
        ("November 18, 2021 5:28 pm", datetime(2021, 11, 18, 17, 28, tzinfo=SGT)),
        ("18 Nov 2021", datetime(2021, 11, 18, tzinfo=SGT)),
        ("1637228880", datetime(2021, 11, 18, 9, 48, tzinfo=UTC)),
        ("1637228880000", datetime(2021, 11, 18, 9, 48, tzinfo=UTC)),
    ],
)
def test_parse_datetime(value: str, expected: datetime) -> None:
    parsed = parse_datetime(value, SGT)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value", ["", "   ", "garbage", "2021-13-45", "0001-01-01T00:00:00Z", "99/99/2021", "年月日"]
)
def test_parse_datetime_rejects(value: str) -> None:
    assert parse_datetime(value, UTC) is None


def test_zoneless_time_taken_in_default_zone() -> None:
    parsed = parse_datetime("2021-11-18 17:28", SGT)
    assert parsed is not None
    assert parsed.astimezone(UTC) == datetime(2021, 11, 18, 9, 28, tzinfo=UTC)


# ---- json_ld_objects -----------------------------------------------------------------


def test_json_ld_lenient_and_graph_flattened() -> None:
    html = """<html><head>
    <script type="application/ld+json">{"@type": "Organization", "name": "Org",}</script>
    <script type="application/ld+json">{"@type": "NewsArticle", "headline": "Line\tone
    two"}</script>
    <script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "Site"}, {"@type": ["BlogPosting"], "headline": "G"}]}
    </script>
    <script type="application/ld+json">this is { not json</script>
    <script type="application/ld+json">[{"@type": "Person", "name": "P"}]</script>
    <script type="APPLICATION/LD+JSON"><!-- {"@type": "Thing", "name": "wrapped"} --></script>
    <script>{"@type": "NotLd"}</script>
    </head><body></body></html>"""
    objects = json_ld_objects(LexborHTMLParser(html))
    assert [o.get("@type") for o in objects] == [
        "Organization",
        "NewsArticle",
        "WebSite",
        ["BlogPosting"],
        "Person",
        "Thing",
    ]
    assert objects[1]["headline"] == "Line\tone\n    two"


# ---- page_metadata -------------------------------------------------------------------


def test_ld_json_wins() -> None:
    html = """<html lang="en"><head><title>Title tag | Site</title>
    <meta property="og:title" content="OG title">
    <meta property="article:published_time" content="2020-01-01T00:00:00Z">
    <meta name="author" content="Meta Author">
    <meta property="og:image" content="/og.jpg">
    <meta name="keywords" content="meta, words">
    <script type="application/ld+json">{
      "@context": "https://schema.org", "@type": "ReportageNewsArticle",
      "headline": "LD &amp; headline", "datePublished": "11/18/2021 - 17:28",
      "dateModified": "2021-11-19T08:00:00+08:00",
      "author": [{"@type": "Person", "name": "Ann"}, {"@type": "Person", "name": "Bob"}],
      "image": [{"@type": "ImageObject", "url": "//cdn.example.com/ld.jpg"}],
      "inLanguage": "zh-Hans", "keywords": "日本,经济,失业率",
      "description": "LD description"}</script></head><body></body></html>"""
    meta = meta_of(html, SGT)
    assert meta == PageMeta(
        title="LD & headline",
        published=datetime(2021, 11, 18, 17, 28, tzinfo=SGT),
        modified=datetime(2021, 11, 19, 8, 0, tzinfo=SGT),
        author="Ann, Bob",
        image="https://cdn.example.com/ld.jpg",
        language="zh-Hans",
        keywords=("日本", "经济", "失业率"),
        description="LD description",
        headlines=("OG title", "Title tag | Site", "Title tag", "Site"),
    )


def test_meta_tags_when_no_ld_json() -> None:
    html = """<html><head><title>Ignored | Site</title>
    <meta property="og:title" content="  OG   title ">
    <meta property="article:published_time" content="2021-11-18T09:28:39Z">
    <meta property="article:modified_time" content="2021-11-18T10:00:00Z">
    <meta property="article:author" content="https://facebook.com/someone">
    <meta name="author" content="Jane Doe">
    <meta property="og:image" content="/img/og.jpg">
    <meta property="article:tag" content="one"><meta property="article:tag" content="two">
    <meta name="description" content="Meta description">
    <meta property="og:locale" content="zh_CN">
    </head><body></body></html>"""
    meta = meta_of(html)
    assert meta.title == "OG title"
    assert meta.published == datetime(2021, 11, 18, 9, 28, 39, tzinfo=UTC)
    assert meta.modified == datetime(2021, 11, 18, 10, 0, tzinfo=UTC)
    assert meta.author == "Jane Doe"
    assert meta.image == "https://news.example.com/img/og.jpg"
    assert meta.keywords == ("one", "two")
    assert meta.description == "Meta description"
    assert meta.language == "zh-CN"


def test_other_date_metas_and_time_element() -> None:
    assert meta_of('<meta name="pubdate" content="2021-11-18">').published == datetime(
        2021, 11, 18, tzinfo=UTC
    )
    assert meta_of('<meta name="dc.date" content="2021-11-17">').published == datetime(
        2021, 11, 17, tzinfo=UTC
    )
    html = '<body><p>x</p><time datetime="2021-11-16T10:00:00+08:00">16 Nov</time></body>'
    assert meta_of(html).published == datetime(2021, 11, 16, 10, tzinfo=SGT)
    assert meta_of("<body><p>no date</p></body>").published is None


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("日本长期失业者人数上升 | 联合早报网", "日本长期失业者人数上升"),
        ("台北上海双城论坛12月1日举办|早报", "台北上海双城论坛12月1日举办"),
        ("中美贸易战升级_国际新闻_新浪网", "中美贸易战升级"),
        ("Markets rally on COVID-19 news - The Daily Example", "Markets rally on COVID-19 news"),
        ("Site — A much longer article headline here", "A much longer article headline here"),
        ("Plain title", "Plain title"),
    ],
)
def test_title_tag_suffix_removed(title: str, expected: str) -> None:
    meta = meta_of(f"<html><head><title>{title}</title></head><body></body></html>")
    assert meta.title == expected


def test_title_forms_and_key() -> None:
    assert title_forms("A - B | Site") == ["A - B | Site", "A - B", "B | Site", "A", "B", "Site"]
    assert title_forms("A - B | Site", parts=False) == ["A - B | Site", "A - B", "B | Site"]
    assert title_forms("No separator: here") == ["No separator: here"]
    assert title_key("‘Star Wars’  Original Cuts¶") == title_key("'Star Wars' original cuts")
    assert title_key("日本长期失业者人数上升！") == "日本长期失业者人数上升"


def test_titles_vote() -> None:
    html = """<html><head><title>Headline here - Gazette</title>
    <meta property="og:title" content="A teaser for sharing">
    <meta property="og:site_name" content="Gazette"></head>
    <body><h1>Headline here</h1></body></html>"""
    meta = meta_of(html)
    assert meta.title == "Headline here"  # <title> and <h1> agree; og:title alone
    assert meta.headlines == ("A teaser for sharing", "Headline here - Gazette")


def test_site_name_is_never_the_title() -> None:
    html = """<html><head><title>Gazette | Headline here</title>
    <meta property="og:site_name" content="The Gazette"></head>
    <body><h1>Gazette</h1></body></html>"""
    assert meta_of(html).title == "Headline here"


def test_rdfa_property_lists() -> None:
    html = """<html><head>
    <meta property="og:description twitter:description" content="Shared description">
    <meta property="x:title dc:title" content="DC title"></head><body></body></html>"""
    meta = meta_of(html)
    assert meta.description == "Shared description"
    assert meta.title == "DC title"


def test_html_lang_and_empty_page() -> None:
    assert meta_of('<html lang="zh-CN"><body></body></html>').language == "zh-CN"
    assert meta_of("") == PageMeta()


def test_zaobao_page() -> None:
    page = ZAOBAO / "2021-11-18-story20211118-1214802.html"
    if not page.exists():
        pytest.skip("shared corpus not present")
    tree = LexborHTMLParser(page.read_text("utf-8"))
    url = "https://www.zaobao.com/realtime/world/story20211118-1214802"
    objects = json_ld_objects(tree)
    assert any(o.get("@type") == "Organization" for o in objects)  # the invalid block
    meta = page_metadata(tree, url, default_tz=SGT)
    assert meta.title == "日本长期失业者人数上升"
    assert meta.published == datetime(2021, 11, 18, 17, 28, 39, tzinfo=SGT)
    assert meta.keywords == ("日本", "经济", "失业率")
    assert meta.image is not None and meta.image.startswith("https://")


def test_one_parser_for_feeds_and_pages() -> None:
    """Feeds take any year as written (the pipeline decides); pages only believable
    ones. A zoneless RFC 822 time is in the source's zone, "-0000" is UTC."""
    moon = "1969-07-20T20:17:40Z"
    assert parse_datetime(moon, SGT) is None
    assert parse_datetime(moon, SGT, years=None) == datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC)
    zoneless = "Thu, 18 Nov 2021 17:28:00"
    assert parse_datetime(zoneless, SGT) == datetime(2021, 11, 18, 17, 28, tzinfo=SGT)
    unknown = "Thu, 18 Nov 2021 09:28:00 -0000"
    assert parse_datetime(unknown, SGT) == datetime(2021, 11, 18, 9, 28, tzinfo=UTC)
    assert parse_datetime(" 2021年11月18日\n 17:28 ", SGT) == datetime(
        2021, 11, 18, 17, 28, tzinfo=SGT
    )
