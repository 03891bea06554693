"""Builders for the fixture feeds and article pages the pipeline tests serve."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import Any


@dataclass(frozen=True)
class Story:
    url: str
    title: str
    published: datetime
    paragraphs: tuple[str, ...]

    @property
    def path(self) -> str:
        return "/" + self.url.split("/", 3)[3]


def serve_stories(site: Any, feed: str, count: int, published: datetime) -> list[str]:
    """``count`` stories of news.example.test behind the RSS ``feed`` on the loopback
    ``site``, each page served; their URLs."""
    stories = [make_story("https://news.example.test", n, published) for n in range(1, count + 1)]
    site.add(feed, rss2(stories), content_type="application/rss+xml")
    for story in stories:
        site.add(story.url, article_page(story))
    return [story.url for story in stories]


def make_story(host: str, n: int, published: datetime, lang: str = "en") -> Story:
    if lang == "zh":
        paras = tuple(
            f"第{n}篇报道的第{i}段：当局周四宣布新的措施，以应对持续上升的需求，"
            f"官员表示相关安排将在下个月逐步落实，并会继续评估其成效。编号{n}-{i}。"
            for i in range(1, 5)
        )
        title = f"测试新闻第{n}篇：当局宣布新措施"
    else:
        paras = tuple(
            f"Story {n} paragraph {i}: the council said on Thursday that the new plan "
            f"would be phased in over the coming months, and officials promised to "
            f"review its effects closely. Marker {n}-{i}."
            for i in range(1, 5)
        )
        title = f"Test story {n}: council announces a plan"
    return Story(f"{host}/news/2026/story-{n}.html", title, published, paras)


def article_page(story: Story, *, lang: str = "en") -> str:
    """A realistic page: navigation, share bar, related list and footer around the story."""
    body = "\n".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>{escape(story.title)} | Example News</title>
<meta property="og:title" content="{escape(story.title)}">
<meta property="article:published_time" content="{story.published.isoformat()}">
<script>window.dataLayer = [];</script>
</head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav></header>
<main>
<article>
<h1>{escape(story.title)}</h1>
<div class="share-bar"><a href="https://twitter.com/share">Share on X</a> <a href="#">Email</a></div>
{body}
<div class="ad-slot" id="dfp-ad-1"><script>googletag.display("x")</script></div>
</article>
<aside class="related"><h3>Related stories</h3><ul>
<li><a href="/news/other-1.html">Another story about something else entirely</a></li>
<li><a href="/news/other-2.html">Yet another unrelated story</a></li></ul></aside>
</main>
<footer><p>© 2026 Example News. All rights reserved.</p></footer>
</body></html>"""


def rss2(stories: list[Story], *, title: str = "Example RSS") -> str:
    items = "".join(
        f"""<item><title>{escape(s.title)}</title><link>{s.url}</link>
<guid isPermaLink="false">{s.url}</guid><pubDate>{format_datetime(s.published)}</pubDate>
<description>{escape("<p>" + s.paragraphs[0] + "</p>")}</description></item>"""
        for s in stories
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{title}</title><link>http://example.test/</link>
<description>test</description>{items}</channel></rss>"""


def atom(stories: list[Story]) -> str:
    entries = "".join(
        f"""<entry><title>{escape(s.title)}</title><link href="{s.url}"/>
<id>tag:example.test,2026:{abs(hash(s.url)) % 10**8}</id>
<updated>{s.published.isoformat()}</updated><published>{s.published.isoformat()}</published>
<summary>{escape(s.paragraphs[0])}</summary></entry>"""
        for s in stories
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Example Atom</title>
<id>tag:example.test,2026:feed</id><updated>2026-11-20T00:00:00Z</updated>{entries}</feed>"""


def json_feed(stories: list[Story]) -> str:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Example JSON",
            "items": [
                {
                    "id": s.url,
                    "url": s.url,
                    "title": s.title,
                    "date_published": s.published.isoformat(),
                    "content_html": f"<p>{escape(s.paragraphs[0])}</p>",
                }
                for s in stories
            ],
        },
        ensure_ascii=False,
    )


def rdf(stories: list[Story]) -> str:
    items = "".join(
        f"""<item rdf:about="{s.url}"><title>{escape(s.title)}</title><link>{s.url}</link>
<dc:date>{s.published.isoformat()}</dc:date></item>"""
        for s in stories
    )
    seq = "".join(f'<rdf:li rdf:resource="{s.url}"/>' for s in stories)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://rdf.example.test/"><title>Example RDF</title>
<link>http://rdf.example.test/</link><description>t</description>
<items><rdf:Seq>{seq}</rdf:Seq></items></channel>{items}</rdf:RDF>"""


def zaobao_listing(stories: list[Story]) -> str:
    """A 2024–26 .sg section page: `.card-listing .card .content-header a`."""
    cards = "".join(
        f"""<div class="card"><div class="content-header">
<a href="{s.path}"><h2>{escape(s.title)}</h2></a></div></div>"""
        for s in stories
    )
    return f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<title>中国即时 | 联合早报</title></head><body>
<nav><a href="/realtime">即时</a><a href="/news">新闻</a></nav>
<div class="card-listing">{cards}
<div class="card"><div class="content-header">
<a href="https://ads.example.com/promo"><h2>推广：外部链接</h2></a></div></div>
</div></body></html>"""


def zaobao_article(story: Story) -> str:
    """A 2024–26 .sg article page: ld+json metadata, `.articleBody` inside `article.max-w-full`."""
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": story.title,
            "datePublished": story.published.isoformat(),
            "keywords": "中国,测试",
        },
        ensure_ascii=False,
    )
    half = len(story.paragraphs) // 2
    first = "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs[:half])
    rest = "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs[half:])
    return f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<title>{escape(story.title)} | 联合早报</title>
<script type="application/ld+json">{ld}</script></head><body>
<header><nav><a href="/">首页</a></nav></header>
<article class="max-w-full"><h1>{escape(story.title)}</h1>
<div class="articleBody">{first}
<div class="bff-google-ad"><div id="dfp-ad-imu1">广告</div></div>{rest}
<span style="line-height: 0;">\u200b\u200c\u200d\ufeff</span>
<button>分享</button></div></article>
<div class="bff-recommend-article"><h3>热文推荐</h3><a href="/x">别的新闻</a></div>
</body></html>"""
