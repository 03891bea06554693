"""Chinese pages and feeds in GBK, GB18030 and Big5 with a missing or wrong
charset, a BOM that contradicts the header, and mixed line endings, through the
real process: every title and paragraph arrives as the site wrote it. Japanese
(EUC-JP) and Korean (EUC-KR) ones with no charset anywhere arrive in their own
language, not as the plausible Chinese GB18030 makes of them.

Decoder-level twins (every clue and its order): tests/test_charset.py and the
encoding cases of tests/test_feed.py.
"""

from __future__ import annotations

import codecs
from html import escape

import pytest

from hostile.checks import assert_survived, check_archive
from hostile.conftest import HostileProject
from hostile.server import Reply
from hostile.world import Item, rss, x

HOST = "https://zh.example.test"
# GB18030-only (four bytes), GBK-only (not in GB2312), traditional (Big5), and
# HKSCS characters, each in a sentence long enough to be an article.
TEXTS = {
    "simplified": (
        "新加坡政府宣布新措施",
        "当局周四宣布新的措施，以应对持续上升的需求，官员表示相关安排将在下个月逐步落实。",
    ),
    "gbk-only": (
        "朱镕基访问新加坡",
        "前总理朱镕基今天抵达新加坡，进行为期三天的访问，双方将讨论经贸合作。",
    ),
    "gb18030-only": (
        "䶮字与𠜎字的故事",
        "研究人员说，䶮和𠜎这样的罕见字在古籍中多次出现，值得进一步整理。",
    ),
    "traditional": (
        "臺灣選舉結果揭曉",
        "中央選舉委員會今晚公佈結果，執政黨在多個縣市取得勝利，投票率創新高。",
    ),
}


def html_page(title: str, text: str, meta: str = "") -> str:
    return (
        f"<html><head>{meta}<title>{escape(title)}</title></head><body>"
        f"<article><h1>{escape(title)}</h1><p>{escape(text)}</p><p>{escape(text)}（二）</p>"
        f"<p>{escape(text)}（三）</p></article></body></html>"
    )


# (name, text key, codec, Content-Type header, <meta>, BOM)
PAGES = [
    ("gbk-no-charset", "simplified", "gbk", "text/html", "", b""),
    ("gbk-meta-gb2312", "gbk-only", "gbk", "text/html", '<meta charset="gb2312">', b""),
    ("gb18030-says-latin1", "gb18030-only", "gb18030", "text/html; charset=iso-8859-1", "", b""),
    ("big5-says-utf8", "traditional", "big5", "text/html; charset=utf-8", "", b""),
    ("big5-no-charset", "traditional", "big5", "text/html", "", b""),
    ("bom-utf8-says-gbk", "simplified", "utf-8", "text/html; charset=gbk", "", codecs.BOM_UTF8),
    (
        "bom-utf16-says-big5",
        "traditional",
        "utf-16-le",
        "text/html; charset=big5",
        "",
        codecs.BOM_UTF16_LE,
    ),
]


def mixed_line_endings(text: str) -> str:
    lines = text.split("\n")
    ends = ["\r\n", "\r", "\n"]
    return "".join(line + ends[i % 3] for i, line in enumerate(lines))


def archive_intact(
    world: HostileProject, sources: list[dict[str, object]], expected: dict[str, tuple[str, str]]
) -> None:
    """``scrape --once`` over ``sources`` archives each expected URL with its (title,
    text), none with a replacement character."""
    world.write_config(sources)
    run = world.run("--once")

    assert_survived(run)
    assert run.returncode == 0, run.stdout + run.stderr
    posts = check_archive(world.archive)
    assert set(posts) == set(expected)
    for url, (title, text) in expected.items():
        assert posts[url].meta["title"] == title, url
        assert text in posts[url].body, (url, posts[url].body[:200])
        assert "\ufffd" not in posts[url].text, url


