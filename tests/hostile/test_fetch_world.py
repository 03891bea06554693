"""Servers that misbehave, played against one real ``scrape --once``: every good
article is archived, every bad one is reported with source, URL and reason, the
run ends in bounded time and memory, and nothing in the archive is partial.

Unit-level twins of each case (exact reasons, retries, backoff) are in
tests/test_http.py; this file proves the whole process holds up when they all
happen at once.
"""

from __future__ import annotations

import re
from email.utils import formatdate
from html import escape

from hostile.checks import assert_survived, check_archive
from hostile.conftest import HostileProject
from hostile.server import Reply, redirect, status
from hostile.world import Item, MiB, gzip_bomb, gzipped, paragraphs, plain_page, rss, x, zeros

FEED = "https://feed.example.test/rss.xml"
TIMEOUT = 2.0
DEADLINE = 5.0


def article(name: str) -> tuple[str, str]:
    """Each article on its own host, so one host's trouble never queues another's."""
    return f"https://{name}.example.test/news/{name}.html", plain_page(f"Story {name}", name)


def test_every_misbehaving_server_at_once(world: HostileProject) -> None:
    site = world.site
    good: dict[str, str] = {}  # url → marker
    bad: dict[str, str] = {}  # url → the reason, as a regex

    def serve(name: str, route: Reply | list[Reply], reason: str | None = None) -> str:
        url, _ = article(name)
        site.add(url, route)
        if reason is None:
            good[url] = name
        else:
            bad[url] = reason
        return url

    def ok(name: str, **how: object) -> Reply:
        return Reply(article(name)[1], **how)  # type: ignore[arg-type]

    # Good, if slow or odd.
    serve("plain", ok("plain"))
    serve("slow-start", ok("slow-start", wait=TIMEOUT / 2))
    serve("drip", ok("drip", drip=0.0005))
    serve("chunked", ok("chunked", framing="chunked"))
    serve("close-delimited", ok("close-delimited", framing="close"))
    gz = Reply(gzipped(article("gzip")[1]), headers={"Content-Encoding": "gzip"})
    serve("gzip", gz)
    hops = [f"https://hop{i}.example.test/r" for i in range(4)]
    final = serve("chain-end", ok("chain-end"))
    for hop, code, target in zip(hops, (301, 302, 307, 308), [*hops[1:], final], strict=True):
        site.add(hop, redirect(target, code))
    good[hops[0]] = "chain-end"
    del good[final]
    serve("retry-429", [status(429, Retry_After="1"), ok("retry-429")])
    when = formatdate(usegmt=True)  # Retry-After as an HTTP date, taken against Date:
    serve("retry-date", [status(503, Retry_After=when, Date=when), ok("retry-date")])
    serve("retry-500", [status(500), ok("retry-500")])

    # Bad, each for its own reason.
    serve("never-starts", ok("never-starts", wait=60), r"timed out after 2s waiting")
    serve("stalls", ok("stalls", stall_after=300), r"timed out after 2s reading the body")
    serve("closes", ok("closes", close_after=300), r"closed the connection before the body")
    serve("resets", Reply(reset=True), r"connection lost|closed the connection|reset")
    serve("silent", Reply(never=True), r"timed out after 2s")
    serve("slow-drip", ok("slow-drip", drip=0.5), rf"took longer than {DEADLINE:g}s")
    loop = "https://loop.example.test/a"
    site.add(loop, redirect("https://loop.example.test/b"))
    site.add("https://loop.example.test/b", redirect(loop))
    bad[loop] = "redirect loop"
    for i in range(13):
        site.add(f"https://far.example.test/{i}", redirect(f"https://far.example.test/{i + 1}"))
    bad["https://far.example.test/0"] = "too many redirects"
    serve("missing", status(404), "HTTP 404 Not Found")
    serve("gone", status(410), "HTTP 410 Gone")
    serve("throttled", status(429, Retry_After="3600"), r"HTTP 429.*over the 300s cap")
    serve("unavailable", status(503, Retry_After="1"), "HTTP 503 Service Unavailable")
    serve("broken", status(500), "HTTP 500 Internal Server Error")
    serve(
        "huge-declared", Reply(lambda: zeros(50 * MiB), length=50 * MiB), "larger than 10 MiB cap"
    )
    serve(
        "huge-chunked", Reply(lambda: zeros(50 * MiB), framing="chunked"), "larger than 10 MiB cap"
    )
    serve("huge-close", Reply(lambda: zeros(50 * MiB), framing="close"), "larger than 10 MiB cap")
    bomb = Reply(gzip_bomb(), headers={"Content-Encoding": "gzip"})
    serve("gzip-bomb", bomb, "larger than 10 MiB cap")
    lying = Reply(article("lying")[1], headers={"Content-Encoding": "gzip"})
    serve("not-gzip", lying, "not valid gzip data")
    cut = gzipped(article("cut")[1])
    serve(
        "cut-gzip", Reply(cut[: len(cut) // 2], headers={"Content-Encoding": "gzip"}), "truncated"
    )
    odd = Reply(article("odd")[1], headers={"Content-Encoding": "compress"})
    serve("odd-encoding", odd, "unsupported Content-Encoding: compress")

    links = list(good) + list(bad)
    items = [Item(link=x(u), title=x(f"Item {i}"), guid=f"g{i}") for i, u in enumerate(links)]
    site.add(FEED, Reply(rss(items), content_type="application/rss+xml"))
    world.write_config(
        [{"name": "hostile-fetch", "url": FEED, "max_new": 500}],
        http={"timeout": f"{TIMEOUT:g}s", "deadline": f"{DEADLINE:g}s", "retries": 1},
    )

    run = world.run("--once", timeout=120)

    assert_survived(run)
    assert run.returncode == 1
    # Bounded: the slowest bad server costs two attempts of the deadline, plus backoff.
    assert run.seconds < 2 * DEADLINE + 15, run.seconds
    assert run.max_rss_mib < 300, f"peak RSS {run.max_rss_mib:.0f} MiB"
    posts = check_archive(world.archive)
    assert set(posts) == set(good), sorted(set(good) ^ set(posts))
    for url, marker in good.items():
        for p in paragraphs(marker):
            assert escape(p) in posts[url].body or p in posts[url].body, (url, p)
    summary = _failures(run.stdout)
    logged = _logged_failures(run.stderr)
    for url, reason in bad.items():
        assert url in summary, f"{url} not in the summary:\n{run.stdout}"
        assert re.search(reason, summary[url]), (url, summary[url])
        assert logged.get(url, "").startswith("source=hostile-fetch"), (url, logged.get(url))
    assert f"failed {len(bad)}" in run.stdout


def _failures(stdout: str) -> dict[str, str]:
    """``url: reason`` lines of the summary."""
    found = {}
    for line in stdout.splitlines():
        if m := re.match(r"^\s+(https?://\S+): (.*)$", line):
            found[m[1]] = m[2]
    return found


def _logged_failures(stderr: str) -> dict[str, str]:
    """The log line of each ``article.failed``, by URL, from ``source=`` on."""
    found = {}
    for line in stderr.splitlines():
        if " article.failed " in line and (m := re.search(r"url=(\S+)", line)):
            found[m[1]] = line[line.index("source=") :]
    return found
