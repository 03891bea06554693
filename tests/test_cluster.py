"""Several machines on one archive: the state in PostgreSQL (``state_url``) and
``scrape worker`` on procrastinate, against a real PostgreSQL (pgtools) and the
loopback site. Workers are real processes: started, killed with SIGKILL mid-poll,
stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from conftest import Project
from hostile.checks import check_archive
from newsfixtures import Story, article_page, make_story, rss2
from pgtools import Relay, at_once
from servicetools import free_port, wait_for

from scraper.archive import Archive, read_from_url
from scraper.config import load_settings
from scraper.pipeline import run_source
from scraper.shared_archive import SharedArchive
from scraper.state import State
from scraper.types import SourceResult
from scraper.wiring import open_deps

if TYPE_CHECKING:
    from scraper.worker import ClusterWorker

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
STALL = 4.0  # the workers' cluster.stall_timeout in these tests (seconds)


class Worker:
    """``scrape worker`` as a child process, its log in a file."""

    def __init__(self, project: Project, n: int) -> None:
        self.log = project.root / f"worker-{n}.log"
        self._log = self.log.open("w", encoding="utf-8")
        self.proc = project.start("worker", stdout=self._log, stderr=subprocess.STDOUT)

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


def _serve(
    project: Project, sources: int, stories: int, *, delay: float = 0.0, scheme: str = "https"
) -> list[str]:
    """``sources`` feeds of ``stories`` stories each on the loopback site; the
    config for them; the article URLs."""
    urls: list[str] = []
    for i in range(sources):
        urls += _add_stories(project, i, range(1, stories + 1), delay=delay, scheme=scheme)
    return urls


def _add_stories(
    project: Project, source: int, numbers: range, *, delay: float = 0.0, scheme: str = "https"
) -> list[str]:
    """Stories ``numbers`` of source ``source`` served, and its feed listing every
    story it has up to the last of them."""
    host = f"{scheme}://s{source}.example.test"
    stories: list[Story] = [make_story(host, n, T0 + timedelta(minutes=n)) for n in numbers]
    for story in stories:
        project.site.add(story.url, article_page(story), delay=delay)
    listed = [make_story(host, n, T0 + timedelta(minutes=n)) for n in range(1, numbers.stop)]
    project.site.add(f"{host}/rss.xml", rss2(listed), content_type="application/rss+xml")
    return [s.url for s in stories]


def _config(
    project: Project,
    pg_url: str,
    sources: int | range,
    interval: str,
    scheme: str = "https",
    **extra: Any,
) -> None:
    """The config of sources ``s<i>`` (``sources``: how many, or which)."""
    numbers = range(sources) if isinstance(sources, int) else sources
    project.write_config(
        [
            {"name": f"s{i}", "url": f"{scheme}://s{i}.example.test/rss.xml", "interval": interval}
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


def _check_posts(project: Project, urls: list[str], *, clean: bool = True) -> None:
    """Every article exactly once, whole (a crash's hidden temporary files are
    what the next start removes: removed here first, if ``clean``)."""
    if clean:
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


def test_an_article_claimed_by_a_worker_that_died_is_written_at_its_claim(
    tmp_path: Path, pg_url: str
) -> None:
    """A worker killed between claiming an article's path and writing it: the next
    try, on another worker naming it differently, writes it there; a file put at a
    claimed path by hand, holding another article, is an error naming both."""
    from scraper.errors import ArchiveError

    url = "https://news.example.test/a.html"
    with State(pg_url) as dead:  # the dead worker's claims, its file never written
        dead.claim_name("_posts", "a.md", "a.md", url, T0)
        assert dead.claim_article(url, "_posts", "a.md", "_posts/a.md", T0) == "_posts/a.md"
    archive = SharedArchive(tmp_path, State(pg_url), clock=lambda: T0)
    try:
        text = f"---\nfrom: {url}\n---\nbody\n"
        assert archive.write(["_posts/b/a-2.md"], text, url) == "_posts/a.md"
        assert read_from_url(tmp_path / "_posts" / "a.md") == url
        assert not (tmp_path / "_posts" / "b" / "a-2.md").exists()
        other = "https://news.example.test/c.html"
        with State(pg_url) as dead:
            dead.claim_name("_posts", "c.md", "c.md", other, T0)
            dead.claim_article(other, "_posts", "c.md", "_posts/c.md", T0)
        (tmp_path / "_posts" / "c.md").write_text("---\nfrom: https://elsewhere.test/\n---\n")
        with pytest.raises(ArchiveError, match=r"claimed for \S+/c\.html, but it holds another"):
            archive.write(["_posts/c-1.md"], text.replace(url, other), other)
    finally:
        archive.close()


def test_one_article_written_at_once_by_two_workers_is_one_file(
    tmp_path: Path, pg_url: str
) -> None:
    """Each of 40 articles written at the same moment by two workers that name it
    differently (their sources' path templates): one file each, at the path the
    first claim took, and both workers are told that path."""
    archives = [SharedArchive(tmp_path, State(pg_url), clock=lambda: T0) for _ in range(2)]
    text = "---\nfrom: {url}\n---\nbody\n"
    try:
        for n in range(40):
            url = f"https://news.example.test/{n}.html"
            paths = at_once(
                2,
                lambda i, url=url, n=n: archives[i].write(
                    [f"_posts/w{i}/{n}.md", f"_posts/w{i}/{n}-x.md"], text.format(url=url), url
                ),
                join_timeout=120,
            )
            assert paths[0] == paths[1], (n, paths)
    finally:
        for archive in archives:
            archive.close()
    files = sorted(tmp_path.rglob("*.md"))
    assert len(files) == 40, [f.relative_to(tmp_path).as_posix() for f in files]
    assert len({read_from_url(f) for f in files}) == 40
    with State(pg_url) as state:
        claimed = state.article_path("https://news.example.test/7.html")
        assert claimed is not None and (tmp_path / claimed).is_file()
        # the losing worker's name was given back: only the used names stay claimed
        names = state.names_of("https://news.example.test/7.html")
        assert names == [claimed]


def test_an_article_in_two_feeds_polled_at_once_by_two_workers_is_one_file(
    project: Project, pg_url: str
) -> None:
    """Two sources list the same 12 articles; two workers (each its own state
    connections, archive and event loop) poll one each, at the same moment. The
    sources name files differently, yet each article is one file, and both
    sources' entries are done at its path."""
    stories = [make_story("https://news.example.test", n, T0) for n in range(12)]
    for story in stories:
        project.site.add(story.url, article_page(story), delay=0.2)
    for name in ("a", "b"):
        feed = f"https://{name}.example.test/rss.xml"
        project.site.add(feed, rss2(stories), content_type="application/rss+xml")
    settings = load_settings(
        project.write_config(
            [
                {"name": "a", "url": "https://a.example.test/rss.xml"},
                {
                    "name": "b",
                    "url": "https://b.example.test/rss.xml",
                    "path": "_posts/b/{date}-{slug}.md",
                },
            ],
            state_url=pg_url,
            extract_workers=0,
        )
    )
    sources = {s.name: s for s in settings.sources}
    ready = threading.Barrier(2)

    async def poll(name: str) -> SourceResult:
        archive = SharedArchive(settings.archive_dir, State(pg_url), clock=lambda: T0)
        try:
            async with open_deps(settings, role="worker", shared=True, archive=archive) as deps:
                await asyncio.to_thread(ready.wait, 30)
                return await run_source(deps, sources[name], T0)
        finally:
            archive.close()

    results = at_once(2, lambda i: asyncio.run(poll("ab"[i])), join_timeout=120)
    assert [r.error for r in results] == [None, None]
    assert sum(r.new for r in results) == 24  # each source archived all (one wrote it)
    posts = check_archive(project.archive)
    assert sorted(posts) == sorted(s.url for s in stories)
    on_disk = {
        url: post.path.relative_to(project.archive).as_posix() for url, post in posts.items()
    }
    with State(pg_url) as state:
        for name in ("a", "b"):
            assert {p.url: p.path for p in state.posts([name])} == on_disk


class _TimedRequests(list[Any]):
    """The site's request log, with when each request came (``times``)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, request: Any) -> None:
        self.times.append(time.monotonic())
        super().append(request)


def _first_polls_after(project: Project, since: int) -> dict[str, float]:
    """Each source's first feed request from the ``since``-th request on: when."""
    requests = project.site.requests
    times = requests.times
    found: dict[str, float] = {}
    for at, request in zip(times[since:], requests[since:], strict=False):
        if request.path == "/rss.xml":
            found.setdefault(request.host.split(".")[0], at)
    return found


def _stop_all(workers: list[Worker]) -> list[tuple[int, float]]:
    """SIGTERM to every worker at once; each one's exit status, and how long it
    took to exit."""
    started = time.monotonic()
    for w in workers:
        w.proc.send_signal(signal.SIGTERM)
    stopped = []
    for w in workers:
        try:
            code = w.proc.wait(timeout=max(1.0, 20 - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            w.proc.kill()
            code = w.proc.wait()
        w._log.close()
        stopped.append((code, time.monotonic() - started))
    return stopped


def test_three_workers_share_the_sources_and_survive_kills(project: Project, pg_url: str) -> None:
    """Three workers on 300 sources; new articles arrive three times, and each
    time, at a random moment while polls fetch them, a worker is killed (SIGKILL)
    and another started: every article is archived exactly once and whole (no
    temporary file left: the keeper removes a dead writer's), every source is
    polled again within an interval and the stall timeout of each kill (the
    killed worker's too), and SIGTERM stops them all, at once, in 10 s."""
    # at 10 s, the polls and a round's 300 new articles (extracted in the
    # workers' event loops) keep 2 cores busy but not behind their schedule
    sources, interval = 300, 10.0
    seed = int(os.environ.get("SCRAPER_TEST_SEED", time.time_ns() % 1_000_000))
    print(f"SCRAPER_TEST_SEED={seed}")  # (shown when the test fails: run it again so)
    rng = random.Random(seed)
    # plain HTTP: 300 hosts' TLS handshakes would cost more than the polls
    project.site.requests = _TimedRequests()
    urls = _serve(project, sources, 2, delay=0.3, scheme="http")
    # connections enough for a round's new pages: a poll waiting for them would
    # hold its source well past an interval, dead worker or not
    _config(project, pg_url, sources, f"{interval:g}s", scheme="http", http={"max_connections": 64})
    workers = [Worker(project, n) for n in range(3)]
    everyone = list(workers)
    # the queue's lateness, the keeper's tick within the stall, a loaded machine
    bound = interval * 1.1 + STALL + 2
    try:
        assert wait_for(lambda: _done(pg_url) == len(urls), 120), (seed, _done(pg_url))
        for round_ in range(3):
            numbers = range(3 + round_, 4 + round_)
            for i in range(sources):
                urls += _add_stories(project, i, numbers, delay=1.0, scheme="http")
            time.sleep(rng.uniform(0.3, 3.0))  # polls are fetching the new pages
            victim = workers.pop(rng.randrange(len(workers)))
            victim.kill()
            killed_at, since = time.monotonic(), len(project.site.requests)
            workers.append(Worker(project, 3 + round_))
            everyone.append(workers[-1])
            everything = {f"s{i}" for i in range(sources)}

            def all_polled(since: int = since, everything: set[str] = everything) -> bool:
                return set(_feed_hits(project, since)) == everything

            polled = wait_for(all_polled, bound + 5)
            firsts = _first_polls_after(project, since)
            slowest = sorted(firsts.items(), key=lambda item: -item[1])[:5]
            took = max(firsts.values(), default=killed_at) - killed_at
            late = [(name, round(at - killed_at, 1)) for name, at in slowest]
            print(f"kill {round_}: every source polled again within {took:.1f}s (bound {bound:g}s)")
            assert polled and took <= bound, (
                seed,
                round_,
                took,
                sorted(everything - set(firsts))[:10],
                late,
            )
        assert wait_for(lambda: _done(pg_url) == len(urls), 120), (seed, _done(pg_url), len(urls))
        # the kills' temporary files: removed by the keepers that took their polls
        assert wait_for(lambda: not list(project.archive.rglob(".tmp-*")), 30), seed
    finally:
        stopped = _stop_all(workers)
        for w in everyone:
            if w.proc.poll() is None:
                w.kill()
    assert [code for code, _ in stopped] == [0, 0, 0], [w.logs()[-2000:] for w in workers]
    assert max(took for _, took in stopped) < 10, stopped
    _check_posts(project, urls, clean=False)
    logs = "".join(w.logs() for w in everyone)
    assert logs.count("outcome=requeued") >= 3, seed  # killed workers' polls taken over
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


def test_readyz_answers_at_once_while_the_database_is_silent(project: Project, pg_url: str) -> None:
    """A database that stops answering (connections open, nothing comes back): /readyz
    still answers at once, not ready, naming the silence; ready again once it speaks."""
    _serve(project, 1, 1)
    relay = Relay(pg_url)
    port = free_port()
    _config(project, relay.url, 1, "1h", service={"enabled": True, "port": port})
    worker = Worker(project, 0)

    def ready() -> tuple[int, str, float]:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                return int(r.status), r.read().decode(), time.monotonic() - started
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), time.monotonic() - started
        except OSError as exc:
            return 0, str(exc), time.monotonic() - started

    try:
        assert wait_for(lambda: ready()[0] == 200, 30), worker.logs()
        # its one poll done (a poll asks the state in the event loop, so would wait
        # on the silent database too)
        assert wait_for(lambda: any(project.archive.rglob("*.md")), 30), worker.logs()
        assert wait_for(lambda: "source.polled" in worker.logs(), 30), worker.logs()
        time.sleep(1)
        relay.freeze()
        answers = []
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            answers.append(ready())
            time.sleep(0.5)
        assert max(took for _, _, took in answers) < 1.0, answers
        assert answers[-1][0] == 503 and "no answer within" in answers[-1][1], answers
        relay.thaw()
        assert wait_for(lambda: ready()[0] == 200, 30), worker.logs()
    finally:
        relay.thaw()
        code, took = worker.terminate()
        relay.close()
    assert code == 0 and took < 10, worker.logs()[-3000:]


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


@contextlib.asynccontextmanager
async def _in_process_worker(
    project: Project, pg_url: str, sources: int, interval: str, *, state_url: str = ""
) -> AsyncIterator[ClusterWorker]:
    """A worker in this process, its queue and archive claims on ``pg_url``, its
    state there too or at ``state_url`` (a relay in front of it), not taking
    jobs: the test runs them."""
    from scraper.worker import ClusterWorker, ensure_queue_schema, make_app, open_worker_deps

    _config(project, state_url or pg_url, sources, interval)
    settings = load_settings(project.config)
    archive = SharedArchive(settings.archive_dir, State(pg_url), clock=lambda: datetime.now(UTC))
    try:
        async with open_worker_deps(settings, archive) as deps:
            app = make_app(pg_url, settings)
            async with app.open_async():
                await ensure_queue_schema(app)
                yield ClusterWorker(settings, deps, app)
    finally:
        archive.close()


def _waiting(pg_url: str) -> dict[str, datetime]:
    """Each source's waiting poll, when it is due."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as db:
        rows = db.execute(
            "SELECT args->>'source', scheduled_at FROM procrastinate_jobs WHERE status = 'todo'"
            " AND task_name = 'scraper.poll'"
        ).fetchall()
    return dict(rows)


async def _take(worker: ClusterWorker) -> Any:
    """The first due job, as a worker takes it (running under a worker id)."""
    from scraper.worker import QUEUE

    manager = worker.app.job_manager
    worker_id = await manager.register_worker()
    job = None
    for _ in range(50):
        if job := await manager.fetch_job(queues=[QUEUE], worker_id=worker_id):
            break
        await asyncio.sleep(0.05)
    assert job is not None
    return SimpleNamespace(job=job, worker_id=worker_id)


async def _finish(worker: ClusterWorker, taken: Any) -> None:
    """The job's end, as procrastinate records it after the task."""
    from procrastinate.jobs import Status

    await worker.app.job_manager.finish_job(taken.job, Status.SUCCEEDED, delete_job=True)


def test_a_poll_defers_its_next_and_a_bug_or_a_shutdown_does_not_break_the_chain(
    project: Project, pg_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A poll's next job is due when the state says; a bug in the poll is logged
    (source, URL, traceback) and backs off one interval more, instead of failing
    the job; a poll cut short by a shutdown leaves its next due at once."""
    import scraper.worker

    _serve(project, 1, 1)

    async def scenario() -> None:
        async with _in_process_worker(project, pg_url, 1, "60s") as worker:
            await worker.reconcile()  # s0's first poll, due now
            taken = await _take(worker)
            started = datetime.now(UTC)
            await worker.poll(taken, "s0")
            assert _done(pg_url) == 1
            with State(pg_url) as state:
                assert _waiting(pg_url) == {"s0": state.next_poll_of("s0")}
            assert timedelta(seconds=51) < _waiting(pg_url)["s0"] - started < timedelta(seconds=67)
            await _finish(worker, taken)
            await worker._unschedule(["s0"])

            async def bug(*args: Any) -> None:
                raise ZeroDivisionError("division by zero")

            monkeypatch.setattr(scraper.worker, "run_source", bug)
            await worker.schedule_missing(wait=True)
            taken = await _take(worker)
            started = datetime.now(UTC)
            with caplog.at_level(logging.ERROR, logger="scraper.worker"):
                await worker.poll(taken, "s0")
            # backed off as after a failure: twice the interval, ±10%
            assert (
                timedelta(seconds=105) < _waiting(pg_url)["s0"] - started < timedelta(seconds=133)
            )
            record = next(r for r in caplog.records if r.getMessage() == "source.failed")
            assert record.exc_info is not None
            fields = record.__dict__["scraper_fields"]
            assert fields["source"] == "s0" and fields["url"].endswith("s0.example.test/rss.xml")
            assert "a bug: ZeroDivisionError" in fields["reason"]
            await _finish(worker, taken)
            await worker._unschedule(["s0"])
            hold = asyncio.Event()

            async def slow(*args: Any) -> None:
                hold.set()
                await asyncio.sleep(60)

            monkeypatch.setattr(scraper.worker, "run_source", slow)
            await worker.schedule_missing(wait=True)
            taken = await _take(worker)
            polling = asyncio.create_task(worker.poll(taken, "s0"))
            await hold.wait()
            polling.cancel()
            with pytest.raises(asyncio.CancelledError):
                await polling
            assert _waiting(pg_url)["s0"] <= datetime.now(UTC)  # due at once, for another

    asyncio.run(scenario())


class _FreezeOnPage(list[Any]):
    """The site's request log, freezing ``relay`` when an article page is asked
    for: the poll under way has read the state and noted its entries; it is to
    write the article, then record the outcome."""

    def __init__(self, relay: Relay) -> None:
        super().__init__()
        self._relay = relay

    def append(self, request: Any) -> None:
        if "/story-" in request.path:
            self._relay.freeze()
        super().append(request)


async def _lateness(every: float, late: list[float]) -> None:
    """Another coroutine's timer: how late each of its ticks comes, in ``late``."""
    while True:
        started = time.monotonic()
        await asyncio.sleep(every)
        late.append(time.monotonic() - started - every)


def test_a_poll_waiting_on_a_silent_database_does_not_hold_the_event_loop(
    project: Project, pg_url: str
) -> None:
    """The state's server goes silent in the middle of a poll (connections open,
    nothing answered): while the poll waits to record its outcome, the event loop
    goes on (another coroutine's timer is on time, not a second late); once the
    server speaks again, the poll ends, its article on disk once and done, and its
    next poll deferred to when it recorded."""
    urls = _serve(project, 1, 1)
    relay = Relay(pg_url)
    # were the loop held, nothing in it could thaw the server: this does, later
    rescue = threading.Timer(15, relay.thaw)

    async def scenario() -> None:
        async with _in_process_worker(project, pg_url, 1, "1h", state_url=relay.url) as worker:
            await worker.reconcile()
            taken = await _take(worker)
            project.site.requests = _FreezeOnPage(relay)
            late: list[float] = []
            timer = asyncio.create_task(_lateness(0.05, late))
            polling = asyncio.create_task(worker.poll(taken, "s0"))
            rescue.start()
            # the poll's query sent to the silent server: it waits on the state
            assert await asyncio.to_thread(relay.held.wait, 30)
            # and goes on waiting (a second of it) while the loop keeps the timer's time
            finished, _ = await asyncio.wait({polling}, timeout=1.0)
            assert late and max(late) < 1.0, f"the event loop was held {max(late):.1f}s"
            assert not finished, "the poll ended while the server was silent"
            assert await asyncio.to_thread(_done, pg_url) == 0  # written, not yet done
            assert len(list(project.archive.rglob("*.md"))) == 1
            relay.thaw()
            await polling
            timer.cancel()
            assert max(late) < 1.0, f"the event loop was held {max(late):.1f}s"
            assert worker.meter.polls == 1
            recorded = await asyncio.to_thread(_next_poll_of, pg_url, "s0")
            assert _waiting(pg_url) == {"s0": recorded}  # as the poll's result said
            again = await run_source(worker.deps, worker.settings.sources[0])
            assert (again.new, again.error) == (0, None)  # nothing written twice
            await _finish(worker, taken)

    try:
        asyncio.run(scenario())
    finally:
        rescue.cancel()
        relay.thaw()
        relay.close()
    _check_posts(project, urls)
    with State(pg_url) as state:
        assert [p.url for p in state.posts(["s0"])] == urls


def _next_poll_of(pg_url: str, source: str) -> datetime | None:
    with State(pg_url) as state:
        return state.next_poll_of(source)


def test_a_job_whose_end_was_not_recorded_is_put_back(project: Project, pg_url: str) -> None:
    """A worker alive (its heartbeat goes on) but not running a job the queue says
    it runs (its end was lost with a connection): seen so twice, it is put back,
    due now; one whose source has a next poll waiting is closed."""
    from scraper.worker import put_back_unrecorded

    _serve(project, 2, 1)

    async def scenario() -> None:
        async with _in_process_worker(project, pg_url, 2, "1h") as worker:
            await worker.reconcile()
            first = await _take(worker)
            second = await _take(worker)
            app, wid = worker.app, first.worker_id
            assert second.worker_id != wid
            # the second job's worker deferred its next before its end was lost
            await worker._defer(second.job.task_kwargs["source"], T0 + timedelta(days=1))
            running = {first.job.id}
            assert await put_back_unrecorded(app, wid, running, set()) == set()
            suspects = await put_back_unrecorded(app, wid, set(), set())
            assert suspects == {first.job.id}  # once: perhaps just ended, not yet recorded
            assert await put_back_unrecorded(app, wid, set(), suspects) == set()
            source = first.job.task_kwargs["source"]
            assert _waiting(pg_url)[source] <= datetime.now(UTC)  # back, due now
            other = second.job.task_kwargs["source"]
            suspects = await put_back_unrecorded(app, second.worker_id, set(), set())
            assert await put_back_unrecorded(app, second.worker_id, set(), suspects) == set()
            assert _waiting(pg_url)[other] == T0 + timedelta(days=1)  # its next kept
            assert await app.job_manager.list_jobs_async(status="doing") == []

    asyncio.run(scenario())


def test_a_sigterm_while_a_worker_starts_stops_it_with_exit_0(
    project: Project, pg_url: str
) -> None:
    """The signal comes while the worker waits for the database at start-up
    (another one migrating the schema): it starts no polls, and exits 0."""
    import psycopg

    _serve(project, 1, 1)
    _config(project, pg_url, 1, "1h")
    with psycopg.connect(pg_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':schema'))")
        worker = Worker(project, 0)

        def waiting() -> bool:
            with psycopg.connect(pg_url, autocommit=True) as db:
                return bool(
                    db.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND application_name LIKE 'scrape state%'"
                    ).fetchone()[0]  # type: ignore[index]
                )

        assert wait_for(waiting, 30), worker.logs()
        worker.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert worker.proc.poll() is None  # (still waiting: the signal was kept)
    code = worker.proc.wait(timeout=20)
    worker._log.close()
    assert code == 0, worker.logs()
    assert "worker.started" not in worker.logs() and "worker.stopped" in worker.logs()
    assert "Traceback" not in worker.logs()
    assert _feed_hits(project) == {}


def test_a_worker_told_to_stop_while_it_waits_to_schedule_exits_at_once(
    project: Project, pg_url: str
) -> None:
    """Another worker holds the scheduling (a long start-up): SIGTERM does not
    wait for it."""
    import psycopg

    _serve(project, 1, 1)
    _config(project, pg_url, 1, "1h")
    State(pg_url).close()
    with psycopg.connect(pg_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':schedule'))")
        worker = Worker(project, 0)
        assert wait_for(lambda: "worker.reconciled" in worker.logs(), 30), worker.logs()
        time.sleep(0.5)
        code, took = worker.terminate()
    assert code == 0 and took < 5, (took, worker.logs())
    assert "worker.started" not in worker.logs() and "Traceback" not in worker.logs()


