"""``scrape --once`` as a cron job and at a terminal: progress line on a TTY,
plain log lines elsewhere, ``--quiet``, exit status; and ``scrape status``."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from html import escape

from conftest import Project, clean_env
from newsfixtures import Story, article_page, make_story, rss2

from scraper.decide import EntryRecord
from scraper.once import summary
from scraper.progress import Progress, display_width, fit
from scraper.status import SourceStatus, as_json, format_text
from scraper.types import EntryFailure, SourceResult

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FEED = "https://news.example.test/rss.xml"
DOWN = "https://down.example.test/rss.xml"


def two_sources(project: Project, *, down: bool = True) -> None:
    stories = [
        make_story("https://news.example.test", n, T0 + timedelta(minutes=n)) for n in (1, 2)
    ]
    for s in stories:
        project.site.add(s.url, article_page(s))
    project.site.add(FEED, rss2(stories), content_type="application/rss+xml")
    project.site.add(DOWN, "gone", status=410 if down else 200, content_type="text/plain")
    sources = [{"name": "rss", "url": FEED}]
    if down:
        sources.append({"name": "down", "url": DOWN})
    project.write_config(sources)


def run_in_terminal(project: Project, *args: str) -> tuple[int, str, str]:
    """The CLI with stderr on a pseudo-terminal (as at a shell), stdout on a pipe."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        project.command(*args),
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**clean_env(), "COLUMNS": "200"},
        cwd=project.root,
    )
    os.close(slave)
    seen = bytearray()
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError(f"no output for 60 s: {seen!r}")
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    proc.stdout.close()
    return proc.wait(timeout=60), out, seen.decode("utf-8", "replace")


def test_at_a_terminal_a_progress_line_replaces_the_info_log_lines(project: Project) -> None:
    two_sources(project)
    code, out, terminal = run_in_terminal(project, "--once")
    assert code == 1  # one source failed
    assert "\r\x1b[K" in terminal  # the line is redrawn in place
    assert "scrape: 2/2 sources · 2 articles written · 1 error" in terminal
    assert "polling " in terminal
    assert "article.written" not in terminal  # info lines stay out of the way
    assert "source.failed" in terminal and "HTTP 410" in terminal  # warnings still show
    assert terminal.rstrip().endswith("scrape: 2/2 sources · 2 articles written · 1 error")
    assert "2 sources, 2 new articles, 1 with failures" in out


def test_at_a_terminal_log_level_asks_for_the_info_lines_too(project: Project) -> None:
    two_sources(project, down=False)
    code, _, terminal = run_in_terminal(project, "--once", "--log-level", "info")
    assert code == 0
    assert "article.written" in terminal
    assert "scrape: 1/1 source · 2 articles written · 0 errors" in terminal


def test_not_at_a_terminal_plain_log_lines(project: Project) -> None:
    two_sources(project)
    result = project.scrape("--once")
    assert result.returncode == 1
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    assert result.stderr.count("article.written") == 2
    assert "source.failed" in result.stderr
    assert "rss   new 2, unchanged 0, failed 0" in result.stdout
    assert "down  FAILED:" in result.stdout


def test_quiet_prints_only_failures_and_the_total(project: Project) -> None:
    two_sources(project)
    result = project.scrape("--once", "--quiet")
    assert result.returncode == 1
    assert result.stderr == ""  # warnings are in the summary; no error-level events here
    lines = result.stdout.splitlines()
    assert lines[0].startswith("down  FAILED: ") and "HTTP 410" in lines[0]
    assert lines[-1] == "2 sources, 2 new articles, 1 with failures"
    assert not any(line.startswith("rss") for line in lines)
    again = project.scrape("run", "--once", "-q", "--source", "rss")
    assert again.returncode == 0
    assert again.stdout == "1 source, 0 new articles, 0 with failures\n"


