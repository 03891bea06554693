"""``Retry-After`` is honoured per host: a host that asks us to wait gets no new
request from us until then, while other hosts carry on. The Fetcher's unit twins
(seconds and HTTP dates, the cap, backoff) are in tests/test_http.py.
"""

from __future__ import annotations

from hostile.checks import assert_survived, check_archive
from hostile.conftest import HostileProject
from hostile.server import Reply, status
from hostile.world import Item, plain_page, rss, x

FEED = "https://feed.example.test/rss.xml"
WAIT = 2


def test_a_host_that_asks_us_to_wait_is_left_alone_and_others_go_on(
    world: HostileProject,
) -> None:
    site = world.site
    busy = [f"https://busy.example.test/{i}.html" for i in range(4)]
    calm = [f"https://calm.example.test/{i}.html" for i in range(8)]
    for n, url in enumerate(busy + calm):
        site.add(url, Reply(plain_page(f"Story {n}", f"m{n}"), wait=0.3))
    # The first busy page says 429 once: come back in WAIT seconds.
    site.add(busy[0], [status(429, Retry_After=str(WAIT)), Reply(plain_page("Story 0", "m0"))])
    items = [Item(link=x(u), guid=u) for u in busy + calm]
    site.add(FEED, Reply(rss(items), content_type="application/rss+xml"))
    world.write_config([{"name": "hosts", "url": FEED}], http={"max_per_host": 2})

    run = world.run("--once")

    assert_survived(run)
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(check_archive(world.archive)) == set(busy + calm)
    (told,) = [h for h in site.requests("busy.example.test") if h.number == 0 and "/0." in h.path]
    resume = told.at + WAIT
    to_busy = site.requests("busy.example.test")
    started_during_pause = [h.path for h in to_busy if told.at + 0.05 < h.at < resume - 0.1]
    assert not started_during_pause, (
        f"requests to a host that asked to wait: {started_during_pause}"
    )
    retry = [h for h in to_busy if "/0." in h.path and h.number == 1]
    assert retry and retry[0].at >= resume - 0.1
    to_calm = site.requests("calm.example.test")
    assert len(to_calm) == len(calm)
    assert all(h.at < resume for h in to_calm), "other hosts waited for the busy one"
