"""Listing pages: one small page per Zaobao listing layout (see LAYOUTS.md,
"Listing pages") in tests/data/listings, each with ``<name>.expected.json``
holding the arguments (URL, that era's selector) and the expected result.
``UPDATE_GOLDEN=1`` rewrites the expectations; review the diff.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import check_golden
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from scraper.charset import decode_body
from scraper.errors import ParseError
from scraper.sources.common import same_site, site_of
from scraper.sources.listing import links_matching, node_text, parse_listing
from scraper.types import Entry, ParsedSource

DATA = Path(__file__).parent / "data" / "listings"
CASES = sorted(DATA.glob("*.html"))
LAYOUTS = Path(__file__).parents[1] / ".." / "shared" / "corpus" / "zaobao" / "LAYOUTS.md"


def _run(case: Path, args: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_listing(
        case.read_text(encoding="utf-8"),
        args["url"],
        selector=args["selector"],
        title_selector=args.get("title_selector"),
    )
    assert all(e.id == e.link and e.published is None for e in parsed.entries)
    return {
        "args": args,
        "title": parsed.title,
        "problem": parsed.problem,
        "entries": [{"link": e.link, "title": e.title} for e in parsed.entries],
    }


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_golden(case: Path) -> None:
    expected_path = case.with_suffix(".expected.json")
    args = json.loads(expected_path.read_text(encoding="utf-8"))["args"]
    check_golden(_run(case, args), expected_path)


def test_fixtures_use_the_documented_selectors() -> None:
    if not LAYOUTS.exists():
        pytest.skip("../shared/corpus/zaobao is not here")
    table = LAYOUTS.read_text(encoding="utf-8").split("## Listing pages")[1].split("##")[0]
    documented = {
        m.group(1)
        for line in table.splitlines()
        for cell in line.split("|")[3:4]
        if (m := re.search(r"`([^`]+)`", cell))
    }
    used = {
        json.loads(p.with_suffix(".expected.json").read_text())["args"]["selector"] for p in CASES
    }
    assert used == documented


def _listing(body: str, **kwargs: Any) -> ParsedSource:
    return parse_listing(body, "https://www.zaobao.com.sg/realtime/china", **kwargs)


def test_off_site_promotions_and_duplicates_are_dropped() -> None:
    parsed = _listing(
        (DATA / "2019-sg.html").read_text(encoding="utf-8"),
        selector=".article-list .article-type a.article-type-link",
    )
    links = [e.link for e in parsed.entries]
    assert not any("sph.com.sg" in link for link in links)
    assert len(links) == len(set(links)) == 3
    # the thumbnail link came first; the headline link gave the title
    assert parsed.entries[0] == Entry(
        id="https://www.zaobao.com.sg/realtime/china/story20190612-964001",
        link="https://www.zaobao.com.sg/realtime/china/story20190612-964001",
        title="香港立法会外 数万人集会",
    )


def test_selector_matching_a_container_uses_the_first_link_inside() -> None:
    body = """<div class="card"><span>标签</span><a href="/a/1">第一篇</a><a href="/a/2">x</a></div>
              <div class="card"><p>no link here</p></div>"""
    parsed = _listing(body, selector=".card")
    assert [(e.link, e.title) for e in parsed.entries] == [
        ("https://www.zaobao.com.sg/a/1", "第一篇")
    ]


def test_selector_matching_nothing_is_a_problem_not_an_error() -> None:
    parsed = _listing("<html><head><title>新版</title></head><body></body></html>", selector="a.x")
    assert parsed == ParsedSource(
        entries=(), title="新版", problem="the link selector 'a.x' matched nothing"
    )


def test_matches_without_usable_links_are_reported() -> None:
    body = '<a class="x" href="javascript:go()">a</a><a class="x" href="https://other.com/">b</a>'
    parsed = _listing(body, selector="a.x")
    assert parsed.entries == ()
    assert parsed.problem == (
        "the link selector 'a.x' matched 2 element(s) but no on-site http(s) link"
    )


@pytest.mark.parametrize("selector", ["a[", ""])
def test_invalid_selector_raises(selector: str) -> None:
    with pytest.raises(ParseError) as caught:
        _listing("<a href='/x'>x</a>", selector=selector)
    assert caught.value.reason.startswith("invalid link selector")


def test_invalid_title_selector_raises() -> None:
    with pytest.raises(ParseError, match="invalid title selector"):
        _listing("<a href='/x'>x</a>", selector="a", title_selector="h2[")


def test_empty_page_raises() -> None:
    with pytest.raises(ParseError, match="empty body"):
        _listing("  \n", selector="a")


def test_links_resolve_against_the_base_element() -> None:
    body = '<head><base href="/sub/dir/"></head><body><a href="page?x=1#f">t</a></body>'
    assert _listing(body, selector="a").entries[0].link == (
        "https://www.zaobao.com.sg/sub/dir/page?x=1"
    )


def test_text_spaces_only_at_block_edges() -> None:
    node = LexborHTMLParser(
        "<a><h2>标题<em>强调</em>结束</h2><p>摘要\n 第二行</p><script>x()</script></a>"
    ).css_first("a")
    assert node is not None
    assert node_text(node) == "标题强调结束 摘要 第二行"


@pytest.mark.parametrize(
    ("host", "other", "same"),
    [
        ("www.zaobao.com.sg", "zaobao.com.sg", True),
        ("www.zaobao.com.sg", "stomp.zaobao.com.sg", True),
        ("WWW.Zaobao.com.sg", "www.zaobao.com.sg.", True),
        ("www.zaobao.com.sg", "www.zaobao.com", False),
        ("www.zaobao.com.sg", "www.sph.com.sg", False),
        ("news.bbc.co.uk", "www.bbc.co.uk", True),
        ("a.example.com", "b.example.com", True),
        ("example.com", "example.org", False),
        ("127.0.0.1", "127.0.0.2", False),
        ("localhost", "localhost", True),
    ],
)
def test_same_site(host: str, other: str, same: bool) -> None:
    assert same_site(host, other) is same


def test_site_of() -> None:
    assert site_of("www.zaobao.com.sg") == "zaobao.com.sg"
    assert site_of("realtime.zaobao.com") == "zaobao.com"


@settings(max_examples=200, deadline=None)
@given(
    html=st.lists(
        st.sampled_from(
            [
                "<a href='/x'>",
                "<a href='https://o.com/'>",
                "</a>",
                "<div class=c>",
                "</div>",
                "<h2>",
                "</h2>",
                "标题",
                " ",
                "<base href='//h.com/'>",
                "<a title=' t '>",
                "&amp;",
                "<a href='javascript:x'>",
                "<a href='http://[::1'>",
                "<script>",
                "</script>",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_any_page_gives_on_site_http_links(html: str) -> None:
    try:
        parsed = _listing(html, selector="a, .c", title_selector="h2")
    except ParseError:
        assert not html.strip()
        return
    for entry in parsed.entries:
        assert entry.link.startswith("https://www.zaobao.com.sg/")
        assert entry.title is None or entry.title == entry.title.strip()


def test_links_by_address_when_the_selectors_find_nothing() -> None:
    html = """<html><head><base href="https://www.zaobao.com.sg/realtime/"></head><body>
    <a href="/realtime/china/story20261201-1000001">One</a>
    <a href="china/story20261201-1000002#comments">Two</a>
    <a href="/realtime/china/story20261201-1000001">One again</a>
    <a href="https://ads.example/story20261201-1">Off site</a>
    <a href="/realtime/china">Section</a><a href="javascript:story20261201-3()">No</a>
    </body></html>"""
    found = links_matching(
        html, "https://www.zaobao.com.sg/realtime/china", [re.compile(r"/story\d{8}-\d+")]
    )
    assert [e.link for e in found.entries] == [
        "https://www.zaobao.com.sg/realtime/china/story20261201-1000001",
        "https://www.zaobao.com.sg/realtime/china/story20261201-1000002",
    ]
    assert all(e.title is None for e in found.entries)  # the article pages give them
    empty = links_matching(html, "https://www.zaobao.com.sg/x", [re.compile(r"/nothing")])
    assert empty.entries == ()
    with pytest.raises(ParseError):
        links_matching("  ", "https://www.zaobao.com.sg/x", [re.compile("x")])


# An undeclared EUC-JP or EUC-KR listing (no <meta> charset, no header charset),
# decoded as the fetcher decodes it: the headlines arrive in their own language,
# not as the plausible Chinese a GB18030 reading makes of them.
_JAPANESE_HEADLINES = [
    "東京都、来月から新たな節電要請　企業に協力呼びかけ",
    "日銀が金融政策決定会合　大規模緩和の維持を決定",
    "大阪で記録的な大雨　一部の地域に避難指示",
    "プロ野球、開幕戦は満員の観客でにぎわう",
]
_KOREAN_HEADLINES = [
    "서울시, 다음 달부터 대중교통 요금 인상",
    "한국은행 기준금리 동결…물가 상승세 여전",
    "부산 해운대에 폭우…일부 지역 대피령",
    "프로야구 개막전 만원 관중 몰려",
]


@pytest.mark.parametrize(
    ("headlines", "encoding", "codec", "site"),
    [
        (_JAPANESE_HEADLINES, "euc_jp", "euc_jp", "news.example.jp"),
        (_KOREAN_HEADLINES, "euc_kr", "cp949", "news.example.kr"),
    ],
)
def test_an_undeclared_east_asian_listing_gives_its_headlines(
    headlines: list[str], encoding: str, codec: str, site: str
) -> None:
    items = "".join(
        f'<li class="story"><a href="/news/{n}.html">{h}</a></li>' for n, h in enumerate(headlines)
    )
    page = f"<html><head><title>{headlines[0]}</title></head><body><ul>{items}</ul></body></html>"
    text, used = decode_body(page.encode(encoding), "text/html")
    assert used == codec
    parsed = parse_listing(text, f"https://{site}/", selector="li.story a")
    assert [e.title for e in parsed.entries] == [" ".join(h.split()) for h in headlines]
    assert [e.link for e in parsed.entries] == [
        f"https://{site}/news/{n}.html" for n in range(len(headlines))
    ]