def test_summary_counts_in_the_singular_and_says_not_modified() -> None:
    one = summary([SourceResult(source="a", new=1)])
    assert one.splitlines()[-1] == "1 source, 1 new article, 0 with failures"
    results = [
        SourceResult(source="feed", not_modified=True),
        SourceResult(
            source="retry",
            new=1,
            failed=(EntryFailure("https://x.test/2", "HTTP 500"),),
            not_modified=True,
        ),
        SourceResult(source="page", new=2, unchanged=3),
    ]
    lines = summary(results).splitlines()
    assert lines[0] == "feed   not modified"
    assert lines[1] == "retry  not modified; retried: new 1, failed 1"
    assert lines[3] == "page   new 2, unchanged 3, failed 0"
    assert lines[-1] == "3 sources, 3 new articles, 1 with failures"


def test_a_feed_that_answers_304_is_reported_not_modified(project: Project) -> None:
    story = make_story("https://news.example.test", 1, T0)
    project.site.add(story.url, article_page(story))
    project.site.add(
        FEED, rss2([story]), content_type="application/rss+xml", headers={"ETag": '"v1"'}
    )
    project.write_config([{"name": "rss", "url": FEED}])
    first = project.scrape("--once")
    assert "rss  new 1, unchanged 0, failed 0" in first.stdout, first.stdout
    second = project.scrape("--once")
    assert second.returncode == 0, second.stderr
    assert project.site.hits("/rss.xml")[-1].headers.get("If-None-Match") == '"v1"'
    assert second.stdout.splitlines()[0] == "rss  not modified"
    assert "new 0, unchanged 0" not in second.stdout


def test_exit_status_config_error_is_2(project: Project) -> None:
    project.config.write_text("sources: [{name: x}]\n", encoding="utf-8")
    result = project.scrape("--once", "--quiet")
    assert result.returncode == 2
    assert "sources[0].url" in result.stderr


def test_progress_line_counts_and_fits_the_terminal() -> None:
    stream = io.StringIO()
    ticks = iter(range(1000))
    progress = Progress(stream, total=3, clock=lambda: next(ticks) / 100)  # 10 ms apart
    progress.source_started("联合早报-china")
    progress.article_written("联合早报-china", method="rule:zaobao", duration=0.1)
    progress.article_failed("联合早报-china", reason="HTTP 500")
    progress.source_finished(
        SourceResult(source="联合早报-china", error="boom"),
        duration=1.0,
        last_success=None,
        consecutive_failures=1,
    )
    assert progress.line() == "scrape: 1/3 sources · 1 article written · 2 errors"
    # source events always redraw; article events 10 ms later are throttled
    assert stream.getvalue().count("\r\x1b[K") == 2
    assert fit("联合早报" * 10, 9) == "联合早报…"
    assert display_width(fit("联合早报" * 10, 9)) <= 9
    assert fit("short", 9) == "short"


def test_status_before_and_after_runs(project: Project) -> None:
    two_sources(project)
    before = project.scrape("status")
    assert before.returncode == 0, before.stderr
    assert "rss  not polled yet" in before.stdout
    assert "next poll     when the daemon starts" in before.stdout
    assert not project.state.exists()  # reading never creates the state

    project.scrape("--once")
    # A source the state knows that has left the config is still reported.
    project.write_config(
        [{"name": "rss", "url": FEED}, {"name": "off", "url": FEED, "enabled": False}]
    )
    text = project.scrape("status")
    assert text.returncode == 0, text.stderr
    blocks = {b.split("  ", 1)[0]: b for b in text.stdout.split("\n\n")}
    assert set(blocks) == {"rss", "off", "down"}
    assert blocks["rss"].startswith("rss  ok")
    assert "articles      2" in blocks["rss"]
    assert re.search(r"next poll     20\d\d-\d\d-\d\d [\d:]+Z \(in (9|10|11)m\)", blocks["rss"])
    assert blocks["down"].startswith("down  not in the config")
    assert "HTTP 410 Gone" in blocks["down"]
    assert blocks["off"].startswith("off  disabled")

    doc = json.loads(project.scrape("status", "--json").stdout)
    rows = {row["name"]: row for row in doc["sources"]}
    assert rows["rss"]["articles"] == 2 and rows["rss"]["consecutive_failures"] == 0
    assert rows["rss"]["last_success"].endswith("Z")
    assert datetime.fromisoformat(rows["rss"]["next_poll"]) > datetime.now(UTC)
    assert rows["down"]["configured"] is False
    assert rows["down"]["consecutive_failures"] == 1
    assert "HTTP 410" in rows["down"]["last_error"]
    assert rows["down"]["last_success"] is None
    assert rows["off"] == {
        "name": "off",
        "configured": True,
        "enabled": False,
        "last_success": None,
        "last_error": None,
        "last_error_at": None,
        "consecutive_failures": 0,
        "articles": 0,
        "next_poll": None,
        "overdue": False,
        "failed_articles": [],
    }
    assert rows["rss"]["overdue"] is False  # its next poll is ahead


