"""Config reload on SIGHUP: the plan (pure) and the real daemon process."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from conftest import Project
from newsfixtures import article_page, make_story, rss2
from servicetools import RunningDaemon, free_port, metric, wait_for

from scraper.config import settings_from_dict
from scraper.extract.rules import load_rules
from scraper.reload import diff_sources, plan_reload

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FEED_A = "https://a.example.test/rss.xml"
FEED_B = "https://b.example.test/rss.xml"


def test_plan_adds_removes_changes_and_names_what_needs_a_restart() -> None:
    old = settings_from_dict(
        {
            "sources": [
                {"name": "a", "url": FEED_A},
                {"name": "b", "url": FEED_B, "interval": "10m"},
                {"name": "c", "url": FEED_B, "enabled": False},
            ]
        },
        Path("/srv"),
    )
    new = settings_from_dict(
        {
            "max_attempts": 9,
            "http": {"timeout": "3s"},
            "archive_dir": "elsewhere",
            "extract_workers": 1,
            "sources": [
                {"name": "b", "url": FEED_B, "interval": "1m"},
                {"name": "d", "url": FEED_A},
                {"name": "c", "url": FEED_B, "enabled": True},
            ],
        },
        Path("/srv"),
    )
    running = [s for s in old.sources if s.enabled]
    plan = plan_reload(old, running, new, load_rules(None))
    assert plan.added == ("d", "c")
    assert plan.removed == ("a",)
    assert plan.changed == ("b",)
    assert [s.name for s in plan.sources] == ["b", "d", "c"]
    assert set(plan.needs_restart) == {"http", "archive_dir", "extract_workers"}
    assert plan.settings.max_attempts == 9  # applies at once
    assert plan.settings.http == old.http  # kept until a restart
    assert plan.settings.archive_dir == old.archive_dir


def test_plan_with_source_filter_and_nothing_changed() -> None:
    conf = settings_from_dict(
        {"sources": [{"name": "a", "url": FEED_A}, {"name": "b", "url": FEED_B}]}, Path("/srv")
    )
    plan = plan_reload(conf, [conf.sources[0]], conf, load_rules(None), names=["a"])
    assert (plan.added, plan.removed, plan.changed, plan.needs_restart) == ((), (), (), ())
    assert diff_sources(conf.sources, conf.sources) == ((), (), ())


def test_sighup_reloads_sources_keeps_work_in_flight_and_refuses_a_bad_config(
    project: Project,
) -> None:
    a_stories = [make_story("https://a.example.test", n, T0 + timedelta(minutes=n)) for n in (1, 2)]
    b_stories = [make_story("https://b.example.test", n, T0 + timedelta(minutes=n)) for n in (3, 4)]
    for s in a_stories:
        project.site.add(s.url, article_page(s), delay=1.5)  # slow: still in flight at SIGHUP
    for s in b_stories:
        project.site.add(s.url, article_page(s))
    project.site.add(FEED_A, rss2(a_stories), content_type="application/rss+xml")
    project.site.add(FEED_B, rss2(b_stories[:1]), content_type="application/rss+xml")
    port = free_port()
    service = {"enabled": True, "port": port}
    project.write_config([{"name": "a", "url": FEED_A, "interval": "2s"}], service=service)
    daemon = RunningDaemon(project)
    pid = daemon.proc.pid
    try:
        assert wait_for(lambda: len(project.site.hits("/news/2026/")) >= 1, 20), daemon.logs()
        # Remove a (its articles are being fetched) and add b.
        project.write_config([{"name": "b", "url": FEED_B, "interval": "1h"}], service=service)
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: "daemon.reloaded" in daemon.logs(), 10), daemon.logs()
        reloaded_at = time.monotonic()
        polls_of_a = len(project.site.hits("/rss.xml"))  # b's first poll may follow
        assert wait_for(lambda: len(project.posts()) == 3, 20), daemon.logs()
        texts = "".join(p.read_text(encoding="utf-8") for p in project.posts())
        for s in [*a_stories, b_stories[0]]:
            assert s.paragraphs[-1] in texts, f"{s.url} lost"
        reloaded = next(line for line in daemon.logs().splitlines() if "daemon.reloaded" in line)
        assert "added=" in reloaded and "b" in reloaded and "removed=" in reloaded

        # A bad config is refused; the daemon goes on with the one it has.
        project.config.write_text("sources:\n  - name: b\n    interval: soon\n", encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: "daemon.reload_failed" in daemon.logs(), 10), daemon.logs()
        assert "sources[0].interval" in daemon.logs()
        with httpx.Client(trust_env=False, timeout=5) as client:
            ready = client.get(f"http://127.0.0.1:{port}/readyz")
            assert ready.status_code == 200
            assert "reload was refused" in ready.json()["checks"]["config"]["detail"]
            text = client.get(f"http://127.0.0.1:{port}/metrics").text
        assert metric(text, "scraper_config_reloads_total", outcome="ok") == 1
        assert metric(text, "scraper_config_reloads_total", outcome="failed") == 1

        # Changing b's interval reschedules it: a new item arrives within seconds.
        project.site.add(FEED_B, rss2(b_stories), content_type="application/rss+xml")
        project.write_config([{"name": "b", "url": FEED_B, "interval": "1s"}], service=service)
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: len(project.posts()) == 4, 15), daemon.logs()
        time.sleep(max(0.0, reloaded_at + 4 - time.monotonic()))  # two of a's old intervals
        later = project.site.hits("/rss.xml")[polls_of_a:]
        assert later and not [r for r in later if r.host.startswith("a.")], "a still polled"
        assert daemon.proc.poll() is None and daemon.proc.pid == pid
    finally:
        code = daemon.stop()
    assert code == 0, daemon.logs()
    assert os.path.exists(project.state)
