"""Articles that attack the writer and the reader, through the real process.

Titles carry YAML front-matter breakers, Markdown breakers, paths, control
characters, 2,000 characters, right-to-left marks and script; bodies carry every
script-injection trick in ``world.SCRIPT_BODIES``. They arrive three ways: a page
read by a site rule, a page read by the generic extractor, and a feed's own
content. Whatever they hold:

* nothing is written outside ``archive_dir`` and the state folder, and every name
  is valid on Windows, macOS and Linux (and no two differ only in case);
* every file parses as YAML front matter that gives back the original title
  (folded as the format says), and the good paragraphs survive;
* rendered as CommonMark with raw HTML on, no file holds anything executable.

The writer's own property tests (any title, author, tags and body) are
tests/hostile/test_writer_properties.py and tests/test_render.py.
"""

from __future__ import annotations

import json
from html import escape

from hostile.checks import assert_survived, check_archive, fold, snapshot, written_outside
from hostile.conftest import HostileProject
from hostile.server import Reply
from hostile.world import (
    JSON_FEED,
    RULE,
    TITLE_ATTACKS,
    json_feed,
    page,
    paragraphs,
    script_page_body,
)

HOST = "https://hostile.example.test"


def collapse(text: str) -> str:
    """Whitespace runs to one space, as HTML text and feed titles are read."""
    return " ".join(text.split())


def test_hostile_titles_and_bodies_are_written_safely(world: HostileProject) -> None:
    site = world.site
    world.rules.mkdir()
    (world.rules / "hostile.yaml").write_text(RULE, encoding="utf-8")

    by_page, by_feed = [], []
    for attack in TITLE_ATTACKS:
        url = f"{HOST}/a/{attack.slug}.html"
        site.add(url, page(attack.title, attack.body))
        by_page.append({"id": f"page-{attack.slug}", "url": url, "title": attack.title})
        by_feed.append(
            {
                "id": f"feed-{attack.slug}",
                "url": f"{HOST}/f/{attack.slug}.html",
                "title": attack.title,
                "content_html": attack.body,
            }
        )
    scripts = {
        "rule": f"{HOST}/s/rule.html",
        "generic": "https://generic.example.test/s/generic.html",
        "feed": f"{HOST}/s/feed.html",
    }
    for how in ("rule", "generic"):
        site.add(scripts[how], page(f"Scripts via {how}", script_page_body(how)))
    by_page += [
        {"id": k, "url": u, "title": f"Scripts via {k}"} for k, u in scripts.items() if k != "feed"
    ]
    by_feed.append(
        {
            "id": "scripts",
            "url": scripts["feed"],
            "title": "Scripts via feed",
            "content_html": script_page_body("feed", breakout=True),
        }
    )
    site.add(f"{HOST}/pages.json", Reply(json_feed(by_page), content_type=JSON_FEED))
    site.add(f"{HOST}/feed.json", Reply(json_feed(by_feed), content_type=JSON_FEED))
    author = 'Desk: "night" #2 --- \n[x]'
    tags = ["a, b", "[x]", "- y", "null", "{z}", "#t", "x: y", "\u202eevil"]
    world.write_config(
        [
            {"name": "pages", "url": f"{HOST}/pages.json", "author": author, "tags": tags},
            {"name": "feed-only", "url": f"{HOST}/feed.json", "fetch_article": False},
        ],
        rules_dir="rules",
    )
    before = snapshot(world.root.parent)

    run = world.run("--once")

    assert_survived(run)
    assert run.returncode == 0, run.stdout + run.stderr
    outside = written_outside(
        before, snapshot(world.root.parent), [world.archive, world.state.parent]
    )
    assert not outside, outside
    posts = check_archive(world.archive)  # names, format, no executable HTML
    assert len(posts) == len(by_page) + len(by_feed)

    for attack in TITLE_ATTACKS:
        for how, title in (("a", attack.title), ("f", attack.feed_title)):
            post = posts[f"{HOST}/{how}/{attack.slug}.html"]
            assert post.meta["title"] == fold(collapse(title)), (how, attack.slug)
            assert post.path.parent == world.archive / "_posts", post.path
            for p in attack.paragraphs:
                assert escape(p, quote=False) in post.body, (how, attack.slug, p)
        assert posts[f"{HOST}/a/{attack.slug}.html"].meta["author"] == fold(author)
        assert posts[f"{HOST}/a/{attack.slug}.html"].meta["tags"] == [fold(t) for t in tags]
    for how, url in scripts.items():
        for p in paragraphs(how):
            assert escape(p, quote=False) in posts[url].body, (how, p)


def test_the_feed_json_round_trips_hostile_strings() -> None:
    """The fixture itself: JSON carries every attack title unchanged (NUL included)."""
    titles = [a.title for a in TITLE_ATTACKS] + ["nul\x00inside"]
    assert [
        i["title"] for i in json.loads(json_feed([{"title": t} for t in titles]))["items"]
    ] == titles
