"""Several machines on one archive: the state in PostgreSQL (``state_url``) and
``scrape worker`` on procrastinate, against a real PostgreSQL (pgtools) and the
loopback site. Workers are real processes: started, killed with SIGKILL mid-poll,
stopped with SIGTERM."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Project, clean_env
from hostile.checks import check_archive
from newsfixtures import Story, article_page, make_story, rss2
from pgtools import Relay
from servicetools import free_port, wait_for

from scraper.archive import Archive
from scraper.shared_archive import SharedArchive
from scraper.state import State

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
STALL = 4.0  # the workers' cluster.stall_timeout in these tests (seconds)
KEEP = 5.0  # the keeper's period (worker.KEEP_EVERY)


class Worker:
    """``scrape worker`` as a child process, its log in a file."""

    def __init__(self, project: Project, n: int) -> None:
        self.log = project.root / f"worker-{n}.log"
        self._log = self.log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            project.command("worker"),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=clean_env(),
            cwd=project.root,
        )

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._log.close()

    def terminate(self) -> tuple[int, float]:
        """SIGTERM; its exit status and how long it took to exit."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._log.close()
        return code, time.monotonic() - started


def _serve(project: Project, sources: int, stories: int, *, delay: float = 0.0) -> list[str]:
    """``sources`` feeds of ``stories`` stories each on the loopback site; the
    config for them; the article URLs."""
    urls: list[str] = []
    for i in range(sources):
        urls += _add_stories(project, i, range(1, stories + 1), delay=delay)
    return urls


def _add_stories(project: Project, source: int, numbers: range, *, delay: float = 0.0) -> list[str]:
    """Stories ``numbers`` of source ``source`` served, and its feed listing every
    story it has up to the last of them."""
    host = f"https://s{source}.example.test"
    stories: list[Story] = [make_story(host, n, T0 + timedelta(minutes=n)) for n in numbers]
    for story in stories:
        project.site.add(story.url, article_page(story), delay=delay)
    listed = [make_story(host, n, T0 + timedelta(minutes=n)) for n in range(1, numbers.stop)]
    project.site.add(f"{host}/rss.xml", rss2(listed), content_type="application/rss+xml")
    return [s.url for s in stories]


def _config(
    project: Project, pg_url: str, sources: int | range, interval: str, **extra: Any
) -> None:
    """The config of sources ``s<i>`` (``sources``: how many, or which)."""
    numbers = range(sources) if isinstance(sources, int) else sources
    project.write_config(
        [
            {"name": f"s{i}", "url": f"https://s{i}.example.test/rss.xml", "interval": interval}
            for i in numbers
        ],
        state_url=pg_url,
        extract_workers=0,
        cluster={"stall_timeout": f"{STALL:g}s"},
        **extra,
    )


def _done(pg_url: str) -> int:
    with State(pg_url) as state:
        return sum(h.articles for h in state.all_health())


def _feed_hits(project: Project, since: int = 0) -> dict[str, int]:
    hits: dict[str, int] = {}
    for request in project.site.requests[since:]:
        if request.path == "/rss.xml":
            name = request.host.split(".")[0]
            hits[name] = hits.get(name, 0) + 1
    return hits


def _check_posts(project: Project, urls: list[str]) -> None:
    """Every article exactly once, whole (a crash's hidden temporary files are
    what the next start removes: removed here first)."""
    Archive(project.archive).remove_stale_temp_files()
    posts = check_archive(project.archive)
    assert sorted(posts) == sorted(urls)
    for url, post in posts.items():
        marker = url.rsplit("story-", 1)[1].removesuffix(".html")
        assert f"Marker {marker}-4." in post.text, post.path  # the last paragraph: whole


def test_a_worker_needs_postgresql_and_no_git(project: Project) -> None:
    project.write_config([])
    done = project.scrape("worker")
    assert done.returncode == 2
    assert "state_url: scrape worker needs the state in PostgreSQL" in done.stderr
    project.write_config([], state_url="postgresql://u@127.0.0.1:1/x", git={"commit": True})
    done = project.scrape("worker")
    assert done.returncode == 2 and "git.commit: not with scrape worker" in done.stderr