def test_an_article_failing_max_attempts_times_is_given_up_and_said_so(project: Project) -> None:
    good, bad = (
        make_story("https://news.example.test", n, T0 + timedelta(minutes=n)) for n in (1, 2)
    )
    project.site.add(good.url, article_page(good))
    project.site.add(bad.url, "server trouble", status=500, content_type="text/plain")
    feed = rss2([good, bad]).replace(escape(f"<p>{bad.paragraphs[0]}</p>"), "")
    project.site.add(FEED, feed, content_type="application/rss+xml")  # (no content to fall back on)
    project.write_config([{"name": "rss", "url": FEED}], max_attempts=2)
    bad_path = bad.url.split("news.example.test", 1)[1]

    first = project.scrape("--once")
    status = project.scrape("status").stdout
    assert "  failed        1 article\n" in status  # not given up yet
    assert f"    {bad.url}  HTTP 500" in status and "(1 try, " in status
    assert ", next try at the next poll)" in status
    second = project.scrape("--once")
    assert first.returncode == second.returncode == 1
    assert "rss  new 1, unchanged 0, failed 1" in first.stdout
    assert "rss  new 0, unchanged 1, failed 1" in second.stdout
    tries = len(project.site.hits(bad_path))

    third = project.scrape("--once")
    assert third.returncode == 0  # reported twice already: cron stays quiet now
    assert "rss  new 0, unchanged 1, failed 0, given up 1" in third.stdout
    assert len(project.site.hits(bad_path)) == tries  # not asked for again
    assert '"gave_up": 1' in third.stderr or "gave_up=1" in third.stderr

    status = project.scrape("status").stdout
    assert "  failed        1 article, 1 given up" in status
    assert "(2 tries, " in status and " ago, given up)" in status
    doc = json.loads(project.scrape("status", "--json").stdout)
    [failed] = doc["sources"][0]["failed_articles"]
    assert failed["url"] == bad.url and failed["attempts"] == 2 and failed["given_up"] is True
    assert failed["last_error"].startswith("HTTP 500") and failed["last_try"].endswith("Z")
    assert failed["next_try"] is None  # given up


def _polled(name: str, next_poll: datetime, *, enabled: bool = True) -> SourceStatus:
    return SourceStatus(
        source=name,
        configured=True,
        enabled=enabled,
        last_success=next_poll - timedelta(minutes=10),
        last_error=None,
        last_error_at=None,
        consecutive_failures=0,
        articles=1,
        next_poll=next_poll,
    )


