"""Kill -9 at random moments: the loop shared by tests/hostile/test_crash.py (a
few points, in CI) and stress/kill9.py (many).

A site of N articles behind one feed; ``scrape --once`` is started, killed with
SIGKILL after a random delay (a new process each time, the next started right
after), and once the points are used up a last run goes to the end. Then the
archive and the state must be whole: every article exactly once, no partial
file, no temporary file, ``PRAGMA integrity_check`` ok, every entry the state
calls done on disk under the path it names.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hostile.checks import check_archive, integrity, state_rows
from hostile.server import HostileSite, Reply
from hostile.world import Item, plain_page, rss, x
from scraper.captures import read_capture, whole_members_end
from scraper.types import CaptureRef

FEED = "http://crash.example.test/rss.xml"


def serve_articles(site: HostileSite, count: int, delay: float) -> list[str]:
    """``count`` articles behind ``FEED``, each page answering after ``delay`` s."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    urls = [f"http://crash.example.test/news/{n}.html" for n in range(count)]
    items = []
    for n, url in enumerate(urls):
        site.add(url, Reply(plain_page(f"Crash story {n}", f"crash-{n}"), wait=delay))
        date = (start + timedelta(minutes=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        items.append(Item(x(url), f"Crash story {n}", url, date))
    site.add(FEED, Reply(rss(items), content_type="application/rss+xml"))
    return urls


def config(max_per_host: int) -> dict[str, Any]:
    return {
        "sources": [{"name": "crash", "url": FEED, "max_new": 100_000}],
        "http": {"max_per_host": max_per_host, "timeout": "10s"},
    }


@dataclass
class KillReport:
    points: int
    killed: int = 0  # runs killed while still running
    finished_first: int = 0  # runs that ended before their kill came
    delays: list[float] = field(default_factory=list)
    written_at_kill: list[int] = field(default_factory=list)  # posts on disk after each kill
    temp_left: int = 0  # temporary files seen after the kills (the next run must remove them)
    final_seconds: float = 0.0
    final_status: int = -1
    final_output: str = ""

    def summary(self) -> str:
        progress = ", ".join(map(str, self.written_at_kill))
        return (
            f"{self.points} kill points: {self.killed} runs killed mid-run, "
            f"{self.finished_first} finished before the kill; "
            f"delays {min(self.delays, default=0):.2f}-{max(self.delays, default=0):.2f}s; "
            f"posts on disk after each kill: {progress}; "
            f"temporary files seen after kills: {self.temp_left}; "
            f"last run exit {self.final_status} in {self.final_seconds:.1f}s"
        )


def kill_loop(
    command: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    archive: Path,
    points: int,
    window: tuple[float, float],
    rng: random.Random,
    logs: Path | None = None,
) -> KillReport:
    """Start ``command`` ``points`` times, each killed with SIGKILL after a delay drawn
    uniformly from ``window``; then once more to its end. Each run's output goes to
    ``logs/run-N.log`` when ``logs`` is given."""
    report = KillReport(points)
    for n in range(points):
        delay = rng.uniform(*window)
        report.delays.append(delay)
        log = (logs / f"run-{n:02d}.log").open("wb") if logs else subprocess.DEVNULL
        proc = subprocess.Popen(command, env=dict(env), cwd=cwd, stdout=log, stderr=log)
        try:
            proc.wait(timeout=delay)
            report.finished_first += 1
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            report.killed += 1
        finally:
            if logs:
                log.close()  # type: ignore[union-attr]
        report.written_at_kill.append(sum(1 for _ in archive.rglob("*.md")))
        report.temp_left += sum(1 for _ in archive.rglob(".tmp-*"))
    started = time.monotonic()
    final = subprocess.run(
        command, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    report.final_seconds = time.monotonic() - started
    report.final_status = final.returncode
    report.final_output = final.stdout + final.stderr
    return report


def assert_whole(archive: Path, state: Path, urls: list[str]) -> None:
    """Every article exactly once and whole; no temporary or other stray file; the
    state intact and agreeing with the archive."""
    strays = [p for p in archive.rglob("*") if p.name.startswith(".")]
    assert not strays, f"temporary files left: {strays}"
    posts = check_archive(archive)  # whole files, each URL once
    missing = sorted(set(urls) - set(posts))
    sql = "SELECT url, status, attempts, last_error FROM entries WHERE url IN (%s)"
    rows = state_rows(state, sql % ", ".join("?" * len(missing[:5])), missing[:5])
    assert not missing, f"{len(missing)} missing; the state says: {rows}"
    assert set(posts) == set(urls)
    assert integrity(state) == "ok"
    rows = state_rows(state, "SELECT url, status, path FROM entries WHERE source = 'crash'")
    assert len(rows) == len(urls)
    for url, status, path in rows:
        assert status == "done", (url, status)
        assert posts[url].path == archive / path, (url, path)


def assert_captured(folder: Path, state: Path, urls: list[str]) -> None:
    """With ``captures: warc``: every post made from a capture the state points at,
    of its own URL; every capture file whole (no torn record) and passing
    ``warcio check``."""
    rows = state_rows(
        state,
        "SELECT url, capture, capture_offset, capture_length FROM entries WHERE source = 'crash'",
    )
    assert {row[0] for row in rows} == set(urls)
    files = set()
    for url, file, offset, length in rows:
        assert file is not None, f"{url}: done without a capture"
        back = read_capture(folder, CaptureRef(file, offset, length))
        assert back.url == url and back.status == 200, (url, back.url, back.status)
        files.add(folder / file)
    for path in files:
        assert whole_members_end(path) == path.stat().st_size, f"{path}: a torn record"
        check = subprocess.run(
            [sys.executable, "-m", "warcio.cli", "check", str(path)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
