"""A site redesign between two runs, through the real CLI on the loopback site: the
rule goes stale and says so (summary, log, status, /readyz, /metrics), the articles
still arrive by their addresses and the generic extractor, and once the rule is
fixed ``scrape reextract --stale`` makes exactly the posts of the stale time again."""

from __future__ import annotations

import json
import sqlite3
from html import escape

import httpx
import yaml
from conftest import Project, front_matter
from servicetools import RunningDaemon, free_port, metric, wait_for

SITE = "https://news.example.test"
LISTING = f"{SITE}/latest"
STORY_URLS = r"/story\d+\.html$"

RULE = {
    "name": "example-news",
    "hosts": ["news.example.test"],
    "timezone": "Asia/Singapore",
    "listing_links": [".story-list a.story-link"],
    "body": [".story-body"],
    "title": ["css:h1.headline"],
    "published": ["css:time.published"],
    "article_urls": [STORY_URLS],
}
# After the redesign: new class names everywhere.
FIXED = {
    **RULE,
    "listing_links": [".feed a.card"],
    "body": [".content-main"],
    "title": ["css:h1.title"],
    "published": ["css:span.when"],
    "strip": [".desk"],  # the desk's credit line, which the generic extractor keeps
}


def paragraphs(n: int) -> list[str]:
    return [
        f"Story {n}, paragraph {i}: the harbour authority said on Tuesday that the new "
        f"terminal would open next spring, after two years of delays and cost overruns."
        for i in range(1, 5)
    ]


def old_article(n: int) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs(n))
    return f"""<!doctype html><html><head><title>Story {n} | Example</title></head><body>
<nav><a href="/">Home</a></nav>
<h1 class="headline">Story {n} headline</h1>
<time class="published" datetime="2026-11-2{n}T09:00:00+08:00">Nov 2{n}</time>
<div class="story-body">{body}<div class="share">Share this</div></div>
<footer>© Example</footer></body></html>"""


def new_article(n: int) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs(n))
    return f"""<!doctype html><html><head><title>Story {n} | Example</title>
<meta property="og:title" content="Story {n} headline"></head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<main><article><h1 class="title">Story {n} headline</h1>
<span class="when">2026-11-2{n} 09:00</span>
<div class="content-main">{body}
<p class="desk">Reporting by the newsroom desk in the harbour city; editing by the copy desk.</p>
</div></article>
<aside class="related"><a href="/story99.html">Other</a></aside></main>
<footer>© Example</footer></body></html>"""


def old_listing(numbers: list[int]) -> str:
    items = "".join(
        f'<li><a class="story-link" href="/story{n}.html">Story {n} headline</a></li>'
        for n in numbers
    )
    return (
        f'<html><body><ul class="story-list">{items}</ul><a href="/about">About</a></body></html>'
    )


def new_listing(numbers: list[int]) -> str:
    cards = "".join(
        f'<a class="card" href="/story{n}.html"><h3>Story {n}</h3></a>' for n in numbers
    )
    return f'<html><body><div class="feed">{cards}</div><a href="/about">About</a></body></html>'


def write_rule(project: Project, rule: dict[str, object]) -> None:
    rules = project.root / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "example-news.yaml").write_text(yaml.safe_dump(rule), encoding="utf-8")


def configure(project: Project, **extra: object) -> None:
    source = {"name": "news", "url": LISTING, "kind": "listing", "max_new": 10}
    project.write_config([source], captures="warc", rules_dir="rules", **extra)


def posts_by_url(project: Project) -> dict[str, str]:
    return {
        front_matter(p.read_text("utf-8"))["from"]: p.read_text("utf-8") for p in project.posts()
    }


def status(project: Project) -> dict[str, dict[str, object]]:
    run = project.scrape("status", "--json")
    assert run.returncode == 0, run.stderr
    return {r["part"]: r for r in json.loads(run.stdout)["rules"] if r["rule"] == "example-news"}


