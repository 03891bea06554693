"""The daemon, as a real process, against the loopback site."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import Project, clean_env
from newsfixtures import article_page, make_story, rss2
from servicetools import wait_for

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FEED = "https://news.example.test/rss.xml"


def start_daemon(project: Project) -> subprocess.Popen[str]:
    return project.start("run")


def stop(proc: subprocess.Popen[str]) -> tuple[int, float, str]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, time.monotonic() - started, err


def no_temp_files(root: Path) -> bool:
    return not list(root.rglob(".tmp-*"))


def test_daemon_picks_up_new_items_within_the_interval_and_stops_cleanly(
    project: Project,
) -> None:
    stories = [
        make_story("https://news.example.test", n, T0 + timedelta(minutes=n)) for n in (1, 2, 3)
    ]
    for s in stories:
        project.site.add(s.url, article_page(s))
    project.site.add(FEED, rss2(stories[:2]), content_type="application/rss+xml")
    project.write_config([{"name": "rss", "url": FEED, "interval": "2s"}])

    proc = start_daemon(project)
    try:
        assert wait_for(lambda: len(project.posts()) == 2, 20), "first poll wrote nothing"
        project.site.add(FEED, rss2(stories), content_type="application/rss+xml")
        added = time.monotonic()
        assert wait_for(lambda: len(project.posts()) == 3, 10), "new item not picked up"
        # interval 2 s plus up to 10 % jitter, plus the fetch itself
        assert time.monotonic() - added < 6
        heartbeat = project.state.with_name(project.state.name + ".heartbeat")
        assert heartbeat.exists()
        health = subprocess.run(
            project.command("healthcheck"),
            capture_output=True,
            text=True,
            env=clean_env(),
            check=False,
        )
        assert health.returncode == 0, health.stdout
    finally:
        code, took, err = stop(proc)
    assert code == 0, err
    assert took < 10
    assert "daemon.stopped" in err
    assert no_temp_files(project.archive)


def test_sigterm_with_articles_in_flight_exits_0_without_partial_files(
    project: Project,
) -> None:
    stories = [make_story("https://news.example.test", n, T0) for n in range(1, 7)]
    for s in stories:
        project.site.add(s.url, article_page(s), delay=2.0)  # slow pages
    project.site.add(FEED, rss2(stories), content_type="application/rss+xml")
    project.write_config([{"name": "rss", "url": FEED, "interval": "1h"}], http={"max_per_host": 2})

    proc = start_daemon(project)
    try:
        assert wait_for(lambda: len(project.site.hits("/news/2026/")) >= 1, 15)
    finally:
        code, took, err = stop(proc)
    assert code == 0, err
    assert took < 10
    assert no_temp_files(project.archive)
    # the articles in flight got their grace: finished, not cancelled
    assert project.posts(), err
    assert "raised an exception" not in err and "Traceback" not in err, err
    for post in project.posts():  # whatever was written is whole
        assert post.read_text(encoding="utf-8").endswith("</div>\n")
    # What was not finished is picked up by the next run, once.
    result = project.scrape("--once")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(project.posts()) == 6
    urls = [
        p.read_text(encoding="utf-8").split("\nfrom: ")[1].split("\n")[0] for p in project.posts()
    ]
    assert sorted(urls) == sorted(s.url for s in stories)


def test_second_run_on_the_same_state_is_refused_with_a_clear_message(
    project: Project,
) -> None:
    stories = [make_story("https://news.example.test", 1, T0)]
    project.site.add(stories[0].url, article_page(stories[0]))
    project.site.add(FEED, rss2(stories), content_type="application/rss+xml")
    project.write_config([{"name": "rss", "url": FEED, "interval": "1h"}])
    proc = start_daemon(project)
    try:
        assert wait_for(lambda: len(project.posts()) == 1, 20)
        result = project.scrape("--once")
        assert result.returncode == 1
        assert "already running" in result.stderr
        assert str(proc.pid) in result.stderr
    finally:
        code, _, err = stop(proc)
    assert code == 0, err
