"""One poll's outcome written at once (``State.apply``), in-process against the
loopback site: how many write transactions a poll makes, and that a poll broken
off still marks done what it wrote."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import Project
from newsfixtures import article_page, make_story, rss2

from scraper.config import Settings, load_settings
from scraper.pipeline import run_source
from scraper.render import text_digest
from scraper.state import State
from scraper.types import SourceResult
from scraper.wiring import open_deps

T0 = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
FEED = "https://news.example.test/rss.xml"


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The write transactions (``BEGIN IMMEDIATE``) of every SQLite connection
    opened from now on, as they begin."""
    begun: list[str] = []
    connect = sqlite3.connect

    def counted(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)
        connection.set_trace_callback(
            lambda sql: begun.append(sql) if sql.startswith("BEGIN IMMEDIATE") else None
        )
        return connection

    monkeypatch.setattr(sqlite3, "connect", counted)
    yield begun


def _settings(project: Project, count: int, **page: Any) -> Settings:
    stories = [make_story("https://news.example.test", n, T0) for n in range(count)]
    for story in stories:
        project.site.add(story.url, article_page(story), **page)
    project.site.add(
        FEED, rss2(stories), content_type="application/rss+xml", headers={"ETag": '"v1"'}
    )
    config = project.write_config([{"name": "rss", "url": FEED}], extract_workers=0)
    return load_settings(config)


def _poll(settings: Settings, counted: list[str]) -> SourceResult:
    """One poll; ``counted`` holds the write transactions of the poll alone (not
    of opening the state)."""

    async def go() -> SourceResult:
        async with open_deps(settings) as deps:
            counted.clear()
            return await run_source(deps, settings.sources[0], T0)

    return asyncio.run(go())


def test_a_poll_writes_its_entries_in_two_transactions_and_a_304_in_one(
    project: Project, writes: list[str]
) -> None:
    """Six new articles: one write notes them as first seen before they are fetched,
    one writes the outcome after every file is on disk. Polled again, unchanged
    (304): the outcome alone."""
    settings = _settings(project, 6)
    first = _poll(settings, writes)
    assert (first.new, first.failed, first.error) == (6, (), None)
    assert len(writes) == 2, writes
    with State(settings.state_target) as state:
        posts = state.posts(["rss"])
        assert len(posts) == 6 and all(p.digest for p in posts)
        assert state.validators("rss", FEED).etag == '"v1"'
    project.site.add(FEED, b"", status=304, headers={"ETag": '"v1"'})
    again = _poll(settings, writes)
    assert again.not_modified and again.new == 0
    assert len(writes) == 1, writes


def test_a_poll_broken_off_still_marks_done_what_it_wrote(project: Project) -> None:
    """The entries are marked with the poll's outcome, at its end; a poll cancelled
    midway (or broken by a bug) marks done, with each post's digest, the posts it
    had written, and nothing else."""
    settings = _settings(project, 1)
    late = make_story("https://news.example.test", 9, T0)
    project.site.add(late.url, article_page(late), delay=3)
    stories = [make_story("https://news.example.test", 0, T0), late]
    project.site.add(FEED, rss2(stories), content_type="application/rss+xml")

    async def cancelled_midway() -> None:
        async with open_deps(settings) as deps:
            poll = asyncio.create_task(run_source(deps, settings.sources[0], T0))
            for _ in range(200):
                if project.posts():
                    break
                await asyncio.sleep(0.05)
            poll.cancel()
            with pytest.raises(asyncio.CancelledError):
                await poll

    asyncio.run(cancelled_midway())
    [written] = project.posts()
    with State(settings.state_target) as state:
        [post] = state.posts(["rss"])
        assert post.url == stories[0].url
        assert post.digest == text_digest(written.read_text("utf-8"))
        assert state.entries("rss", [late.url])[late.url].status == "seen"
        assert state.health("rss").last_success is None  # the poll itself never ended