def test_an_unreachable_database_at_start_exits_2_naming_it(project: Project) -> None:
    port = free_port()
    project.write_config([], state_url=f"postgresql://scraper:hunter2@127.0.0.1:{port}/x")
    done = project.scrape("worker", timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"postgresql://scraper:***@127.0.0.1:{port}/x" in done.stderr
    assert "refused" in done.stderr and "hunter2" not in done.stderr
    assert "Traceback" not in done.stderr


def test_once_and_status_on_a_postgresql_state(project: Project, pg_url: str) -> None:
    urls = _serve(project, 2, 2)
    _config(project, pg_url, 2, "10m")
    done = project.scrape("--once")
    assert done.returncode == 0, done.stderr
    _check_posts(project, urls)
    status = project.scrape("status", "--json")
    assert status.returncode == 0, status.stderr
    rows = {row["name"]: row for row in json.loads(status.stdout)["sources"]}
    assert {rows[n]["articles"] for n in ("s0", "s1")} == {2}
    again = project.scrape("--once")  # nothing new: nothing written twice
    assert again.returncode == 0 and "0 new articles" in again.stderr + again.stdout


def test_two_workers_never_write_one_name_for_two_articles(tmp_path: Path, pg_url: str) -> None:
    """Two workers (two archives on one folder, each with its state connection):
    names that differ only in case are one name; the same article found by both
    under different names is written once."""
    one = SharedArchive(tmp_path, State(pg_url), clock=lambda: T0)
    two = SharedArchive(tmp_path, State(pg_url), clock=lambda: T0)
    try:
        text = "---\nfrom: {url}\n---\nbody\n"
        first = one.write(
            ["_posts/Big-News.md", "_posts/Big-News-1.md"], text.format(url="u1"), "u1"
        )
        second = two.write(
            ["_posts/big-news.md", "_posts/big-news-2.md"], text.format(url="u2"), "u2"
        )
        assert (first, second) == ("_posts/Big-News.md", "_posts/big-news-2.md")
        assert two.write(["_posts/other.md"], text.format(url="u1"), "u1") == "_posts/Big-News.md"
        assert sorted(p.name for p in (tmp_path / "_posts").iterdir()) == [
            "Big-News.md", "big-news-2.md",
        ]  # fmt: skip
    finally:
        one.close()
        two.close()


def test_three_workers_share_the_sources_and_survive_kills(project: Project, pg_url: str) -> None:
    """Three workers on 60 sources; new articles arrive three times, and each time
    a worker is killed (SIGKILL) mid-poll and another started: every article is
    archived exactly once and whole, the killed worker's sources are polled again
    within the stall timeout and an interval, and SIGTERM stops them all in 10 s."""
    sources, interval = 60, 3.0
    urls = _serve(project, sources, 2, delay=0.3)  # slow pages: polls last a while
    _config(project, pg_url, sources, f"{interval:g}s")
    workers = [Worker(project, n) for n in range(3)]
    everyone = list(workers)
    rng = random.Random(14)
    try:
        assert wait_for(lambda: _done(pg_url) == len(urls), 90), _done(pg_url)
        for round_ in range(3):
            numbers = range(3 + 2 * round_, 5 + 2 * round_)
            for i in range(sources):
                urls += _add_stories(project, i, numbers, delay=1.0)
            time.sleep(rng.uniform(0.8, 2.0))  # the next polls are fetching the new pages
            victim = workers.pop(rng.randrange(len(workers)))
            victim.kill()
            killed_at = len(project.site.requests)
            workers.append(Worker(project, 3 + round_))
            everyone.append(workers[-1])
        # the last victim's sources too: polled again within stall + interval (+ a tick)
        time.sleep(STALL + interval * 1.1 + KEEP + 2)
        assert set(_feed_hits(project, killed_at)) == {f"s{i}" for i in range(sources)}
        assert wait_for(lambda: _done(pg_url) == len(urls), 90), (_done(pg_url), len(urls))
    finally:
        stopped = [w.terminate() for w in workers]
        for w in everyone:
            if w.proc.poll() is None:
                w.kill()
    assert [code for code, _ in stopped] == [0, 0, 0], [w.logs()[-2000:] for w in workers]
    assert max(took for _, took in stopped) < 10, stopped
    _check_posts(project, urls)
    logs = "".join(w.logs() for w in everyone)
    assert "outcome=requeued" in logs  # a killed worker's poll was taken over
    assert "Traceback" not in logs, logs[-3000:]
    with State(pg_url) as state:
        assert sum(h.articles for h in state.all_health()) == len(urls)
        assert state.failed_entries() == {}


def test_sighup_reconciles_the_sources(project: Project, pg_url: str) -> None:
    _serve(project, 3, 1)
    _config(project, pg_url, 2, "2s")
    worker = Worker(project, 0)
    try:
        assert wait_for(lambda: {"s0", "s1"} <= set(_feed_hits(project)), 30), worker.logs()
        _config(project, pg_url, range(1, 3), "2s")  # s0 removed, s2 added
        worker.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "removed=['s0']" in worker.logs(), 20), worker.logs()
        since = len(project.site.requests)
        assert wait_for(lambda: "s2" in _feed_hits(project, since), 20), worker.logs()
        time.sleep(1)  # (a poll of s0 under way as the reload came may finish)
        later = len(project.site.requests)
        time.sleep(5)
        assert "s0" not in _feed_hits(project, later) and "s1" in _feed_hits(project, later)
        with State(pg_url) as state:
            assert set(state.cluster_sources()) == {"s1", "s2"}
    finally:
        code, took = worker.terminate()
    assert code == 0 and took < 10


