"""A small scenario 1 (and 2) of bench/e2e.py, so that the benchmark keeps working.

The real ``scrape --once`` against a few loopback hosts (127.0.1.N) serving
synthetic pages: every article archived exactly once, with exactly the requests
the scenario says; then a warm run where every feed answers 304. No timings are
asserted: CI machines vary.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import e2e
from e2e_content import Content
from e2e_site import Layout, Site

FEEDS, HOSTS, ITEMS = 8, 4, 5  # 40 articles: more than the pool's inline start


def _loopback_range_works() -> bool:
    try:
        with socket.socket() as s:
            s.bind((f"127.0.1.{HOSTS}", 0))
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not _loopback_range_works(), reason="127.0.1.N is not routed to the loopback device here"
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[e2e.World]:
    content = Content(("synthetic",))
    with Site(Layout(feeds=FEEDS, hosts=HOSTS, items=ITEMS), content, latency=0.01) as site:
        yield e2e.World(site, tmp_path / "project", FEEDS, 2, tmp_path / "scrape.log", workers=2)


def _log(world: e2e.World) -> str:
    return world.log.read_text(errors="replace")[-3000:] if world.log.exists() else ""


def test_cold_run_archives_every_article_once_with_one_request_each(world: e2e.World) -> None:
    result = e2e.cold_run(world)

    assert result.measured.status == 0, _log(world)
    assert result.checks == [], _log(world)
    assert result.requests == {"feed": FEEDS, "article": FEEDS * ITEMS}
    urls = e2e.archived(world.archive)
    expected = {world.site.article_url(f, i) for f in range(FEEDS) for i in range(ITEMS)}
    assert sorted(urls) == sorted(expected)  # each once: no duplicate, none missing
    assert world.site.per_host == dict.fromkeys(range(HOSTS), (FEEDS // HOSTS) * (1 + ITEMS))
    assert result.measured.cpu > 0 and result.measured.tree_peak_mb > 0
    assert "extract.pool_broken" not in _log(world)

    warm = e2e.warm_run(world, "validators")  # scenario 2: every feed answers 304
    assert warm.checks == [], _log(world)
    assert warm.requests == {"feed_304": FEEDS}
    assert sorted(e2e.archived(world.archive)) == sorted(expected)
