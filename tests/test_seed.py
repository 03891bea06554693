"""Rebuild the reference post (../shared/examples/seed-2021-11-22-zaobao.md) end to end.

A feed item with the seed's title, link and pubDate, and an article page of the
2020–22 www.zaobao.com layout holding its five paragraphs among the ad shells the
old script let through, must give a file in the seed's format with the ads gone.
"""

from __future__ import annotations

import re
from html import escape

import pytest
from conftest import SHARED, Project

SEED = SHARED / "examples" / "seed-2021-11-22-zaobao.md"
URL = "https://www.zaobao.com/realtime/china/story20211122-1215883"
TITLE = "台北上海双城论坛12月1日举办"
PAYWALL = (
    '<a href="https://subscribe.sph.com.sg/promotions/zbpe-3-months-99-cents-promotion/'
    '?utm_campaign=zbpe399" target="_blank"><img class="view-desktop lazyload" '
    'data-src="https://static.zaobao.com/s3fs-public/freemium_images/20210901/'
    'paywall_desktop-zbpe399_2.png" alt style="width:100%;"></a>'
)


def seed_paragraphs() -> list[str]:
    body = SEED.read_text(encoding="utf-8").split("<div>\n", 1)[1]
    paragraphs = re.findall(r"<p>(.*?)</p>", body, flags=re.S)
    return [re.sub(r"<br>\s*$", "", p).strip() for p in paragraphs]


def page(paragraphs: list[str]) -> str:
    ps = [f"<p>{p}</p>" for p in paragraphs]
    body = (
        " ".join(ps[:3])
        + '<section id="imu"><div id="dfp-ad-imu1-wrapper" class="dfp-tag-wrapper">'
        '<div id="dfp-ad-imu1" class="dfp-tag-wrapper"></div></div></section>'
        "<script>googletag.cmd.push(function() { googletag.display('dfp-ad-imu1'); });</script>"
        + " ".join(ps[3:])
        + '<div id="innity-in-post"></div><span style="line-height: 0;">\u200c\ufeff\u200b</span>'
        + PAYWALL
    )
    return f"""<!DOCTYPE html><html lang="zh-Hans"><head><meta charset="utf-8">
<title>{TITLE} | 联合早报网</title>
<meta property="og:title" content="{TITLE}">
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Organization",
"name":"联合早报",}}</script>
</head><body>
<nav class="navbar"><a href="/realtime">即时</a> <a href="/news">新闻</a></nav>
<div class="article-header"><h1 class="article-title">{TITLE}</h1>
<div class="author-info"><div><span>作者：</span></div><div class="mgt10"><span>2021-11-22 18:57</span></div></div></div>
<div class="row"><div class="col-lg-12 article-container">
<article class="article-body" id="article-body">{body}</article>
<div class="article-relative-word"><div>相关热词</div><a href="/keywords/tai-wan">台湾</a></div>
<div><div class="bold">相关推荐</div><a href="/realtime/china/story20211122-1215884">另一条新闻</a></div>
</div></div></body></html>"""


def rss_item(paragraphs: list[str]) -> str:
    description = "".join(f"<p>{p}</p>" for p in paragraphs) + '<section id="imu"></section>'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>联合早报 即时 中国</title><link>https://www.zaobao.com.sg/realtime/china</link>
<description>RSSHub</description>
<item><title>{TITLE}</title><description>{escape(description)}</description>
<pubDate>Mon, 22 Nov 2021 10:57:00 GMT</pubDate><guid isPermaLink="false">{URL}</guid>
<link>{URL}</link><category>台湾</category></item></channel></rss>"""


@pytest.mark.skipif(not SEED.exists(), reason="../shared/examples not present")
def test_seed_is_rebuilt_with_the_ads_gone(project: Project) -> None:
    paragraphs = seed_paragraphs()
    assert len(paragraphs) == 5
    project.site.add(
        "https://rsshub.example.test/zaobao/realtime/china",
        rss_item(paragraphs),
        content_type="application/rss+xml; charset=utf-8",
    )
    project.site.add(URL, page(paragraphs))
    project.write_config(
        [
            {
                "name": "zaobao-realtime-china-feed",
                "url": "https://rsshub.example.test/zaobao/realtime/china",
                "author": "联合早报",
                "tags": ["联合早报"],
                "categories": ["联合早报"],
            }
        ]
    )
    result = project.scrape("--once")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "method=rule:zaobao" in result.stderr  # the page, not the feed's copy
    (post,) = project.posts()
    assert post.relative_to(project.archive).as_posix() == f"_posts/2021-11-22-{TITLE}.md"

    seed = SEED.read_text(encoding="utf-8")
    header = seed.split("<div>\n", 1)[0]
    # The seed was fetched before its (future) pubDate, so its date: is the fetch
    # time; we fetch long after, so date: is min(published, fetched) = published.
    header = re.sub(r"^date: .*$", "date: 2021-11-22T10:57:00.000Z", header, flags=re.M)
    expected = header + "<div>\n" + "".join(f"<p>{p}</p>\n" for p in paragraphs) + "</div>\n"
    assert post.read_text(encoding="utf-8") == expected
