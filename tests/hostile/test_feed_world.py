"""Feeds anyone can write, all polled by one real ``scrape --once``: broken,
not a feed, empty, entity bombs, external entities, 50,000 items, items missing
their parts, repeated, dated in the far future or before 1970, linking to
``file:``, ``javascript:`` and other hosts. Each source's outcome is reported;
no source takes the others down; the good entries are archived once.

Parser-level twins: tests/test_feed.py (XXE, billion laughs, encodings, goldens).
"""

from __future__ import annotations

from datetime import UTC, datetime

from hostile.checks import assert_summary, assert_survived, check_archive
from hostile.conftest import HostileProject
from hostile.server import HostileSite, Reply
from hostile.world import (
    BILLION_LAUGHS,
    RSS,
    Item,
    plain_page,
    rss,
    x,
    xxe_prolog,
)

SECRET = "SECRET-7f3a9c-do-not-leak"


def story(site: HostileSite, url: str, title: str) -> str:
    site.add(url, plain_page(title, url.rsplit("/", 1)[-1]))
    return url


def test_hostile_feeds_are_each_reported_and_the_good_entries_archived(
    world: HostileProject,
) -> None:
    site = world.site
    secret = world.root / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    expect: dict[str, str] = {}  # source → its summary line, as a regex
    archived: set[str] = set()  # every URL that must end up archived
    sources = []

    def source(name: str, body: str | bytes, regex: str, **config: object) -> None:
        url = f"https://{name}.example.test/feed"
        site.add(url, Reply(body, content_type=RSS))
        sources.append({"name": name, "url": url, **config})
        expect[name] = regex

    good = [story(site, f"https://good.example.test/{i}.html", f"Good {i}") for i in range(3)]
    source("good", rss([Item(x(u), guid=u) for u in good]), r"^new 3, unchanged 0, failed 0$")
    archived |= set(good)

    fine = [story(site, f"https://malformed.example.test/{i}.html", f"Fine {i}") for i in range(2)]
    broken = rss([Item(x(u), guid=u) for u in fine]).replace(
        "</channel>", "<item><title>cut <b>off & <link>https://x.example.test/"
    )
    source("malformed", broken, r"^new 2, .*\(degraded: malformed XML")
    archived |= set(fine)

    source("html", plain_page("Not a feed", "html"), r"FAILED: .*not a feed: got an HTML page")
    source("empty", b"", r"FAILED: .*empty body")
    source("blank", b"  \r\n\t ", r"FAILED: .*empty body")
    source("binary", bytes(range(256)) * 40, r"FAILED: .*not a feed")

    laughs = story(site, "https://laughs.example.test/1.html", "Laughs")
    bomb = rss([Item(x(laughs), title="&lol9;", guid=laughs)], prolog=BILLION_LAUGHS)
    source("laughs", bomb, r"degraded: removed a DOCTYPE that declares entities")
    archived.add(laughs)

    with HostileSite() as honeypot:
        xxe_link = story(site, "https://xxe.example.test/1.html", "XXE")
        xxe = rss(
            [Item(x(xxe_link), title="&file;", guid=xxe_link, extra="<author>&web;</author>")],
            prolog=xxe_prolog(str(secret), f"{honeypot.url}/xxe"),
        )
        source("xxe", xxe, r"degraded: removed a DOCTYPE that declares entities")
        archived.add(xxe_link)

        bulk = [
            Item(f"https://bulk.example.test/{n}", f"B{n}", f"b{n}", None, f"<p>B{n}</p>")
            for n in range(50_000)
        ]
        # 50,000 items; the first 100 archived from the feed's own text (max_new: 100).
        source("bulk", rss(bulk), r"^new 100, unchanged 0, failed 0$", fetch_article=False)
        archived |= {f"https://bulk.example.test/{n}" for n in range(100)}

        sparse_urls = [
            story(site, f"https://sparse.example.test/{i}.html", f"Sparse {i}") for i in range(4)
        ]
        sparse = rss(
            [
                Item(None, title="No link at all", guid="nolink"),
                Item(
                    None,
                    title="Only a guid that is a URL",
                    guid=None,
                    extra=f"<guid>{sparse_urls[0]}</guid>",
                ),
                Item(x(sparse_urls[1]), title=None, guid="notitle"),
                Item(x(sparse_urls[2]), title="No date", guid="nodate", date=None),
                Item(x(sparse_urls[3]), title=None, guid=None, date=None),
            ]
        )
        source("sparse", sparse, r"^new 4, .*degraded: 1 of 5 entries skipped .*: no link")
        archived |= set(sparse_urls)

        dup = [story(site, f"https://dups.example.test/{i}.html", f"Dup {i}") for i in range(3)]
        dups = rss(
            [
                Item(x(dup[0]), guid="same"),
                Item(x(dup[1]), guid="same"),  # the same guid: the same article, first wins
                Item(x(dup[2]), guid="a"),
                Item(x(dup[2]), guid="b"),  # the same link under two guids: written once
                Item(x(dup[2]), guid="a"),
            ]
        )
        source("dups", dups, r"^new 2, ")
        archived |= {dup[0], dup[2]}

        dated = {
            "far-future": "Fri, 31 Dec 9999 23:59:59 -0800",
            "future": "Sat, 01 Jan 2999 00:00:00 +0000",
            "moon": "Sun, 20 Jul 1969 20:17:40 +0000",
            "old": "Mon, 01 Jan 1900 00:00:00 +0000",
            "year-one": "0001-01-01T00:00:00+08:00",
            "garbage": "the day after tomorrow",
        }
        urls = {k: story(site, f"https://dates.example.test/{k}.html", f"Dated {k}") for k in dated}
        source(
            "dates", rss([Item(x(urls[k]), guid=k, date=d) for k, d in dated.items()]), r"^new 6, "
        )
        archived |= set(urls.values())

        elsewhere = story(site, "http://elsewhere.example.org/story.html", "Elsewhere")
        relative = story(site, "https://schemes.example.test/news/relative.html", "Relative")
        protocol = story(site, "https://proto.example.test/p.html", "Protocol-relative")
        bad_links = [  # as written in the XML
            "file:///etc/passwd",
            f"file://{secret}",
            "javascript:alert(1)",
            "  JaVaScRiPt:alert(2)",
            "jav&#x09;ascript:alert(3)",
            "data:text/html,&lt;script&gt;alert(4)&lt;/script&gt;",
            "ftp://ftp.example.test/x",
            "mailto:someone@example.test",
        ]
        schemes = rss(
            [Item(link, guid=f"s{i}") for i, link in enumerate(bad_links)]
            + [
                Item(x(u), guid=u)
                for u in (elsewhere, "/news/relative.html", "//proto.example.test/p.html")
            ]
        )
        source("schemes", schemes, r"^new 3, .*degraded: 8 of 11 entries skipped .*file://")
        archived |= {elsewhere, relative, protocol}

        world.write_config(sources)
        started = datetime.now(UTC)
        run = world.run("--once", timeout=150)
        finished = datetime.now(UTC)
        assert not honeypot.hits, "an external entity was fetched"

    assert_survived(run)
    # Bounded (generously: the peak varies with how the sources' work interleaves).
    assert run.max_rss_mib < 300, f"peak RSS {run.max_rss_mib:.0f} MiB"
    assert run.seconds < 45, run.seconds
    assert_summary(run, expect)

    posts = check_archive(world.archive)
    assert set(posts) == archived, sorted(set(posts) ^ archived)
    everything = run.stdout + run.stderr + "".join(p.text for p in posts.values())
    assert SECRET not in everything and "root:x:0:0" not in everything
    assert "lollollol" not in everything
    for key in ("far-future", "future", "garbage"):  # no usable date: when first seen
        assert started <= posts[urls[key]].meta["date"] <= finished, key
    assert posts[urls["moon"]].meta["date"] == datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC)
    assert posts[urls["moon"]].path.name.startswith("1969-07-20-")
    assert posts[urls["old"]].path.name.startswith("1900-01-01-")
    assert posts[urls["year-one"]].meta["date"] <= finished
    assert posts[sparse_urls[1]].meta["title"] == "Sparse 1"  # the page's title


def test_a_huge_feed_is_cut_to_the_entries_read_before_parsing() -> None:
    """50,000 items: feedparser sees only the 10,000 the scraper keeps (parsing them
    all took 20 s and over 200 MiB), and the document still closes properly."""
    from scraper.sources.common import MAX_ENTRIES
    from scraper.sources.xmlprep import prepare_xml

    items = [Item(f"https://bulk.example.test/{n}", f"B{n}", f"b{n}") for n in range(50_000)]
    prepared = prepare_xml(rss(items).encode())
    assert prepared.data.count(b"</item>") == MAX_ENTRIES
    assert prepared.data.endswith(b"</item></channel></rss>")
    assert b'<guid isPermaLink="false">b9999</guid>' in prepared.data
    assert b">b10000<" not in prepared.data
