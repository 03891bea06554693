"""What a poll needs, in one frozen record; the edges (HTTP, disk, SQLite, clock)
are swappable. And how a poll calls the state: inline (``StateCalls``), or in a
thread of the state's own (``StateThread``, for ``scrape worker``)."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, ParamSpec, TypeVar

from scraper.archive import Archive
from scraper.captures import WarcCaptures
from scraper.config import Settings
from scraper.extract.rules import RuleSet
from scraper.extract_pool import ExtractPool
from scraper.http import Fetcher, PageGate
from scraper.images import ImageLocaliser
from scraper.observer import Observer
from scraper.state import State

P = ParamSpec("P")
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class StateCalls:
    """How a poll calls the state: ``await deps.call_state(deps.state.apply, outcome)``.
    Here inline, on the caller's thread, as the daemon and ``--once`` call their
    SQLite file (local: a call takes less than a thread's hand-over would)."""

    cpu = 0.0  # CPU seconds of the calls run on another thread (none here)

    async def __call__(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return call(*args, **kwargs)

    def close(self) -> None:
        """Nothing to let go."""


class StateThread(StateCalls):
    """Each call on one thread of its own, one call at a time, in the order given
    (``scrape worker``, its state in PostgreSQL): a server gone silent holds the
    polls that wait for the state, not the event loop (the other polls' HTTP,
    /metrics, /readyz, procrastinate's heartbeats).

    One thread on the state's one connection, rather than a pool of connections:
    a silent server stalls every connection to it alike; a poll's calls are a few
    round trips, well within one connection's pace at a cluster's rates; a
    connection per concurrent poll (32 and more in each worker) would soon pass
    PostgreSQL's default of 100 connections; and the calls that wait queue here
    as work, not as blocked threads of the default executor, which the polls'
    parsing and archive writes share. Nothing else may use the connection
    meanwhile: every call on it comes through here (``/readyz``'s ping too).

    A queue and a thread rather than ``run_in_executor``: a third to a half less
    CPU a call (its futures and callbacks), and a call is given to the state even
    when its caller was cancelled meanwhile (a poll cut short still records what
    it wrote)."""

    def __init__(self) -> None:
        self.cpu = 0.0  # the thread's, all of it: written by the thread alone
        self._calls: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="scraper-state", daemon=True)
        self._thread.start()

    async def __call__(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        self._calls.put((loop, answer, partial(call, *args, **kwargs)))
        return await answer

    def _serve(self) -> None:
        while (item := self._calls.get()) is not None:
            loop, answer, call = item
            outcome: tuple[Any, BaseException | None]
            try:
                outcome = (call(), None)
            except BaseException as exc:  # the caller's to see, as if called inline
                outcome = (None, exc)
            self.cpu = time.thread_time()
            with contextlib.suppress(RuntimeError):  # its loop closed meanwhile
                loop.call_soon_threadsafe(_settle, answer, *outcome)

    def close(self) -> None:
        """Waits for the calls given so far, then ends the thread."""
        self._calls.put(None)
        self._thread.join()


def _settle(answer: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if answer.cancelled():
        return
    if error is None:
        answer.set_result(result)
    else:
        answer.set_exception(error)


@dataclass(frozen=True)
class Deps:
    """Everything a poll needs; the edges (HTTP, disk, SQLite, clock) are swappable.
    Frozen: a reload builds a new one (``dataclasses.replace``), so a poll under way
    keeps the settings and rules it began with. (The maps and sets inside are the
    run's shared bookkeeping, and change.)"""

    settings: Settings
    fetcher: Fetcher
    state: State
    archive: Archive
    rules: RuleSet
    clock: Callable[[], datetime] = utc_now
    rng: Callable[[], float] = random.random
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    archived: dict[str, str] = field(default_factory=dict)  # URL → relpath, from the archive
    in_progress: set[str] = field(default_factory=set)  # URLs being fetched right now
    observer: Observer = field(default_factory=Observer)  # metrics, progress: no-op by default
    images: ImageLocaliser | None = None  # set when images: download
    captures: WarcCaptures | None = None  # set when captures: warc
    # extraction: inline by default; the wiring gives a pool of worker processes
    extractor: ExtractPool = field(default_factory=lambda: ExtractPool(0))
    pages: PageGate | None = None  # bounds the article pages held in memory at once
    call_state: StateCalls = field(default_factory=StateCalls)  # how state calls run