def test_status_says_a_next_poll_that_has_passed_is_overdue() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    late = _polled("late", now - timedelta(minutes=22))
    ahead = _polled("ahead", now + timedelta(minutes=10))
    text = format_text([late, ahead], now)
    assert "  next poll     2026-11-27 11:38:00Z (overdue by 22m)" in text
    assert "  next poll     2026-11-27 12:10:00Z (in 10m)" in text
    assert "ago" not in text.split("next poll", 1)[1].splitlines()[0]
    rows = {r["name"]: r for r in json.loads(as_json([late, ahead], now))["sources"]}
    assert rows["late"]["overdue"] is True and rows["late"]["next_poll"] == "2026-11-27T11:38:00Z"
    assert rows["ahead"]["overdue"] is False
    # a disabled source is polled by nobody: its old next poll is not overdue
    off = _polled("off", now - timedelta(hours=3), enabled=False)
    assert "overdue" not in format_text([off], now)
    assert json.loads(as_json([off], now))["sources"][0]["overdue"] is False


def test_status_lists_the_latest_failed_articles_and_counts_the_rest() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    failed = tuple(
        EntryRecord("x", str(n), f"https://x.test/{n}", "failed", n, now, last_try=now)
        for n in range(1, 8)
    )
    row = SourceStatus(
        source="x",
        configured=True,
        enabled=True,
        last_success=now,
        last_error=None,
        last_error_at=None,
        consecutive_failures=0,
        articles=3,
        next_poll=None,
        failed=failed,
        max_attempts=5,
    )
    text = format_text([row], now)
    assert "  failed        7 articles, 3 given up" in text
    assert "https://x.test/5  no reason kept (5 tries, 0s ago, given up)" in text
    assert "https://x.test/2  no reason kept (2 tries, 0s ago, next try in 30m)" in text
    assert "https://x.test/1  no reason kept (1 try, 0s ago, next try at the next poll)" in text
    assert "https://x.test/6" not in text  # five shown, newest first as the state gives them
    assert "    … and 2 more (status --json lists them all)" in text


def _failing_feed(project: Project, *, max_attempts: int) -> tuple[Story, Story]:
    """A feed of two articles, the second's page answering 500 and the feed carrying
    no text of it to fall back on."""
    good, bad = (
        make_story("https://news.example.test", n, T0 + timedelta(minutes=n)) for n in (1, 2)
    )
    project.site.add(good.url, article_page(good))
    project.site.add(bad.url, "server trouble", status=500, content_type="text/plain")
    feed = rss2([good, bad]).replace(escape(f"<p>{bad.paragraphs[0]}</p>"), "")
    project.site.add(FEED, feed, content_type="application/rss+xml")
    project.write_config([{"name": "rss", "url": FEED}], max_attempts=max_attempts)
    return good, bad


def _age_failures(project: Project, by: timedelta) -> None:
    """Moves every failed try back in time, as if ``by`` had passed."""
    with sqlite3.connect(project.state) as db:
        for entry_id, updated in db.execute(
            "SELECT entry_id, updated FROM entries WHERE status = 'failed'"
        ).fetchall():
            earlier = (datetime.fromisoformat(updated) - by).isoformat(timespec="microseconds")
            db.execute("UPDATE entries SET updated = ? WHERE entry_id = ?", (earlier, entry_id))
    db.close()


def test_failed_articles_are_retried_later_even_off_the_listing(project: Project) -> None:
    good, bad = _failing_feed(project, max_attempts=5)
    path = bad.url.split("news.example.test", 1)[1]
    first, second = project.scrape("--once"), project.scrape("--once")
    assert "rss  new 1, unchanged 0, failed 1" in first.stdout
    assert "rss  new 0, unchanged 1, failed 1" in second.stdout  # the first retry: at once
    tries = len(project.site.hits(path))

    third = project.scrape("--once")  # the next one waits half an hour
    assert third.returncode == 0, third.stdout
    assert "rss  new 0, unchanged 1, failed 0, to retry 1" in third.stdout
    assert len(project.site.hits(path)) == tries
    [waiting] = json.loads(project.scrape("status", "--json").stdout)["sources"][0][
        "failed_articles"
    ]
    last, due = (datetime.fromisoformat(waiting[k]) for k in ("last_try", "next_try"))
    assert waiting["attempts"] == 2 and due - last == timedelta(minutes=30)

    # The article falls off the feed, and its page comes back.
    project.site.add(FEED, rss2([good]), content_type="application/rss+xml")
    project.site.add(bad.url, article_page(bad))
    _age_failures(project, timedelta(minutes=31))
    fourth = project.scrape("--once")
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    assert "rss  new 1, unchanged 1, failed 0" in fourth.stdout
    texts = [p.read_text(encoding="utf-8") for p in project.posts()]
    assert sum(f"from: {bad.url}" in t for t in texts) == 1
    assert any(bad.paragraphs[-1] in t for t in texts)