def test_a_lost_database_makes_the_worker_unready_then_it_resumes(
    project: Project, pg_url: str
) -> None:
    """The database goes away mid-run (every connection dropped, new ones refused):
    /readyz says not ready and the worker waits; when it is back, it polls again."""
    _serve(project, 2, 1)
    relay = Relay(pg_url)
    port = free_port()
    _config(project, relay.url, 2, "2s", service={"enabled": True, "port": port})
    worker = Worker(project, 0)

    def ready() -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    try:
        assert wait_for(lambda: ready() == 200, 30), worker.logs()
        relay.cut()
        assert wait_for(lambda: ready() == 503, 30), worker.logs()
        assert wait_for(lambda: "worker.database_lost" in worker.logs(), 30), worker.logs()
        time.sleep(2)
        relay.restore()
        assert wait_for(lambda: ready() == 200, 60), worker.logs()
        since = len(project.site.requests)
        assert wait_for(lambda: {"s0", "s1"} <= set(_feed_hits(project, since)), 30)
    finally:
        code, took = worker.terminate()
        relay.close()
    assert code == 0 and took < 10, worker.logs()[-3000:]
    assert "Traceback" not in worker.logs()


@pytest.mark.parametrize("role", ["run", "--once"])
def test_a_daemon_is_refused_while_workers_run(project: Project, pg_url: str, role: str) -> None:
    _serve(project, 1, 1)
    _config(project, pg_url, 1, "1h")
    worker = Worker(project, 0)
    try:
        assert wait_for(lambda: "worker.started" in worker.logs(), 30), worker.logs()
        done = project.scrape(role, timeout=60)
        assert done.returncode == 1
        assert "another scrape is already running on this state (scrape worker" in done.stderr
    finally:
        worker.terminate()


def test_the_pure_parts_of_scheduling() -> None:
    from scraper.config import settings_from_dict
    from scraper.errors import ConfigError
    from scraper.worker import _first_polls, _poll_time, check_cluster_settings, job_lock

    due = T0
    assert _poll_time(due + timedelta(seconds=0.4), due) == due  # taken a moment late
    assert _poll_time(due + timedelta(seconds=30), due) == due + timedelta(seconds=30)
    assert _poll_time(due - timedelta(seconds=1), due) == due - timedelta(seconds=1)
    assert _poll_time(due, None) == due
    firsts = _first_polls([("a", 10.0), ("b", 600.0), ("c", 10.0)], T0)
    assert [name for name, _ in firsts] == ["a", "b", "c"]
    assert [(at - T0).total_seconds() for _, at in firsts] == [0.0, 0.05, 0.1]
    spread = _first_polls([(f"s{i}", 10.0) for i in range(1000)], T0)
    assert (spread[-1][1] - T0).total_seconds() < 10  # within the shortest interval
    assert _first_polls([], T0) == []
    assert job_lock("a") != job_lock("b")
    base = Path("/tmp")
    with pytest.raises(ConfigError, match="state_url: scrape worker needs"):
        check_cluster_settings(settings_from_dict({}, base))
    url = "postgresql://u@h/d"
    assert check_cluster_settings(settings_from_dict({"state_url": url}, base)) == url
    with pytest.raises(ConfigError, match="stall_timeout"):
        settings_from_dict({"cluster": {"stall_timeout": "1s"}}, base)
