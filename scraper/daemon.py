"""The long-running scheduler: one APScheduler job per source.

Each job polls its source at the configured interval (with jitter), never two
runs of one source at once, missed runs coalesced. A failing source is backed
off: its job skips polls until the ``next_poll`` time the state holds (growing
exponentially, capped at 6 h). SIGTERM/SIGINT: take no new work, let the
articles in flight finish for up to ``grace`` seconds, then stop. SIGHUP: read
the config again and add, drop or reschedule jobs (see ``reload``); polls under
way finish with the config they started with. With ``service.enabled`` it
serves ``/healthz``, ``/readyz`` and ``/metrics``; with ``git.commit`` each poll
that wrote files is committed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from scraper.captures import WarcCaptures
from scraper.config import Settings, SourceConfig
from scraper.decide import due
from scraper.deps import Deps
from scraper.errors import ConfigError, ScraperError
from scraper.gitsync import publish
from scraper.images import ImageLocaliser
from scraper.logs import log_event
from scraper.metrics import PrometheusObserver
from scraper.observer import Observer
from scraper.pipeline import run_source
from scraper.reload import Reload, load_reload
from scraper.service import Check, MetricsSource, start_service
from scraper.wiring import open_deps, select_sources

log = logging.getLogger("scraper.daemon")

HEARTBEAT_SECONDS = 30
FIRST_POLL_STEP = 0.05  # seconds between two sources' first polls, at most


def heartbeat_path(settings: Settings) -> Path:
    return settings.state_path.with_name(settings.state_path.name + ".heartbeat")


def heartbeat_age(settings: Settings, now: float) -> float | None:
    """Seconds since the daemon's last heartbeat, None when it never beat."""
    try:
        return now - heartbeat_path(settings).stat().st_mtime
    except OSError:
        return None


def _trigger(source: SourceConfig) -> IntervalTrigger:
    return IntervalTrigger(seconds=source.interval, jitter=min(source.interval * 0.1, 60))