def test_a_redesign_is_reported_the_articles_still_come_and_reextract_mends_them(
    project: Project,
) -> None:
    site = project.site
    write_rule(project, RULE)
    configure(project)
    site.add(LISTING, old_listing([1, 2]))
    for n in (1, 2):
        site.add(f"{SITE}/story{n}.html", old_article(n))

    # run 1: the rule matches everything
    first = project.scrape("--once")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "STALE" not in first.stdout
    assert len(project.posts()) == 2
    parts = status(project)
    assert {p: parts[p]["stale"] for p in parts} == {
        "listing": False, "body": False, "title": False, "published": False,
    }  # fmt: skip

    # the redesign: a new listing (old stories still on it) and new article pages
    site.add(LISTING, new_listing([3, 4, 1]))
    for n in (3, 4):
        site.add(f"{SITE}/story{n}.html", new_article(n))
    second = project.scrape("--once")
    out = second.stdout + second.stderr
    assert second.returncode == 0, out
    assert "STALE rule: example-news listing, example-news body" in second.stdout
    assert out.count("rule.stale") == 2  # once each, listing then body
    assert "rule=example-news part=listing" in out and "rule=example-news part=body" in out
    assert f"url={LISTING}" in out
    posts = posts_by_url(project)
    assert set(posts) == {f"{SITE}/story{n}.html" for n in (1, 2, 3, 4)}  # still arriving
    for n in (3, 4):
        text = posts[f"{SITE}/story{n}.html"]
        assert front_matter(text)["title"] == f"Story {n} headline"  # from the article page
        assert "paragraph 4" in text and "Other" not in text
    parts = status(project)
    assert parts["listing"]["stale"] and parts["body"]["stale"]
    assert parts["listing"]["first_url"] == LISTING
    assert parts["body"]["misses_in_a_row"] == 2
    text_status = project.scrape("status")
    assert "example-news listing   STALE since" in text_status.stdout
    with sqlite3.connect(project.state) as db:
        missed = dict(db.execute("SELECT url, missed FROM entries").fetchall())
    assert missed == {
        f"{SITE}/story1.html": None,
        f"{SITE}/story2.html": None,
        f"{SITE}/story3.html": "example-news:body",
        f"{SITE}/story4.html": "example-news:body",
    }

    # the daemon: /metrics and /readyz say so too (the state is what it knows)
    port = free_port()
    configure(project, service={"enabled": True, "port": port})
    daemon = RunningDaemon(project)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:

            def polled() -> bool:
                try:
                    text = client.get("/metrics").text
                except httpx.TransportError:
                    return False
                return metric(text, "scraper_polls_total", source="news", outcome="ok") == 1

            assert wait_for(polled, 30), daemon.logs()
            text = client.get("/metrics").text
            for part in ("listing",):
                labels = {"rule": "example-news", "part": part}
                assert metric(text, "scraper_rule_stale", **labels) == 1
                assert metric(text, "scraper_rule_misses_total", **labels) == 1
            assert metric(text, "scraper_rule_stale", rule="example-news", part="body") == 1
            ready = client.get("/readyz")
            assert ready.status_code == 200  # ready: the daemon works
            detail = ready.json()["checks"]["rules"]["detail"]
            assert detail.startswith("STALE: ") and "example-news listing since" in detail
    finally:
        assert daemon.stop() == 0, daemon.logs()

    # the rule is fixed: reextract --stale makes exactly the two stale posts again
    before = posts_by_url(project)
    write_rule(project, FIXED)
    configure(project)
    again = project.scrape("reextract", "--stale")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "news: 2 rewritten, 0 unchanged, 0 skipped" in again.stdout
    after = posts_by_url(project)
    for n in (1, 2):
        assert after[f"{SITE}/story{n}.html"] == before[f"{SITE}/story{n}.html"]
    for n in (3, 4):
        url = f"{SITE}/story{n}.html"
        assert after[url] != before[url]
        assert "newsroom desk" in before[url] and "newsroom desk" not in after[url]
        assert front_matter(after[url]) == front_matter(before[url])
    with sqlite3.connect(project.state) as db:
        assert db.execute("SELECT count(*) FROM entries WHERE missed IS NOT NULL").fetchone() == (
            0,
        )
    nothing = project.scrape("reextract", "--stale")
    assert "news: 0 rewritten, 0 unchanged, 0 skipped" in nothing.stdout

    # and the next poll with the fixed rule: recovered
    site.add(LISTING, new_listing([5, 3, 4]))
    site.add(f"{SITE}/story5.html", new_article(5))
    third = project.scrape("--once")
    out = third.stdout + third.stderr
    assert third.returncode == 0, out
    assert "STALE" not in third.stdout
    assert out.count("rule.recovered") == 2
    assert not any(p["stale"] for p in status(project).values())