def test_a_shared_archive_removes_only_dead_writers_temporary_files(tmp_path: Path) -> None:
    """Other workers write in the folder all the time: a temporary file whose lock
    is free is a dead writer's only once it is some seconds old (a live writer
    takes the lock a moment after creating it)."""
    import fcntl

    from scraper.shared_archive import LOCK_GRACE

    archive = SharedArchive(tmp_path / "archive", State(tmp_path / "state.sqlite3"), lambda: T0)
    try:
        posts = tmp_path / "archive" / "_posts"
        posts.mkdir(parents=True)
        unlocked = posts / ".tmp-locked-new"  # created, its lock not taken yet
        unlocked.write_text("half")
        held = posts / ".tmp-locked-live"
        held.write_text("half")
        with held.open("rb") as live:
            fcntl.flock(live, fcntl.LOCK_EX)
            assert archive.remove_stale_temp_files() == 0
            later = time.time() + LOCK_GRACE + 1
            assert archive.remove_stale_temp_files(now=later) == 1  # the live one stays
        assert not unlocked.exists() and held.exists()
    finally:
        archive.close()


def test_a_shortened_interval_reschedules_the_waiting_poll(project: Project, pg_url: str) -> None:
    """A reconciliation that shortens a source's interval: its poll waiting for the
    old one is due at once; a source whose interval grew keeps its waiting poll."""
    _serve(project, 2, 1)

    async def scenario() -> None:
        async with _in_process_worker(project, pg_url, 2, "1h") as worker:
            await worker.reconcile()
            for _ in range(2):
                taken = await _take(worker)
                await worker.poll(taken, taken.job.task_kwargs["source"])
                await _finish(worker, taken)
            before = _waiting(pg_url)
            assert all(at > datetime.now(UTC) + timedelta(minutes=50) for at in before.values())
            project.write_config(
                [
                    {"name": "s0", "url": "https://s0.example.test/rss.xml", "interval": "10s"},
                    {"name": "s1", "url": "https://s1.example.test/rss.xml", "interval": "2h"},
                ],
                state_url=pg_url,
                extract_workers=0,
            )
            worker.settings = load_settings(project.config)
            change = await worker.reconcile()
            assert change.changed == ("s0", "s1")
            after = _waiting(pg_url)
            assert after["s0"] <= datetime.now(UTC) + timedelta(seconds=1)
            assert after["s1"] == before["s1"]

    asyncio.run(scenario())
