"""The long-running scheduler: one APScheduler job per source.

Each job polls its source at the configured interval (with jitter), never two
runs of one source at once, missed runs coalesced. A failing source is backed
off: its job skips polls until the ``next_poll`` time the state holds (growing
exponentially, capped at 6 h). SIGTERM/SIGINT: take no new work, let the
articles in flight finish for up to ``grace`` seconds, then stop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from scraper.config import Settings, SourceConfig
from scraper.logs import log_event
from scraper.pipeline import Deps, run_source
from scraper.runner import open_deps, select_sources

log = logging.getLogger("scraper.daemon")

HEARTBEAT_SECONDS = 30


def heartbeat_path(settings: Settings) -> Path:
    return settings.state_path.with_name(settings.state_path.name + ".heartbeat")


def heartbeat_age(settings: Settings, now: float) -> float | None:
    """Seconds since the daemon's last heartbeat, None when it never beat."""
    try:
        return now - heartbeat_path(settings).stat().st_mtime
    except OSError:
        return None


class Daemon:
    def __init__(self, settings: Settings, deps: Deps, *, grace: float = 8.0) -> None:
        self.settings = settings
        self.deps = deps
        self.grace = grace
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.inflight: set[asyncio.Task[object]] = set()
        self.stopped = asyncio.Event()

    def schedule(self, sources: list[SourceConfig]) -> None:
        now = datetime.now(UTC)
        for i, source in enumerate(sources):
            self.scheduler.add_job(
                self.poll,
                IntervalTrigger(seconds=source.interval, jitter=min(source.interval * 0.1, 60)),
                args=[source],
                id=source.name,
                name=source.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(source.interval)),
                # Spread the first polls a little so hosts are not hit at once.
                next_run_time=now + timedelta(milliseconds=50 * i),
            )

    async def poll(self, source: SourceConfig) -> None:
        if self.deps.stopping.is_set():
            return
        health = self.deps.state.health(source.name)
        now = self.deps.clock()
        if health.consecutive_failures and health.next_poll and now < health.next_poll:
            log_event(
                log,
                "source.backing_off",
                logging.DEBUG,
                source=source.name,
                until=health.next_poll.isoformat(),
            )
            return
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
        try:
            await run_source(self.deps, source)
        except asyncio.CancelledError:
            log_event(log, "source.interrupted", source=source.name)
            raise
        finally:
            if task is not None:
                self.inflight.discard(task)

    def heartbeat(self) -> None:
        """Touch the heartbeat file that ``scrape healthcheck`` reads."""
        path = heartbeat_path(self.settings)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(datetime.now(UTC).isoformat(), encoding="ascii")
        except OSError as exc:
            log_event(log, "daemon.heartbeat_failed", logging.WARNING, reason=str(exc))

    def stop(self, signame: str = "") -> None:
        if self.deps.stopping.is_set():
            return
        log_event(log, "daemon.stopping", signal=signame or None, inflight=len(self.inflight))
        self.deps.stopping.set()
        self.stopped.set()

    async def run(self, sources: list[SourceConfig]) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, sig.name)
        self.schedule(sources)
        self.scheduler.add_job(
            self.heartbeat,
            IntervalTrigger(seconds=HEARTBEAT_SECONDS),
            id="heartbeat",
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.start()
        log_event(log, "daemon.started", sources=len(sources))
        await self.stopped.wait()
        self.scheduler.shutdown(wait=False)
        if self.inflight:
            _, pending = await asyncio.wait(set(self.inflight), timeout=self.grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        log_event(log, "daemon.stopped")
        return 0


async def run_daemon(settings: Settings, names: list[str]) -> int:
    sources = select_sources(settings, names)
    async with open_deps(settings) as deps:
        return await Daemon(settings, deps).run(sources)