def test_retry_gives_given_up_articles_another_round(project: Project) -> None:
    _, bad = _failing_feed(project, max_attempts=1)
    path = bad.url.split("news.example.test", 1)[1]
    assert project.scrape("--once").returncode == 1
    tries = len(project.site.hits(path))
    project.site.add(bad.url, article_page(bad))  # the page is back
    later = project.scrape("--once")
    assert "given up 1" in later.stdout and len(project.site.hits(path)) == tries

    unknown = project.scrape("retry", "nope")
    assert unknown.returncode == 2 and "no source of that name" in unknown.stderr
    retry = project.scrape("retry", "rss")
    assert retry.returncode == 0, retry.stderr
    assert retry.stdout.strip() == "1 failed article of rss: tried again from the next poll"
    again = project.scrape("--once")  # the feed is as it was: not parsed, the retry made
    assert again.returncode == 0, again.stdout + again.stderr
    assert "rss  new 1, unchanged 0, failed 0" in again.stdout
    assert any(bad.paragraphs[-1] in p.read_text(encoding="utf-8") for p in project.posts())
    assert project.scrape("retry").stdout.startswith("0 failed articles of every source")


def test_a_failed_article_archived_meanwhile_is_not_tried_again(project: Project) -> None:
    good, bad = _failing_feed(project, max_attempts=5)
    path = bad.url.split("news.example.test", 1)[1]
    assert project.scrape("--once").returncode == 1
    tries = len(project.site.hits(path))
    project.site.add(FEED, rss2([good]), content_type="application/rss+xml")  # fell off
    by_hand = project.archive / "_posts" / "2026-11-20-by-hand.md"
    by_hand.write_text(f"---\ntitle: By hand\nfrom: {bad.url}\n---\n<div>\n<p>x</p>\n</div>\n")
    run = project.scrape("--once")
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(project.site.hits(path)) == tries
    assert "  failed  " not in project.scrape("status").stdout  # marked done, not failed


def test_due_polls_only_the_sources_whose_interval_or_backoff_has_passed(
    project: Project,
) -> None:
    two_sources(project)  # rss (10 min) and down (HTTP 410: backoff after it fails)
    assert project.scrape("--once").returncode == 1
    project.site.clear_requests()

    early = project.scrape("--once", "--due")
    assert early.returncode == 0, early.stdout + early.stderr  # nothing polled, nothing failed
    assert re.search(r"^rss   not due: next poll in (9|10|11|12)m$", early.stdout, re.M)
    assert re.search(r"^down  not due: next poll in (1[89]|2[0-3])m$", early.stdout, re.M)
    assert project.site.requests == []
    assert project.scrape("--once", "--due", "--quiet").stdout == ""

    with sqlite3.connect(project.state) as db:  # rss's interval has passed
        db.execute("UPDATE sources SET next_poll = '2020-01-01T00:00:00.000000+00:00'"
                   " WHERE source = 'rss'")  # fmt: skip
    db.close()
    later = project.scrape("--once", "--due")
    assert later.returncode == 0, later.stdout + later.stderr
    assert re.search(r"^down  not due", later.stdout, re.M)
    assert "rss  new 0, unchanged 0, failed 0" in later.stdout  # polled: the same feed
    assert "1 source, 0 new articles, 0 with failures" in later.stdout
    assert {r.path for r in project.site.requests} == {"/rss.xml"}

    alone = project.scrape("--due")
    assert alone.returncode == 2 and "--due: only with --once" in alone.stderr