class Daemon:
    def __init__(
        self,
        settings: Settings,
        deps: Deps,
        *,
        grace: float = 8.0,
        names: Sequence[str] = (),
        metrics: MetricsSource | None = None,
    ) -> None:
        self.settings = settings
        self.deps = deps
        self.grace = grace
        self.names = tuple(names)  # --source: the reloaded config is filtered the same way
        self.metrics = metrics
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.inflight: set[asyncio.Task[object]] = set()
        self.stopped = asyncio.Event()
        self.sources: dict[str, SourceConfig] = {}
        self.heartbeat_error: str | None = None
        self.reload_error: str | None = None
        self._reloading: asyncio.Task[None] | None = None
        self._git = asyncio.Lock()

    def schedule(self, sources: Sequence[SourceConfig]) -> None:
        now = datetime.now(UTC)
        for i, source in enumerate(sources):
            # Spread the first polls a little so hosts are not hit at once, but over no
            # more than an interval: a thousand sources 50 ms apart would leave the
            # last one's new items waiting five intervals for their first poll.
            step = min(FIRST_POLL_STEP, source.interval / len(sources))
            self.sources[source.name] = source
            self.scheduler.add_job(
                self.poll,
                _trigger(source),
                args=[source],
                id=source.name,
                name=source.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(source.interval)),
                next_run_time=now + timedelta(seconds=step * i),
            )

    async def poll(self, source: SourceConfig) -> None:
        if self.deps.stopping.is_set():
            return
        health = self.deps.state.health(source.name)
        now = self.deps.clock()
        if health.consecutive_failures and not due(health.next_poll, now):
            log_event(
                log,
                "source.backing_off",
                logging.DEBUG,
                source=source.name,
                until=health.next_poll.isoformat() if health.next_poll else None,
            )
            return
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
        try:
            result = await run_source(self.deps, source, now)
            if result.written and self.settings.git.commit:
                async with self._git:
                    await asyncio.to_thread(
                        publish, self.settings.archive_dir, self.settings.git, [result]
                    )
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
            self.heartbeat_error = f"cannot write {path}: {exc.strerror or exc}"
            log_event(log, "daemon.heartbeat_failed", logging.WARNING, reason=str(exc))
        else:
            self.heartbeat_error = None

    def readiness(self) -> dict[str, Check]:
        """``/readyz``: config loaded, state writable, scheduler running."""
        config = f"{len(self.sources)} sources from {self.settings.config_path}"
        if self.reload_error:
            config += f"; the last reload was refused, old config kept: {self.reload_error}"
        state = self.settings.state_path
        writable = os.access(state.parent, os.W_OK) and (
            not state.exists() or os.access(state, os.W_OK)
        )
        running = self.scheduler.running and not self.deps.stopping.is_set()
        return {
            "config": Check(True, config),
            "state": Check(
                writable and self.heartbeat_error is None,
                self.heartbeat_error or f"{state} {'' if writable else 'not '}writable",
            ),
            "scheduler": Check(
                running, "running" if running else "stopping" if self.stopped.is_set() else "idle"
            ),
            # a stale rule is a warning, not unreadiness: the articles still come
            "rules": Check(True, self._stale_rules()),
        }

    def _stale_rules(self) -> str:
        try:
            stale = [p for p in self.deps.state.rule_parts() if p.stale]
        except ScraperError as exc:
            return f"unknown: {exc}"
        if not stale:
            return "no stale rule"
        return "STALE: " + "; ".join(
            f"{p.rule} {p.part} since {p.stale_since:%Y-%m-%dT%H:%M:%SZ} ({p.misses} misses, "
            f"first {p.stale_url})"
            for p in stale
            if p.stale_since is not None
        )

    def request_reload(self) -> None:
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.create_task(self.reload())

    async def reload(self) -> None:
        """Reads the config again and applies it; a bad one is logged and ignored."""
        path = self.settings.config_path
        if path is None:
            log_event(log, "daemon.reload_failed", logging.ERROR, reason="no config file")
            return
        try:
            plan = await asyncio.to_thread(
                load_reload, path, self.settings, list(self.sources.values()), self.names
            )
        except ConfigError as exc:
            self.reload_error = "; ".join(exc.problems)
            self.deps.observer.config_reloaded(ok=False)
            log_event(
                log, "daemon.reload_failed", logging.ERROR, config=str(path), problems=exc.problems
            )
            return
        self.apply(plan)

    def apply(self, plan: Reload) -> None:
        for name in plan.removed:
            if self.scheduler.get_job(name):
                self.scheduler.remove_job(name)
            del self.sources[name]
            self.deps.observer.source_removed(name)
        self.schedule([s for s in plan.sources if s.name in plan.added])
        for source in plan.sources:
            if source.name in plan.changed:
                old = self.sources[source.name]
                self.sources[source.name] = source
                self.scheduler.modify_job(source.name, args=[source])
                if source.interval != old.interval:
                    self.scheduler.reschedule_job(source.name, trigger=_trigger(source))
        settings = plan.settings
        images = self.deps.images
        if settings.images != "download":
            images = None
        elif images is None or (images.max_bytes, images.base_url) != (
            settings.image_max_size,
            settings.image_base_url,
        ):
            images = ImageLocaliser(
                self.deps.fetcher,
                settings.archive_dir,
                max_bytes=settings.image_max_size,
                base_url=settings.image_base_url,
                observer=self.deps.observer,
            )
        captures = self.deps.captures
        if settings.captures != "warc":
            captures = None
        elif captures is None or captures.root != settings.captures_dir:
            captures = WarcCaptures(settings.captures_dir)
        # A new Deps, not an edited one: a poll under way keeps the one it began with.
        self.deps = replace(
            self.deps, settings=settings, rules=plan.rules, images=images, captures=captures
        )
        self.settings = settings
        self.reload_error = None
        self.deps.observer.config_reloaded(ok=True)
        self._tell_known(plan.added)
        log_event(
            log,
            "daemon.reloaded",
            added=list(plan.added),
            removed=list(plan.removed),
            changed=list(plan.changed),
            restart_needed_for=list(plan.needs_restart) or None,
        )

    def _tell_known(self, names: Sequence[str]) -> None:
        for name in names:
            health = self.deps.state.health(name)
            self.deps.observer.source_known(
                name,
                last_success=health.last_success,
                consecutive_failures=health.consecutive_failures,
            )

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
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        service = await start_service(self.settings.service, self.readiness, self.metrics)
        if service is False:
            return 1
        self.schedule(sources)
        self._tell_known([s.name for s in sources])
        for part in self.deps.state.rule_parts():
            self.deps.observer.rule_known(part.rule, part.part, stale=part.stale)
        self.scheduler.add_job(
            self.heartbeat,
            IntervalTrigger(seconds=HEARTBEAT_SECONDS),
            id="heartbeat",
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.start()
        log_event(log, "daemon.started", sources=len(sources))
        await self.stopped.wait()
        # Paused, not shut down: APScheduler's asyncio executor cancels the jobs
        # still running when it shuts down, and the polls in flight get their grace.
        self.scheduler.pause()
        if self.inflight:
            _, pending = await asyncio.wait(set(self.inflight), timeout=self.grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        self.scheduler.shutdown(wait=False)
        if service is not None:
            await service.close()
        log_event(log, "daemon.stopped")
        return 0


async def run_daemon(settings: Settings, names: list[str]) -> int:
    sources = select_sources(settings, names)
    observer: Observer = Observer()
    metrics: MetricsSource | None = None
    if settings.service.enabled:
        prometheus = PrometheusObserver()
        observer, metrics = prometheus, prometheus.exposition
    async with open_deps(settings, observer) as deps:
        return await Daemon(settings, deps, names=names, metrics=metrics).run(sources)
