"""Extraction off the event loop: a pool of worker processes, one per core.

Extracting a page is pure CPU work (parse, score, clean): in the event loop's
thread it would stop every download meanwhile, and the GIL keeps threads from
using a second core. So once a run has had ``inline_first`` pages to extract, the
rest go to worker processes. The first few stay inline because starting workers
costs more than a cron run with three new articles saves.

Workers are spawned (never forked: a fork would inherit the state lock's file
descriptor and keep it locked after a ``kill -9`` of the scraper), ignore SIGINT
and SIGTERM (the scraper stops them once its articles are finished), and exit
on their own within a second of the scraper's death. If a worker dies, the pages
the pool held are extracted inline instead and the next page starts a new pool.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import tzinfo
from typing import Any

from scraper.extract import Rule, extract_article
from scraper.logs import log_event
from scraper.types import Extracted

log = logging.getLogger("scraper.extract_pool")

INLINE_FIRST = 16
SWITCH_INTERVAL = 0.0005  # seconds
ORPHAN_CHECK_SECONDS = 0.5


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _start_worker(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    """A ``kill -9`` of the scraper closes no pipe here (a worker holds both ends of
    its queue), so a worker would wait for work forever: it looks for its parent."""
    while True:
        time.sleep(ORPHAN_CHECK_SECONDS)
        if os.getppid() != parent:
            os._exit(0)


@functools.lru_cache(maxsize=64)
def _rule(pickled: bytes) -> Rule:
    rule = pickle.loads(pickled)
    assert isinstance(rule, Rule)
    return rule


def _extract_in_worker(
    html: str | bytes,
    url: str,
    *,
    rule: bytes | None,
    feed_content: str | None,
    feed_title: str | None,
    default_tz: tzinfo,
) -> Extracted:
    return extract_article(
        html,
        url,
        rule=_rule(rule) if rule is not None else None,
        feed_content=feed_content,
        feed_title=feed_title,
        default_tz=default_tz,
    )


class ExtractPool:
    """``extract_article``, awaited; in worker processes once there is enough work.

    ``workers`` 0 extracts everything inline (in the caller's thread)."""

    def __init__(self, workers: int | None = None, *, inline_first: int = INLINE_FIRST) -> None:
        self.workers = default_workers() if workers is None else workers
        self.inline_first = inline_first
        self._pool: ProcessPoolExecutor | None = None
        self._calls = 0
        self._rules: dict[int, tuple[Rule, bytes]] = {}  # id → the rule (kept alive), pickled

    @property
    def started(self) -> bool:
        return self._pool is not None

    async def extract(
        self,
        html: str | bytes | None,
        url: str,
        *,
        rule: Rule | None,
        feed_content: str | None,
        feed_title: str | None,
        default_tz: tzinfo,
    ) -> Extracted:
        self._calls += 1
        if html is None or self.workers < 1 or self._calls <= self.inline_first:
            return extract_article(
                html,
                url,
                rule=rule,
                feed_content=feed_content,
                feed_title=feed_title,
                default_tz=default_tz,
            )
        pool = self._pool or self._start()
        args: dict[str, Any] = {
            "rule": self._pickled(rule),
            "feed_content": feed_content,
            "feed_title": feed_title,
            "default_tz": default_tz,
        }
        try:
            return await asyncio.wrap_future(pool.submit(_extract_in_worker, html, url, **args))
        except BrokenProcessPool as exc:
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
                log_event(log, "extract.pool_broken", logging.WARNING, reason=str(exc), url=url)
            return _extract_in_worker(html, url, **args)

    def _pickled(self, rule: Rule | None) -> bytes | None:
        if rule is None:
            return None
        known = self._rules.get(id(rule))
        if known is None or known[0] is not rule:
            known = self._rules[id(rule)] = (rule, pickle.dumps(rule))
        return known[1]

    def _start(self) -> ProcessPoolExecutor:
        # The pool's feeder and result threads need the GIL for a moment per page;
        # at the default 5 ms switch interval they wait on the busy event loop, and
        # the workers on them.
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        return self._pool

    def close(self) -> None:
        """Stops the workers once the extractions under way are done."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
