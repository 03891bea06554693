"""The whole path, through the real CLI, against the loopback site."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from conftest import SHARED, Project, front_matter
from newsfixtures import (
    Story,
    article_page,
    atom,
    json_feed,
    make_story,
    rdf,
    rss2,
    zaobao_article,
    zaobao_listing,
)

T0 = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
FEED_URL = "https://news.example.test/rss.xml"
AUTHOR = "联合早报"


def serve_world(project: Project) -> dict[str, list[Story]]:
    """An RSS, an Atom, a JSON Feed, an RDF and a Zaobao listing source, two stories each."""
    site = project.site
    world: dict[str, list[Story]] = {
        "rss": [
            make_story("https://news.example.test", n, T0 + timedelta(hours=n)) for n in (1, 2)
        ],
        "atom": [
            make_story("https://blog.example.test", n, T0 + timedelta(hours=n)) for n in (3, 4)
        ],
        "json": [
            make_story("https://json.example.test", n, T0 + timedelta(hours=n)) for n in (5, 6)
        ],
        "rdf": [make_story("http://rdf.example.test", n, T0 + timedelta(hours=n)) for n in (7, 8)],
        "listing": [
            make_story("https://www.zaobao.com.sg", n, T0 + timedelta(hours=n), lang="zh")
            for n in (9, 10)
        ],
    }
    site.add(
        "https://news.example.test/rss.xml",
        rss2(world["rss"]),
        content_type="application/rss+xml",
        headers={"ETag": '"rss-1"'},
    )
    site.add(
        "https://blog.example.test/atom.xml",
        atom(world["atom"]),
        content_type="application/atom+xml",
    )
    site.add(
        "https://json.example.test/feed.json",
        json_feed(world["json"]),
        content_type="application/feed+json",
    )
    site.add(
        "http://rdf.example.test/index.rdf", rdf(world["rdf"]), content_type="application/rdf+xml"
    )
    site.add("https://www.zaobao.com.sg/realtime/china", zaobao_listing(world["listing"]))
    for kind, stories in world.items():
        for s in stories:
            page = zaobao_article(s) if kind == "listing" else article_page(s)
            site.add(s.url, page)
    project.write_config(
        [
            {
                "name": "rss",
                "url": "https://news.example.test/rss.xml",
                "author": AUTHOR,
                "tags": ["news", AUTHOR],
                "categories": [AUTHOR],
            },
            {"name": "atom", "url": "https://blog.example.test/atom.xml", "author": "Blog"},
            {"name": "json", "url": "https://json.example.test/feed.json", "author": "JSON"},
            {"name": "rdf", "url": "http://rdf.example.test/index.rdf", "author": "RDF"},
            {
                "name": "zaobao-realtime-china",
                "url": "https://www.zaobao.com.sg/realtime/china",
                "kind": "listing",
                "author": AUTHOR,
                "tags": [AUTHOR],
                "categories": [AUTHOR],
            },
        ]
    )
    return world


def article_requests(project: Project) -> list[str]:
    return [r.path for r in project.site.requests if "/news/2026/" in r.path]


def test_once_archives_every_article_once_and_then_nothing(project: Project) -> None:
    world = serve_world(project)

    first = project.scrape("--once")
    assert first.returncode == 0, first.stdout + first.stderr
    posts = project.posts()
    assert len(posts) == 10, [p.name for p in posts]
    by_url = {}
    for path in posts:
        text = path.read_text(encoding="utf-8")
        meta = front_matter(text)
        by_url[meta["from"]] = (path, text, meta)
    for kind, stories in world.items():
        for s in stories:
            path, text, meta = by_url[s.url]
            assert path.parent == project.archive / "_posts"
            assert path.name.startswith(s.published.strftime("%Y-%m-%d-"))
            assert meta["title"] == s.title
            assert meta["layout"] == "post"
            # min(published, fetched): the stories are dated before the run
            assert meta["date"] == s.published
            assert f"\ndate: {s.published.strftime('%Y-%m-%dT%H:%M:%S.000Z')}\n" in text
            assert f"<!--{int(s.published.timestamp() * 1000)}-->" in text
            for p in s.paragraphs:
                assert p in text, (kind, p)
            for junk in (
                "Share on X",
                "Related stories",
                "googletag",
                "All rights reserved",
                "热文推荐",
                "广告",
                "分享",
                "\u200b",
                "<script",
            ):
                assert junk not in text, (kind, junk)
    rss_meta = by_url[world["rss"][0].url][2]
    assert rss_meta["author"] == AUTHOR
    assert rss_meta["tags"] == ["news", AUTHOR]
    assert "new 2" in first.stdout

    fetched_pages = len(article_requests(project))
    assert fetched_pages == 10
    second = project.scrape("--once")
    assert second.returncode == 0, second.stderr
    assert len(project.posts()) == 10
    assert len(article_requests(project)) == fetched_pages, "a second run fetched pages again"
    rss_hits = project.site.hits("/rss.xml")
    assert rss_hits[-1].headers.get("If-None-Match") == '"rss-1"'

    project.state.unlink()
    third = project.scrape("--once")
    assert third.returncode == 0, third.stderr
    assert sorted(project.posts()) == sorted(posts), "state lost: duplicates written"
    assert len(article_requests(project)) == fetched_pages


def test_files_follow_the_format_line_for_line(project: Project) -> None:
    world = serve_world(project)
    assert project.scrape("--once", "--source", "rss").returncode == 0
    story = world["rss"][0]
    (path,) = [p for p in project.posts() if story.title.split(":")[0] in p.read_text()]
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[:9] == [
        "---",
        "layout: post",
        f'title: "{story.title}"',
        f"date: {story.published.strftime('%Y-%m-%dT%H:%M:%S.000Z')}",
        f"author: {AUTHOR}",
        f"from: {story.url}",
        f"tags: [ news, {AUTHOR} ]",
        f"categories: [ {AUTHOR} ]",
        "---",
    ]
    assert lines[9] == f"<!--{int(story.published.timestamp() * 1000)}-->"
    assert lines[10] == f"[{story.title}]({story.url})"
    assert lines[11:14] == ["------", "", "<div>"]
    assert lines[-2:] == ["</div>", ""]
    body = lines[14:-2]
    assert body == [f"<p>{p}</p>" for p in story.paragraphs]


def test_only_named_sources_are_polled(project: Project) -> None:
    serve_world(project)
    result = project.scrape("--once", "--source", "json", "--source", "rdf")
    assert result.returncode == 0, result.stderr
    assert len(project.posts()) == 4
    assert not project.site.hits("/rss.xml")
    unknown = project.scrape("--once", "--source", "nope")
    assert unknown.returncode == 2
    assert "nope" in unknown.stderr


def test_failed_article_is_reported_and_retried_next_run(project: Project) -> None:
    stories = [make_story("https://news.example.test", n, T0) for n in (1, 2)]
    project.site.add(
        "https://news.example.test/rss.xml",
        rss2(stories),
        content_type="application/rss+xml",
        headers={"ETag": '"v1"'},
    )
    project.site.add(stories[0].url, article_page(stories[0]))
    project.site.add(stories[1].url, "down for maintenance", status=503, content_type="text/plain")
    project.write_config([{"name": "rss", "url": "https://news.example.test/rss.xml"}])

    first = project.scrape("--once")
    assert first.returncode == 1
    assert stories[1].url in first.stdout and "503" in first.stdout
    assert "failed 1" in first.stdout
    assert "article.failed" in first.stderr and "source=rss" in first.stderr
    assert len(project.posts()) == 1

    project.site.add(stories[1].url, article_page(stories[1]))
    second = project.scrape("--once")
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(project.posts()) == 2
    # the feed was fetched in full again (no 304): its validators waited for the retry
    assert project.site.hits("/rss.xml")[-1].headers.get("If-None-Match") is None


def test_unreachable_source_is_reported_and_others_go_on(project: Project) -> None:
    stories = [make_story("https://news.example.test", 1, T0)]
    project.site.add(
        "https://news.example.test/rss.xml", rss2(stories), content_type="application/rss+xml"
    )
    project.site.add(stories[0].url, article_page(stories[0]))
    project.write_config(
        [
            {"name": "gone", "url": "https://news.example.test/missing.xml"},
            {"name": "rss", "url": "https://news.example.test/rss.xml"},
        ]
    )
    result = project.scrape("--once")
    assert result.returncode == 1
    assert "gone" in result.stdout and "404" in result.stdout
    assert len(project.posts()) == 1


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("sources:\n  - name: a\n    url: ftp://x\n", "sources[0].url"),
        ("sources:\n  - {name: a, url: 'http://x', interval: soon}\n", "sources[0].interval"),
        (
            "sources:\n  - {name: a, url: 'http://x'}\n  - {name: a, url: 'http://y'}\n",
            "sources[1].name",
        ),
        ("sourcez: []\n", "sourcez"),
        ("archive_dir: [1, 2]\n", "archive_dir"),
        ("sources: [\n", "not valid YAML"),
    ],
)
def test_bad_config_exits_2_listing_the_problem(
    project: Project, config: str, expected: str
) -> None:
    project.config.write_text(config, encoding="utf-8")
    result = project.scrape("--once")
    assert result.returncode == 2
    assert expected in result.stderr
    assert not project.site.requests, "network work before the config was valid"


def test_check_lists_sources(project: Project) -> None:
    serve_world(project)
    result = project.scrape("check")
    assert result.returncode == 0, result.stderr
    for name in ("rss", "atom", "json", "rdf", "zaobao-realtime-china"):
        assert name in result.stdout
    assert not project.site.requests
    lines = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(lines) == 5 and "sources: 5" in result.stdout
    # the columns line up, and intervals read as a config writes them
    assert len({line.index("every ") for line in lines}) == 1
    assert all(" every 10m " in line for line in lines)


def test_check_warns_of_a_config_without_sources(project: Project) -> None:
    project.write_config([])
    result = project.scrape("check")
    assert result.returncode == 0, result.stderr
    assert "warning: no sources" in result.stdout


def test_extract_of_a_page_naming_no_author_prints_no_author_line(project: Project) -> None:
    story = make_story("https://news.example.test", 1, T0)
    page = project.root / "page.html"
    page.write_text(article_page(story), encoding="utf-8")  # no byline, no author meta
    result = project.scrape("extract", str(page), "--url", story.url)
    assert result.returncode == 0, result.stderr
    keys = front_matter(result.stdout)
    assert keys["from"] == story.url and keys["title"] == story.title
    assert "author" not in keys and "author: null" not in result.stdout


@pytest.mark.parametrize(
    ("seconds", "text"), [(600, "10m"), (90, "90s"), (7200, "2h"), (86400, "1d"), (1.5, "1.5s")]
)
def test_durations_are_shown_as_a_config_writes_them(seconds: float, text: str) -> None:
    from scraper.cli import duration_text

    assert duration_text(seconds) == text


def test_shipped_config_loads() -> None:
    from conftest import REPO

    from scraper.config import load_settings

    settings = load_settings(REPO / "config.yaml")
    names = [s.name for s in settings.sources]
    assert names == [f"zaobao-realtime-{x}" for x in ("china", "world", "singapore", "finance")]
    assert all(s.kind == "listing" for s in settings.sources)
    assert settings.archive_dir == REPO / "archive"


def test_malformed_feed_archives_what_is_readable_and_reports_degraded(
    project: Project,
) -> None:
    stories = [make_story("https://news.example.test", n, T0) for n in (1, 2)]
    broken = rss2(stories).replace("</channel></rss>", "<item><title>cut off")
    project.site.add(FEED_URL, broken, content_type="application/rss+xml")
    for s in stories:
        project.site.add(s.url, article_page(s))
    project.write_config([{"name": "rss", "url": FEED_URL}])
    result = project.scrape("--once")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "degraded" in result.stdout
    assert "source.degraded" in result.stderr and "source=rss" in result.stderr
    assert len(project.posts()) == 2


def test_not_html_and_oversized_pages_fail_with_reasons_others_go_on(project: Project) -> None:
    stories = [make_story("https://news.example.test", n, T0) for n in (1, 2, 3)]
    feed = rss2(stories).replace("<description>", "<x>").replace("</description>", "</x>")
    project.site.add(FEED_URL, feed, content_type="application/rss+xml")
    project.site.add(stories[0].url, b"%PDF-1.7 binary", content_type="application/pdf")
    project.site.add(stories[1].url, "<p>" + "x" * 300_000 + "</p>")
    project.site.add(stories[2].url, article_page(stories[2]))
    project.write_config([{"name": "rss", "url": FEED_URL}], http={"max_body": "100kB"})
    result = project.scrape("--once")
    assert result.returncode == 1
    assert f"{stories[0].url}: not an HTML page (application/pdf)" in result.stdout
    assert stories[1].url in result.stdout and "cap" in result.stdout
    assert len(project.posts()) == 1


def test_hostile_titles_are_written_safely(project: Project) -> None:
    title = 'Breaking: "quotes" [brackets] #hash ../../etc/passwd\n--- \\ <b>x</b>'
    story = Story(
        "https://news.example.test/news/2026/hostile.html",
        title,
        T0,
        make_story("https://news.example.test", 1, T0).paragraphs,
    )
    project.site.add(FEED_URL, rss2([story]), content_type="application/rss+xml")
    project.site.add(story.url, article_page(story))
    project.write_config(
        [{"name": "rss", "url": FEED_URL, "author": "Desk: night #2", "tags": ["a, b", "[x]"]}]
    )
    result = project.scrape("--once")
    assert result.returncode == 0, result.stdout + result.stderr
    (post,) = project.posts()
    assert post.resolve().parent == (project.archive / "_posts").resolve()
    assert [p.name for p in project.root.rglob("*passwd*")] == [post.name]
    meta = front_matter(post.read_text(encoding="utf-8"))
    assert '"quotes" [brackets] #hash' in meta["title"]
    assert "\n" not in meta["title"]
    assert meta["author"] == "Desk: night #2"
    assert meta["tags"] == ["a, b", "[x]"]
    link_line = post.read_text(encoding="utf-8").split("\n")[10]
    assert link_line.startswith('[Breaking: "quotes" \\[brackets\\]')
    assert link_line.endswith(f"]({story.url})")


REAL_PAGE = SHARED / "corpus" / "zaobao" / "2021-11-18-story20211118-1214802.html"


@pytest.mark.skipif(not REAL_PAGE.exists(), reason="../shared/corpus not present")
def test_real_zaobao_page_through_a_listing(project: Project) -> None:
    url = "https://www.zaobao.com/realtime/world/story20211118-1214802"
    listing = """<html><body><div class="layout__region--second">
