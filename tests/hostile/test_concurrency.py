"""Two ``scrape --once`` started at the same moment on the same config: one runs,
the other stops at once with a clear message naming the first; nothing is
written twice and the state stays intact. (A daemon and a ``--once`` meeting:
tests/test_daemon.py; the lock itself: tests/test_state.py.)
"""

from __future__ import annotations

from hostile.checks import check_archive, integrity, state_rows
from hostile.conftest import HostileProject
from hostile.server import Reply
from hostile.world import Item, plain_page, rss, x

FEED = "https://twins.example.test/rss.xml"


def test_two_runs_at_once_one_wins_the_other_says_so(world: HostileProject) -> None:
    urls: list[str] = []
    world.write_config([{"name": "twins", "url": FEED}])
    for round_ in range(2):  # new articles each round: the winner holds the lock a while
        for n in range(len(urls), len(urls) + 10):
            url = f"https://twins.example.test/news/{n}.html"
            world.site.add(url, Reply(plain_page(f"Twin story {n}", f"twin-{n}"), wait=0.1))
            urls.append(url)
        items = [Item(x(u), f"Twin story {n}", u) for n, u in enumerate(urls)]
        world.site.add(FEED, Reply(rss(items), content_type="application/rss+xml"))
        procs = [world.start("--once") for _ in range(2)]
        results = [(p.pid, *p.communicate(timeout=120), p.returncode) for p in procs]
        assert sorted(r[3] for r in results) == [0, 1], (round_, results)
        (winner,) = [r[0] for r in results if r[3] == 0]
        (loser_err,) = [r[2] for r in results if r[3] == 1]
        assert f"another scrape is already running on this state (pid {winner})" in loser_err
        assert all("Traceback" not in r[2] for r in results), results
        posts = check_archive(world.archive)  # each URL once
        assert set(posts) == set(urls)
        assert integrity(world.state) == "ok"
        rows = state_rows(world.state, "SELECT status, count(*) FROM entries GROUP BY status")
        assert rows == [("done", len(urls))]
