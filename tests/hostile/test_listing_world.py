"""Listing pages (sites without a feed) anyone can write, all polled by one real
``scrape --once``: links in every scheme and to other hosts, repeats under
fragments, a ``<base>`` that points elsewhere, a selector that finds nothing,
empty and binary bodies, 100,000 levels of nesting, 20,000 links. Each source's
outcome is reported; no source takes the others down; only on-site http(s)
article pages are fetched, and each good one is archived once.

Parser-level twins: tests/test_listing.py.
"""

from __future__ import annotations

from html import escape

from hostile.checks import assert_summary, assert_survived, check_archive
from hostile.conftest import HostileProject
from hostile.server import Reply
from hostile.world import plain_page

SELECTOR = "h2 a"


def listing(links: list[str], *, head: str = "", tail: str = "") -> str:
    items = "".join(
        f'<h2><a href="{escape(link)}">Story {n}</a></h2>' for n, link in enumerate(links)
    )
    return f"<!doctype html><html><head><title>Section</title>{head}</head><body>{items}{tail}</body></html>"


def test_hostile_listings_are_each_reported_and_only_good_links_fetched(
    world: HostileProject,
) -> None:
    site = world.site
    expect: dict[str, str] = {}  # source → its summary line, as a regex
    archived: set[str] = set()
    sources = []

    def source(name: str, body: str | bytes | Reply, regex: str, **config: object) -> str:
        url = f"https://{name}.example.test/section"
        if not isinstance(body, Reply):
            body = Reply(
                body, content_type="text/html; charset=utf-8" if isinstance(body, str) else None
            )
        site.add(url, body)
        sources.append({"name": name, "url": url, "kind": "listing", "links": SELECTOR, **config})
        expect[name] = regex
        return url

    def story(url: str) -> str:
        site.add(url, plain_page(f"Story at {url}", url.rsplit("/", 1)[-1]))
        return url

    good = [story(f"https://good.example.test/news/{i}.html") for i in range(3)]
    source(
        "good",
        listing(
            [
                "/news/0.html",
                good[1],
                "//good.example.test/news/2.html",
                "/news/0.html#comments",  # the same article again
                "news/../news/1.html?",  # and again, spelled otherwise
            ]
        ),
        r"^new 3, unchanged 0, failed 0$",
    )
    archived |= set(good)

    kept = story("https://schemes.example.test/news/kept.html")
    off_site = "https://elsewhere.example.org/promo.html"
    site.add(off_site, plain_page("Promotion", "promo"))
    source(
        "schemes",
        listing(
            [
                "javascript:alert(1)",
                " JaVaScRiPt:alert(2)",
                "jav\tascript:alert(3)",
                "file:///etc/passwd",
                "data:text/html,<script>alert(4)</script>",
                "mailto:someone@example.test",
                "ftp://schemes.example.test/x",
                off_site,
                "http://[::1/broken",
                kept,
            ]
        ),
        r"^new 1, unchanged 0, failed 0$",
    )
    archived.add(kept)

    based = story("https://based.example.test/news/b.html")
    source(  # a <base> naming a script is ignored: links resolve against the page
        "based",
        listing(["news/b.html"], head='<base href="javascript:alert(1)//">'),
        r"^new 1, ",
    )
    archived.add(based)
    source(  # a <base> elsewhere makes every link off-site: none is followed
        "away",
        listing(["news/x.html"], head='<base href="https://elsewhere.example.org/">'),
        r"FAILED: .*matched 1 element\(s\) but no on-site http\(s\) link",
    )

    source(
        "nothing",
        "<html><body><p>No headlines today.</p></body></html>",
        r"FAILED: .*matched nothing",
    )
    source("empty", "", r"FAILED: .*empty body")
    source("binary", bytes(range(256)) * 40, r"FAILED: .*not an HTML page \(binary\)")
    source(
        "picture",
        Reply(b"GIF89a" + bytes(100), content_type="image/gif"),
        r"FAILED: .*not an HTML page \(image/gif\)",
    )

    wide = story("https://wide.example.test/news/w.html")  # UTF-16: NUL bytes, and fine
    utf16 = Reply(listing([wide]).encode("utf-16"), content_type="text/html; charset=utf-16")
    source("wide", utf16, r"^new 1, ")
    archived.add(wide)

    deep = story("https://deep.example.test/news/d.html")
    source(
        "deep",
        listing([deep], tail="<div>" * 100_000 + "<h2><a href='/lost'>x</a></h2>"),
        r"^new 1, ",
    )
    archived.add(deep)

    many = [f"https://many.example.test/news/{i}.html" for i in range(20_000)]
    for url in many[:5]:
        story(url)
    source("many", listing(many), r"^new 5, unchanged 0, failed 0$", max_new=5)
    archived |= set(many[:5])

    world.write_config(sources)
    run = world.run("--once", timeout=150)

    assert_survived(run)
    assert run.returncode == 1  # some sources failed, and said so
    assert run.seconds < 45, run.seconds
    assert_summary(run, expect)

    posts = check_archive(world.archive)
    assert set(posts) == archived, sorted(set(posts) ^ archived)
    assert not site.requests(host="elsewhere.example.org"), "an off-site link was followed"
    assert not site.requests(path_part="/lost")
    for url in good:  # each article page asked for once, whatever its spellings
        assert len(site.requests(host="good.example.test", path_part=url.rsplit("/", 1)[-1])) == 1
    assert len(site.requests(host="many.example.test")) == 1 + 5  # the listing, max_new pages