<span class="realtime-title"><a href="/realtime/world/story20211118-1214802">日本长期失业者人数上升</a></span>
<span class="realtime-title"><a href="https://partner.example.com/ad">广告</a></span>
</div></body></html>"""
    project.site.add("https://www.zaobao.com/realtime/world", listing)
    project.site.add(url, REAL_PAGE.read_bytes())
    project.write_config(
        [
            {
                "name": "zaobao-world",
                "url": "https://www.zaobao.com/realtime/world",
                "kind": "listing",
                "author": AUTHOR,
                "tags": [AUTHOR],
                "categories": [AUTHOR],
            }
        ]
    )
    result = project.scrape("--once")
    assert result.returncode == 0, result.stdout + result.stderr
    (post,) = project.posts()
    text = post.read_text(encoding="utf-8")
    meta = front_matter(text)
    assert meta["title"] == "日本长期失业者人数上升"
    assert meta["from"] == url
    assert meta["date"] == datetime(2021, 11, 18, 9, 28, 39, tzinfo=UTC)
    assert post.name == "2021-11-18-日本长期失业者人数上升.md"
    body = text.split("<div>\n", 1)[1]
    assert body.count("<p>") == 5
    assert "这些数据表明，约三分之一的失业者正经历长期失业。" in body
    for junk in ("dfp-ad", "googletag", "\u200b", "\u200c", "\ufeff", "相关推荐", "outbrain"):
        assert junk not in text
    assert not project.site.hits("/ad")


def test_listing_whose_selector_matches_nothing_fails_loudly(project: Project) -> None:
    project.site.add(
        "https://www.zaobao.com.sg/realtime/china", "<html><body><p>new design</p></body></html>"
    )
    project.write_config(
        [{"name": "china", "url": "https://www.zaobao.com.sg/realtime/china", "kind": "listing"}]
    )
    result = project.scrape("--once")
    assert result.returncode == 1
    assert "china" in result.stdout and "matched nothing" in result.stdout


def test_without_a_configured_or_feed_author_the_pages_own_is_the_posts(
    project: Project,
) -> None:
    story = make_story("https://news.example.test", 1, T0)
    page = article_page(story).replace(
        '<meta charset="utf-8">',
        '<meta charset="utf-8"><meta name="author" content="Jane Reporter">',
    )
    project.site.add(FEED_URL, rss2([story]), content_type="application/rss+xml")
    project.site.add(story.url, page)
    project.write_config([{"name": "rss", "url": FEED_URL}])
    run = project.scrape("--once")
    assert run.returncode == 0, run.stdout + run.stderr
    (post,) = project.posts()
    assert front_matter(post.read_text("utf-8"))["author"] == "Jane Reporter"
    # a configured author still wins
    project.write_config([{"name": "rss2", "url": FEED_URL, "author": "联合早报"}])
    post.unlink()
    with sqlite3.connect(project.state) as db:
        db.execute("DELETE FROM entries")
    run = project.scrape("--once")
    assert run.returncode == 0, run.stdout + run.stderr
    (post,) = project.posts()
    assert front_matter(post.read_text("utf-8"))["author"] == "联合早报"