@pytest.mark.parametrize("fetch_pages", [True, False], ids=["pages", "feed-content"])
def test_chinese_in_every_encoding_arrives_intact(world: HostileProject, fetch_pages: bool) -> None:
    site = world.site
    expected: dict[str, tuple[str, str]] = {}
    items: dict[str, list[Item]] = {"gbk": [], "big5": [], "gb18030": []}
    for name, key, codec, content_type, meta, bom in PAGES:
        title, text = TEXTS[key]
        url = f"{HOST}/{name}.html"
        body = mixed_line_endings(html_page(title, text, meta))
        site.add(url, Reply(bom + body.encode(codec), content_type=content_type))
        expected[url] = (title, text)
        feed = {"traditional": "big5", "gb18030-only": "gb18030"}.get(key, "gbk")
        items[feed].append(Item(x(url), x(title), url, description=f"<p>{text}</p>"))
    # Feeds: GBK declared as gb2312 behind a utf-8 header; Big5 with no declaration
    # but a charset header; GB18030 with neither (found by detection).
    feeds = [
        (
            "gbk",
            "gbk",
            '<?xml version="1.0" encoding="gb2312"?>',
            "application/rss+xml; charset=utf-8",
        ),
        ("big5", "big5", "", "application/rss+xml; charset=big5"),
        ("gb18030", "gb18030", "", "application/rss+xml"),
    ]
    sources = []
    for name, codec, declaration, content_type in feeds:
        xml = rss(items[name]).replace('<?xml version="1.0" encoding="utf-8"?>', declaration)
        site.add(
            f"{HOST}/{name}.xml",
            Reply(mixed_line_endings(xml).encode(codec), content_type=content_type),
        )
        sources.append({"name": name, "url": f"{HOST}/{name}.xml", "fetch_article": fetch_pages})

    archive_intact(world, sources, expected)


# Japanese and Korean with no charset anywhere (no header charset, no <meta>, no
# encoding in the XML declaration): EUC-JP and EUC-KR read as GB18030 make
# plausible Chinese, so detection must weigh the three languages.
EAST_ASIAN = {
    "euc_jp": [
        (
            "東京都、来月から新たな節電要請",
            "電力の需給が厳しくなる見通しを受けて、都は企業や家庭に協力を求めました。",
        ),
        (
            "日銀が金融政策決定会合　大規模緩和の維持を決定",
            "物価の動きを慎重に見極める必要があるとして、現在の政策を続けることを決めました。",
        ),
    ],
    "euc_kr": [
        (
            "서울시, 다음 달부터 대중교통 요금 인상",
            "시는 적자 누적으로 요금 조정이 불가피하다고 설명했습니다. 인상 폭은 다음 주에 발표됩니다.",
        ),
        (
            "한국은행 기준금리 동결…물가 상승세 여전",
            "금융통화위원회는 물가 흐름을 더 지켜볼 필요가 있다고 밝혔습니다. 시장은 예상대로라는 반응입니다.",
        ),
    ],
}


@pytest.mark.parametrize("fetch_pages", [True, False], ids=["pages", "feed-content"])
def test_undeclared_japanese_and_korean_arrive_intact(
    world: HostileProject, fetch_pages: bool
) -> None:
    site = world.site
    expected: dict[str, tuple[str, str]] = {}
    sources = []
    for codec, stories in EAST_ASIAN.items():
        items = []
        for n, (title, text) in enumerate(stories):
            url = f"{HOST}/{codec}/{n}.html"
            site.add(url, Reply(html_page(title, text).encode(codec), content_type="text/html"))
            expected[url] = (" ".join(title.split()), text)
            items.append(Item(x(url), x(title), url, description=f"<p>{text}</p>"))
        xml = rss(items).replace('encoding="utf-8"', "")
        feed_url = f"{HOST}/{codec}.xml"
        site.add(feed_url, Reply(xml.encode(codec), content_type="application/rss+xml"))
        sources.append({"name": codec, "url": feed_url, "fetch_article": fetch_pages})

    archive_intact(world, sources, expected)
