"""The Zaobao rule against one page per layout since 2018 and the real 2021 page in
../shared. The pages are the rule's own test pages (scraper/extract/rules/tests/zaobao/,
shipped); each has a sidecar tests/data/pages/zaobao/<name>.expected.yaml with the
fuller expectations checked here."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import clean_env

from scraper.extract import extract_article, load_rules
from scraper.extract.rules import Rule, apply_rule
from scraper.sources.listing import parse_listing

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
PAGES = REPO / "scraper" / "extract" / "rules" / "tests" / "zaobao"
SIDECARS = sorted((DATA / "pages" / "zaobao").glob("*.expected.yaml"))
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\ufeff")
NEVER = (
    "<script",
    "googletag",
    "dfp-ad",
    "<button",
    "购买此文章",
    "热文推荐",
    "astro-island",
    "data:image",
    "innity",
    "bff-",
    "lazyload",
    "data-src",
)


@pytest.fixture(scope="module")
def rule() -> Rule:
    found = load_rules().by_name("zaobao")
    assert found is not None
    return found


def _case(sidecar: Path) -> tuple[dict[str, Any], str]:
    expected = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    if "page" in expected:
        page = REPO / expected["page"]
    else:
        page = PAGES / (sidecar.name.removesuffix(".expected.yaml") + ".html")
    if not page.exists():
        pytest.skip(f"{page} is absent")
    return expected, page.read_text(encoding="utf-8")


def _texts(body: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", line)).strip() for line in body.split("\n")]


def _aware(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    assert parsed.tzinfo is not None
    return parsed


def test_every_layout_has_a_page() -> None:
    names = {p.name.split(".")[0] for p in SIDECARS}
    for era in (
        "2018-sg",
        "2019-sg",
        "2020-sg",
        "2021-11-18-real",
        "2022-com",
        "2024-sg",
        "2025-com",
        "2025-sg-hydration",
        "2026-sg-seo-graph",  # Feb – Jul 2026
        "2026-sg-several-ld",  # since Jul 2026
        "2026-com",
    ):
        assert any(n.startswith(era) for n in names), era


@pytest.mark.parametrize("sidecar", SIDECARS, ids=lambda p: p.name.split(".")[0])
def test_layout(sidecar: Path, rule: Rule) -> None:
    expected, page = _case(sidecar)
    url = expected["url"]
    assert load_rules().for_url(url) == rule
    got = apply_rule(rule, page, url)
    assert got is not None
    assert got.method == expected["method"]
    assert got.title == expected["title"]
    assert got.published is not None and got.published.tzinfo is not None
    assert got.published == _aware(expected["published"])

    lines = got.body.split("\n")
    texts = _texts(got.body)
    at = -1
    for paragraph in expected["paragraphs"]:
        later = [i for i, t in enumerate(texts) if i > at and paragraph in t]
        assert later, f"missing or out of order: {paragraph}\n{got.body}"
        at = later[0]
    srcs = re.findall(r'<img src="([^"]+)"', got.body)
    for wanted in expected.get("images", ()):
        assert any(html.unescape(s).startswith(wanted) for s in srcs), (wanted, srcs)
    if lead := expected.get("lead_figure"):
        assert lines[0].startswith("<figure>") and "<figcaption>" in lines[0]
        assert f'src="{html.escape(lead)}"' in lines[0]
    if "tags" in expected:
        assert list(got.tags) == expected["tags"]

    for junk in (*NEVER, *expected.get("must_not_contain", ())):
        assert junk not in got.body, junk
    for char in ZERO_WIDTH:
        assert char not in got.body
    assert all(line.strip() and line == line.lstrip() for line in lines)
    for src in srcs:
        assert src.startswith("https://"), src


def test_real_page_through_extract_article(rule: Rule) -> None:
    page = REPO.parent / "shared/corpus/zaobao/2021-11-18-story20211118-1214802.html"
    if not page.exists():
        pytest.skip("../shared is absent")
    url = "https://www.zaobao.com/realtime/world/story20211118-1214802"
    got = extract_article(
        page.read_text(encoding="utf-8"),
        url,
        rule=rule,
        feed_content=None,
        feed_title=None,
        default_tz=UTC,
    )
    assert got.method == "rule:zaobao"
    assert got.title == "日本长期失业者人数上升"
    assert got.published == datetime.fromisoformat("2021-11-18T17:28:39+08:00")
    assert got.published.utcoffset() is not None
    paragraphs = [t for t in _texts(got.body) if t and not t.startswith("据日本政府数据")]
    assert len(paragraphs) == 5
    assert paragraphs[0].startswith("（早报讯）日本媒体周四")
    assert paragraphs[-1].endswith("最近给寻求工作的人提供的就业机会减少了。")
    for junk in ("dfp-ad", "googletag", *ZERO_WIDTH):
        assert junk not in got.body


def test_the_yaml_tests_every_layout_page(rule: Rule) -> None:
    """Each page with a sidecar is also one of the rule's own tests (run by
    tests/test_rule_tests.py and `scrape rules check`)."""
    pages = {f"tests/zaobao/{p.name}" for p in PAGES.glob("*.html")}
    assert pages == {case.file for case in rule.tests}
    assert len(pages) == len(SIDECARS) - 1  # all but the real page in ../shared


@pytest.mark.parametrize(
    "url",
    [
        "https://www.zaobao.com/realtime/china/story20211122-1215883",
        "https://www.zaobao.com.sg/realtime/china/story20211122-1215883",
        "https://zaobao.com/news/china",
        "https://zaobao.com.sg/news/world",
        "http://realtime.zaobao.com/2019/11/191118-1006677.html",
        "https://WWW.ZAOBAO.COM.SG/realtime",
    ],
)
def test_both_faces_find_the_rule(url: str) -> None:
    found = load_rules().for_url(url)
    assert found is not None and found.name == "zaobao"


@pytest.mark.parametrize(
    "url", ["https://notzaobao.com/a", "https://zaobao.com.evil.example/a", "https://example.com"]
)
def test_other_hosts_do_not(url: str) -> None:
    assert load_rules().for_url(url) is None


LISTINGS = {
    "2019 .sg": (
        "https://www.zaobao.com.sg/realtime/china",
        '<div class="article-list"><div class="article-type">'
        '<a class="article-type-link" href="/realtime/china/story20191118-1006677">港理大冲突</a>'
        "</div></div>",
        ".article-list .article-type a.article-type-link",
        [("https://www.zaobao.com.sg/realtime/china/story20191118-1006677", "港理大冲突")],
    ),
    "2022–23 .com": (
        "https://www.zaobao.com/realtime/china",
        '<div class="layout__region--second"><span class="realtime-title">'
        '<a href="/realtime/china/story20230301-1370000">两会前瞻</a></span></div>',
        ".layout__region--second span.realtime-title a",
        [("https://www.zaobao.com/realtime/china/story20230301-1370000", "两会前瞻")],
    ),
    "2024 .sg": (
        "https://www.zaobao.com.sg/realtime/world",
        '<ul id="realtime-articles-by-web-category"><li><a href="/realtime/world/story20240101-1">'
        "<h2>新年贺词</h2><span>10:05</span></a></li></ul>",
        "#realtime-articles-by-web-category li a",
        [("https://www.zaobao.com.sg/realtime/world/story20240101-1", "新年贺词")],
    ),
    "2024–26 .sg": (
        "https://www.zaobao.com.sg/realtime/world",
        '<div class="card-listing"><div class="card"><div class="content-header">'
        '<a href="/realtime/world/story20250301-5000001#top">美国关税新政</a></div></div>'
        '<div class="card"><div class="content-header">'
        '<a href="https://www.zaobao.com/interactive-graphics/2025/x">互动图表</a></div></div>'
        '<div class="card"><div class="content-header">'
        '<a href="https://ads.example.com/promo">赞助内容</a></div></div></div>',
        ".card-listing .card .content-header a",
        # the other face's page (an interactive graphic) is another site, as a promotion
        [("https://www.zaobao.com.sg/realtime/world/story20250301-5000001", "美国关税新政")],
    ),
    "2025–26 .com": (
        "https://www.zaobao.com/realtime/china",
        '<div data-testid="article-list"><article><div><div><a class="article-link" '
        'href="/realtime/china/story20251020-7654000" title="中国三季度GDP增长4.8%">'
        "<span>中国三季度GDP</span><time>10:00</time></a></div></div></article></div>",
        '[data-testid="article-list"] article a.article-link',
        [("https://www.zaobao.com/realtime/china/story20251020-7654000", "中国三季度GDP增长4.8%")],
    ),
}


@pytest.mark.parametrize("era", list(LISTINGS))
def test_listing_pages(era: str, rule: Rule) -> None:
    url, body, selector, links = LISTINGS[era]
    page = (
        f"<html><body><nav><a href='/'>首页</a></nav>{body}<footer><a href='/about'>关于</a>"
        "</footer></body></html>"
    )
    assert load_rules().for_url(url) == rule
    assert _first_matching(rule, page, url) == (selector, links)


def _first_matching(
    rule: Rule, page: str, url: str
) -> tuple[str | None, list[tuple[str, str | None]]]:
    """What the pipeline takes from a listing page: the links of the first of the
    rule's selectors that finds any, and that selector."""
    for selector in rule.listing_links:
        parsed = parse_listing(page, url, selector=selector, title_selector=rule.listing_title)
        if parsed.entries:
            return selector, [(e.link, e.title) for e in parsed.entries]
    return None, []


def test_listing_page_of_another_kind(rule: Rule) -> None:
    page = "<html><body><ul class='news'><li><a href='/a'>a</a></li></ul></body></html>"
    assert _first_matching(rule, page, "https://www.zaobao.com/") == (None, [])


def test_scrape_extract_prints_the_post_the_pipeline_would_make(tmp_path: Path) -> None:
    page = PAGES / "2026-com-article-body.html"
    url = "https://www.zaobao.com/news/china/story20260721-9123456"
    run = subprocess.run(
        [sys.executable, "-m", "scraper", "extract", str(page), "--url", url],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(), check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert 'title: "长江流域今夏降水偏多 防汛进入关键期"' in run.stdout
    assert "tags: [ 长江, 防汛, 气候 ]" in run.stdout  # the page's own, for writing rules
    assert "extractor: rule:zaobao" in run.stdout
    assert "date: 2026-07-21T01:05:00.000Z" in run.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "scraper", "extract", str(page), "--url", "not-a-url"],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(), check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "not an http(s) address" in bad.stderr
