"""``scrape worker``: one of several processes, on one machine or many, sharing
the sources of one archive through PostgreSQL (``state_url``), on procrastinate's
task queue. SQLite and the daemon (``scrape run``) stay the one-machine way.

Each poll of a source is one job of the task ``scraper.poll``, which runs the
daemon's ``run_source``. When it is done, the job defers the source's next poll
for the time the poll recorded (``SourceResult.next_poll``: the interval with its
jitter, or the backoff after failures, both ``decide``'s). The state is called on
a thread of its own (``deps.StateThread``), never on the event loop: a database
gone silent holds the polls that wait for it, not the other polls, /metrics,
/readyz or procrastinate's heartbeats. Every job of a source carries
the source's ``queueing_lock`` (at most one waits) and ``lock`` (at most one
runs): one poll per source at a time across the cluster.

A periodic job, ``scraper.keep``, runs every few seconds on one worker of the
cluster (procrastinate defers each tick once; a lock keeps two from meeting): it
puts back the polls of a worker whose heartbeat stopped (killed, cut off) and
gives a job to every source that has none, which mends any chain a crash broke.
So a dead worker's sources are polled again within ``cluster.stall_timeout``
plus a few seconds. A live worker puts back, itself, the jobs whose end it could
not record (the query lost with its connection): its heartbeat goes on, so no
keeper would.

On start and on SIGHUP the worker's config is reconciled into the cluster's
source list (``cluster_sources``): sources added, removed and changed. Workers
whose configs differ (a rolling change) each impose theirs when they reconcile:
the last one wins, and says so in the log. A poll reads its source's settings
from that list, so every worker polls a source the same way. SIGTERM/SIGINT: no
new job is taken, the polls under way finish their articles in flight for up to
``grace`` seconds (one cut short then has its next poll due at once, for another
worker), then the worker exits 0. Git commits are refused in cluster mode
(``check_cluster_settings``): commit from one place instead.

A worker killed mid-poll leaves its job running in the queue, a hidden temporary
file where it was writing, and nothing marked done that is not on disk: the
keeper puts the job back once the worker's heartbeat is older than the stall
timeout, and removes the temporary files of writers that are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
import weakref
from collections.abc import AsyncIterator, Collection, Coroutine, Generator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from scraper.config import Settings, SourceConfig
from scraper.decide import due, next_poll
from scraper.deps import StateCalls
from scraper.errors import ConfigError, ScraperError, StateError
from scraper.logs import _FIELDS, log_event
from scraper.metrics import PrometheusObserver
from scraper.observer import Observer
from scraper.pipeline import run_source
from scraper.reload import load_reload
from scraper.service import Check, MetricsSource, Service, start_service
from scraper.shared_archive import LOCK_GRACE, SharedArchive
from scraper.state import SourcesChange, State
from scraper.statedb import application_name, connection_options, redact_url
from scraper.wiring import open_deps, select_sources

if TYPE_CHECKING:
    import procrastinate
    from procrastinate.job_context import JobContext

    from scraper.archive import Archive
    from scraper.deps import Deps

log = logging.getLogger("scraper.worker")

POLL_TASK = "scraper.poll"
KEEP_TASK = "scraper.keep"
QUEUE = "scraper"
KEEP_EVERY = 2  # seconds between two runs of the keeper, across the cluster
STATE_RETRY = 10.0  # seconds before a poll whose source the state could not read
FETCH_EVERY = 0.5  # seconds between two looks for due jobs, when there were none
FIRST_POLL_STEP = 0.05  # seconds between two new sources' first polls, at most
SCHEDULE_WAIT = "30s"  # how long a reconciliation waits for another's scheduling
RESTART_AFTER = (1.0, 2.0, 5.0, 10.0, 30.0)  # seconds, after losing the database
GRACE = 8.0
POOL_WAIT = 5.0  # seconds a job waits for a database connection before failing
PING_EVERY = 2.0  # seconds between two looks at the database, for /readyz
PING_TIMEOUT = 3.0  # seconds a look may take before the database counts as silent
T = TypeVar("T")

# advisory locks of this schema's cluster: one keeper at a time, one scheduling
_KEEP_KEY = "hashtext(current_schema() || ':keep')"
_SCHEDULE_KEY = "hashtext(current_schema() || ':schedule')"
# the cluster's sources with no poll waiting or running (procrastinate's unique
# indexes on a waiting job's queueing lock and a running one's lock answer it)
_WITHOUT_JOBS = """
SELECT c.source, c.config FROM cluster_sources c
WHERE NOT EXISTS (SELECT 1 FROM procrastinate_jobs j
                  WHERE j.status = 'todo' AND j.queueing_lock = %(prefix)s || c.source)
  AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j
                  WHERE j.status = 'doing' AND j.lock = %(prefix)s || c.source)
ORDER BY c.source
"""
_RUN_BY = """
SELECT id FROM procrastinate_jobs
WHERE status = 'doing' AND worker_id = %(worker)s AND task_name = %(task)s
"""
_WAITING = """
SELECT queueing_lock, scheduled_at FROM procrastinate_jobs
WHERE status = 'todo' AND queueing_lock = ANY(%(locks)s)
"""
# as procrastinate's own cancel_job with delete_job, for many jobs in one query
_CANCEL_WAITING = """
DELETE FROM procrastinate_jobs WHERE status = 'todo' AND queueing_lock = ANY(%(locks)s)
"""


def job_lock(source: str) -> str:
    """The lock and queueing lock of every poll job of ``source``."""
    return f"{POLL_TASK}:{source}"


def check_cluster_settings(settings: Settings) -> str:
    """The state's URL; ConfigError when the config cannot run as a cluster."""
    problems = []
    if not settings.state_url:
        problems.append(
            "state_url: scrape worker needs the state in PostgreSQL, shared by the "
            "workers (state_url: postgresql://user@host:5432/db)"
        )
    if settings.git.commit:
        problems.append(
            "git.commit: not with scrape worker: several workers would commit to one "
            "repository at once; commit from one place (a cron job running git, or the "
            "daemon on a single machine)"
        )
    if problems:
        raise ConfigError(problems)
    assert settings.state_url is not None
    return settings.state_url


def _poll_time(now: datetime, scheduled: datetime | None) -> datetime:
    """The time a poll counts as: when it was due, if it starts within moments of
    it (the queue is looked at every ``FETCH_EVERY``), so that the next one, an
    interval later, does not drift by that much every time; else now."""
    if scheduled is not None and timedelta(0) <= now - scheduled <= timedelta(seconds=2):
        return scheduled
    return now


def _concurrency(settings: Settings) -> int:
    return settings.cluster.concurrency or max(8, 4 * settings.http.max_connections)


def _first_polls(configs: Sequence[tuple[str, float]], now: datetime) -> list[tuple[str, datetime]]:
    """When new sources (name, interval) are first polled: spread a little, so that
    hosts are not hit at once, but over no more than the shortest interval."""
    if not configs:
        return []
    shortest = min(interval for _, interval in configs)
    step = min(FIRST_POLL_STEP, shortest / len(configs))
    return [(name, now + timedelta(seconds=step * i)) for i, (name, _) in enumerate(configs)]


class PollMeter:
    """How many polls this worker ran, and the CPU time they took: on its event
    loop's thread (``run_source``'s own steps: fetch, archive), and on the state's
    (``state``'s calls: the polls', and the few others', the readiness ping's and
    the reconciliations'). The rest of the process's CPU is the engine's: the
    queue, the keeper, the heartbeats (and the poll's work on other threads:
    parsing a changed feed, writing files)."""

    def __init__(self, state: StateCalls | None = None) -> None:
        self.polls = 0
        self.loop_cpu = 0.0
        self._state = state or StateCalls()

    @property
    def cpu(self) -> float:
        return self.loop_cpu + self._state.cpu

    async def measure(self, coro: Coroutine[Any, Any, T]) -> T:
        self.polls += 1
        return await _ThreadCpuOf(coro, self)

    def collect(self) -> Any:
        """As a Prometheus collector."""
        from prometheus_client.core import CounterMetricFamily

        yield CounterMetricFamily(
            "scraper_worker_polls", "Polls this worker ran (one job each)", value=self.polls
        )
        yield CounterMetricFamily(
            "scraper_worker_poll_cpu_seconds",
            "CPU time of this worker's polls on its event loop's thread and the state's;"
            " the rest of process_cpu_seconds_total is mostly the engine's (queue, keeper,"
            " heartbeats)",
            value=self.cpu,
        )


class _ThreadCpuOf(Generic[T]):
    """Awaits a coroutine, adding the thread CPU time of each of its steps to a
    meter: the other tasks' steps, run between two of its own, are not counted."""

    def __init__(self, coro: Coroutine[Any, Any, T], meter: PollMeter) -> None:
        self._coro = coro
        self._meter = meter

    def __await__(self) -> Generator[Any, Any, T]:
        inner = self._coro.__await__()
        step: Any = inner.send
        value: Any = None
        while True:
            started = time.thread_time()
            try:
                yielded = step(value)
            except StopIteration as done:
                result: T = done.value
                return result
            finally:
                self._meter.loop_cpu += time.thread_time() - started
            try:
                value, step = (yield yielded), inner.send
            except GeneratorExit:
                inner.close()
                raise
            except BaseException as exc:  # thrown in: a cancellation
                value, step = exc, inner.throw


class ClusterWorker:
    """One worker: procrastinate's, running this module's two tasks with ``deps``."""

    def __init__(
        self,
        settings: Settings,
        deps: Deps,
        app: procrastinate.App,
        *,
        names: Sequence[str] = (),
        grace: float = GRACE,
        metrics: MetricsSource | None = None,
    ) -> None:
        self.settings = settings
        self.deps = deps
        self.app = app
        self.names = tuple(names)
        self.grace = grace
        self.metrics = metrics
        self.engine: Any = None  # procrastinate's Worker while it runs
        self.connected = False
        # (reachable, what to say), kept by _watch_database: /readyz answers from it
        # at once, never waiting on a database that has gone silent
        self.database: tuple[bool, str] = (False, "not looked at yet")
        self.stop_requested = asyncio.Event()
        self.reload_error: str | None = None
        self.cluster_size = 0  # sources the cluster polls, as last reconciled
        self.meter = PollMeter(deps.call_state)
        self.running: set[int | None] = set()  # the poll jobs under way here, by id
        self._reloading: asyncio.Task[None] | None = None
        self._cleaning: asyncio.Task[None] | None = None
        self._settings: dict[str, SourceConfig] = {}  # JSON → settings
        self.poll_task = app.task(name=POLL_TASK, queue=QUEUE, pass_context=True)(self.poll)
        keeper = app.task(name=KEEP_TASK, queue=QUEUE, queueing_lock=KEEP_TASK)(self.keep)
        app.periodic(cron=f"* * * * * */{KEEP_EVERY}", periodic_id="keeper")(keeper)

    # -- the jobs ---------------------------------------------------------

    async def poll(self, context: JobContext, source: str) -> None:
        """One poll of ``source`` (its settings as the cluster has them), unless it
        is backing off; then its next one deferred."""
        job = context.job.id
        self.running.add(job)
        try:
            await self._poll(source, context.job.scheduled_at)
        finally:
            self.running.discard(job)

    async def _poll(self, source: str, scheduled_at: datetime | None) -> None:
        deps = self.deps
        now = _poll_time(deps.clock(), scheduled_at)
        try:
            config, failures, scheduled = await deps.call_state(deps.state.cluster_poll, source)
        except StateError as exc:
            log_event(log, "source.failed", logging.WARNING, source=source, reason=str(exc))
            await self._defer(source, now + timedelta(seconds=STATE_RETRY))
            return
        if config is None:
            log_event(log, "source.removed", source=source, outcome="not polled")
            return
        settings = self._settings_of(config)
        if deps.stopping.is_set():  # taken as this worker stops: another one takes it
            await self._defer(source, now)
        elif failures and scheduled is not None and not due(scheduled, now):
            log_event(log, "source.backing_off", logging.DEBUG, source=source, until=scheduled)
            await self._defer(source, scheduled)
        else:
            try:
                following = await self._run(deps, settings, now)
            except asyncio.CancelledError:
                # cut short by a shutdown past its grace: due again now, for another
                # worker (not after the stall timeout, nor the keeper's next look)
                log_event(log, "source.interrupted", source=source, url=settings.url)
                await self._defer(source, now)
                raise
            await self._defer(source, following)

    def _settings_of(self, config: str) -> SourceConfig:
        """A source's settings from their JSON (kept: the same JSON, poll after poll)."""
        found = self._settings.get(config)
        if found is None:
            if len(self._settings) > 4 * max(self.cluster_size, 256):
                self._settings.clear()
            found = self._settings[config] = SourceConfig.model_validate_json(config)
        return found

    async def _run(self, deps: Deps, source: SourceConfig, now: datetime) -> datetime:
        """Polls ``source``; when it is due next. A bug in the poll (an exception
        that is not ``ScraperError``) is logged with its traceback and backs the
        source off like a failure, instead of failing the job: a failed job breaks
        the source's chain, which the keeper mends within seconds, and a bug
        would poll at that pace."""
        try:
            result = await self.meter.measure(run_source(deps, source, now))
            following = result.next_poll
            if following is not None and following > now:
                return following
        except ScraperError as exc:  # the state itself (run_source logs the rest)
            log_event(
                log,
                "source.failed",
                logging.WARNING,
                source=source.name,
                url=source.url,
                outcome="failed",
                reason=str(exc),
            )
        except Exception as exc:
            log.error(
                "source.failed",
                exc_info=exc,
                extra={
                    _FIELDS: {
                        "source": source.name,
                        "url": source.url,
                        "outcome": "failed",
                        "reason": f"a bug: {type(exc).__name__}: {exc}",
                    }
                },
            )
        # what the state could not say: backed off as after one failure
        return next_poll(now, source.interval, 1, jitter=deps.rng())

    async def _defer(self, source: str, when: datetime) -> bool:
        """Defers a poll of ``source`` at ``when``; False when one waits already."""
        import procrastinate.exceptions

        lock = job_lock(source)
        try:
            await self.poll_task.configure(
                lock=lock, queueing_lock=lock, schedule_at=when
            ).defer_async(source=source)
        except procrastinate.exceptions.AlreadyEnqueued:
            return False
        return True

    async def keep(self, timestamp: int) -> None:
        """The cluster's upkeep (one worker at a time): the polls of dead workers
        put back, and a job for every source that has none."""
        del timestamp  # procrastinate's tick; the work is the same at every one
        async with self._one_keeper() as mine:
            if mine:
                if await self.put_back_stalled():
                    self._remove_abandoned_files_soon()
                await self.schedule_missing(wait=False)

    @contextlib.asynccontextmanager
    async def _one_keeper(self) -> AsyncIterator[bool]:
        """Whether this keeper has the cluster's upkeep to itself: procrastinate
        defers one keeper per tick, but one that runs long can meet the next
        tick's. The lock is a transaction's, held open meanwhile on a connection
        of its own: it goes with the transaction, or the connection, whatever
        happens. (A lock of the job's would outlive a killed worker's keeper
        until the stall timeout, and hold off every keeper meanwhile.)"""
        async with self._pool().connection() as conn, conn.transaction():
            query = f"SELECT pg_try_advisory_xact_lock({_KEEP_KEY})"
            yield bool((await (await conn.execute(query)).fetchone())[0])

    async def put_back_stalled(self) -> int:
        """Puts the poll jobs of workers whose heartbeat is older than the stall
        timeout back in the queue, due now; how many jobs were stalled. One whose
        source has a next poll waiting already (its worker died after deferring
        it) is closed instead, and so is a stalled keeper (the next tick's does
        its work)."""
        manager = self.app.job_manager
        stall = self.settings.cluster.stall_timeout
        stalled = 0
        for task in (POLL_TASK, KEEP_TASK):
            for job in await manager.get_stalled_jobs(
                task_name=task, seconds_since_heartbeat=stall
            ):
                assert job.id is not None
                outcome = await put_back(self.app, job.id, requeue=task == POLL_TASK)
                stalled += 1
                log_event(
                    log,
                    "worker.stalled_job",
                    logging.WARNING,
                    task=task,
                    job=job.id,
                    source=job.task_kwargs.get("source"),
                    outcome=outcome,
                    reason=f"its worker sent no heartbeat for {stall:g}s",
                )
        await manager.prune_stalled_workers(stall)
        return stalled

    def _remove_abandoned_files_soon(self) -> None:
        """A dead worker's temporary files (its writes cut short), removed once
        they are old enough to be told from a live writer's (``LOCK_GRACE``)."""
        if self._cleaning is None or self._cleaning.done():
            self._cleaning = asyncio.create_task(self._remove_abandoned_files(LOCK_GRACE + 1))

    async def _remove_abandoned_files(self, after: float) -> None:
        await asyncio.sleep(after)
        try:
            removed = await asyncio.to_thread(self.deps.archive.remove_stale_temp_files)
        except ScraperError as exc:
            log_event(log, "archive.clean_failed", logging.WARNING, reason=str(exc))
            return
        if removed:
            log_event(log, "archive.cleaned", removed=removed)

    async def schedule_missing(self, *, wait: bool) -> int:
        """Defers a first poll for every source of the cluster with no job waiting
        or running; how many. One scheduling at a time across the cluster (a lock):
        ``wait`` for the other one, or leave it the work."""
        async with self._pool().connection() as conn, conn.transaction():
            if wait:
                await conn.execute(f"SET LOCAL lock_timeout = '{SCHEDULE_WAIT}'")
                await conn.execute(f"SELECT pg_advisory_xact_lock({_SCHEDULE_KEY})")
            else:
                got = await (
                    await conn.execute(f"SELECT pg_try_advisory_xact_lock({_SCHEDULE_KEY})")
                ).fetchone()
                if not got[0]:
                    return 0
            rows = await (await conn.execute(_WITHOUT_JOBS, {"prefix": job_lock("")})).fetchall()
            missing = [
                (name, SourceConfig.model_validate_json(config).interval) for name, config in rows
            ]
            for name, when in _first_polls(missing, self.deps.clock()):
                await self._defer(name, when)
        if missing:
            log_event(log, "worker.scheduled", sources=len(missing))
        return len(missing)

    async def _unschedule(self, names: Sequence[str]) -> None:
        """Cancels the waiting polls of ``names`` (one running finishes; the next
        is not deferred if its source is gone, or is deferred anew)."""
        if names:
            async with self._pool().connection() as conn:
                await conn.execute(_CANCEL_WAITING, {"locks": [job_lock(n) for n in names]})

    async def _retime(self, configs: Mapping[str, str]) -> None:
        """Cancels the waiting polls of ``configs`` (changed sources: name →
        settings as JSON) that wait longer than their interval now allows (it was
        shortened), so that they are scheduled anew, at once."""
        if not configs:
            return
        latest = self.deps.clock()
        async with self._pool().connection() as conn:
            rows = await (
                await conn.execute(_WAITING, {"locks": [job_lock(n) for n in configs]})
            ).fetchall()
        late = []
        for lock, scheduled in rows:
            name = lock.removeprefix(job_lock(""))
            interval = SourceConfig.model_validate_json(configs[name]).interval
            if scheduled is not None and scheduled > latest + timedelta(seconds=1.1 * interval):
                late.append(name)
        await self._unschedule(late)

    def _pool(self) -> Any:
        return self.app.connector.pool  # type: ignore[attr-defined]

    # -- the source list --------------------------------------------------

    async def reconcile(self) -> SourcesChange:
        """Makes this worker's config the cluster's source list, and schedules it."""
        sources = select_sources(self.settings, self.names)
        configs = {s.name: s.model_dump_json() for s in sources}
        deps = self.deps
        change = await deps.call_state(deps.state.reconcile_sources, configs, deps.clock())
        self.cluster_size = len(configs)
        replaced = change.removed or change.changed  # a list was there, and differed
        log_event(
            log,
            "worker.reconciled",
            logging.WARNING if replaced else logging.INFO,
            sources=len(configs),
            added=list(change.added) or None,
            removed=list(change.removed) or None,
            changed=list(change.changed) or None,
            reason="this worker's config replaced the cluster's (the last reconciliation wins)"
            if replaced
            else None,
        )
        await self._unschedule(change.removed)
        await self._retime({n: configs[n] for n in change.changed})
        await self.schedule_missing(wait=True)
        for name in change.removed:
            self.deps.observer.source_removed(name)
        return change

    def request_reload(self) -> None:
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.create_task(self.reload())

    async def reload(self) -> None:
        """SIGHUP: reads the config again, applies its settings and rules, and
        reconciles its sources; a bad config is logged and the old one kept."""
        path = self.settings.config_path
        if path is None:
            return
        running = select_sources(self.settings, self.names)
        try:
            plan = await asyncio.to_thread(load_reload, path, self.settings, running, self.names)
            check_cluster_settings(plan.settings)
        except ConfigError as exc:
            self.reload_error = "; ".join(exc.problems)
            self.deps.observer.config_reloaded(ok=False)
            log_event(
                log, "worker.reload_failed", logging.ERROR, config=str(path), problems=exc.problems
            )
            return
        self.settings = plan.settings
        self.deps = replace(self.deps, settings=plan.settings, rules=plan.rules)
        self.reload_error = None
        self.deps.observer.config_reloaded(ok=True)
        try:
            await self.reconcile()
        except (ScraperError, OSError) as exc:
            log_event(log, "worker.reload_failed", logging.ERROR, reason=str(exc))
        if plan.needs_restart:
            log_event(log, "worker.restart_needed", keys=list(plan.needs_restart))

    # -- running ----------------------------------------------------------

    def readiness(self) -> dict[str, Check]:
        """``/readyz``: config loaded, database reachable, worker taking jobs."""
        config = f"{self.cluster_size} sources in the cluster, from {self.settings.config_path}"
        if self.reload_error:
            config += f"; the last reload was refused, old config kept: {self.reload_error}"
        reachable, detail = self.database
        if reachable and not self.connected:
            reachable, detail = False, f"{redact_url(self.settings.state_url or '')}: reconnecting"
        stopping = self.stop_requested.is_set()
        running = self.connected and not stopping
        doing = "stopping" if stopping else "taking jobs" if running else "waiting for the database"
        return {
            "config": Check(True, config),
            "state": Check(reachable, detail),
            "scheduler": Check(running, doing),
        }

    def stop(self, signame: str = "") -> None:
        if self.stop_requested.is_set():
            return
        log_event(log, "worker.stopping", signal=signame or None)
        self.stop_requested.set()
        self.deps.stopping.set()
        if self.engine is not None:
            self.engine.stop()

    def _engine(self) -> Any:
        from procrastinate.worker import Worker

        stall = self.settings.cluster.stall_timeout
        return Worker(
            self.app,
            queues=[QUEUE],
            name="scrape",
            concurrency=_concurrency(self.settings),
            fetch_job_polling_interval=FETCH_EVERY,
            # a poll's next job is for later: a notice of it would send every worker
            # looking for work that is not due (three queries a poll, for three)
            listen_notify=False,
            shutdown_graceful_timeout=self.grace,
            # failed and aborted jobs too: their trouble is logged, and a failed
            # job's row would stay (and its events) for every one
            delete_jobs="always",
            install_signal_handlers=False,
            update_heartbeat_interval=stall / 3,
            stalled_worker_timeout=stall,
        )

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, sig.name)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        loop.set_exception_handler(_database_trouble_in_tasks)
        service = await start_service(self.settings.service, self.readiness, self.metrics)
        if service is False:
            return 1
        watching = asyncio.create_task(self._watch_database()) if service else None
        try:
            if await self._first_reconciliation():
                log_event(log, "worker.started", sources=self.cluster_size)
                await self._take_jobs()
        finally:
            if watching is not None:
                watching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching
            if isinstance(service, Service):
                await service.close()
        log_event(
            log,
            "worker.stopped",
            polls=self.meter.polls,
            poll_cpu=f"{self.meter.cpu:.3f}s",
            cpu=f"{time.process_time():.3f}s",
        )
        return 0

    async def _first_reconciliation(self) -> bool:
        """This worker's sources reconciled into the cluster's, tried again while the
        database is in trouble: True once done, False when told to stop first (a
        SIGTERM does not wait for another worker's scheduling)."""
        lost = 0
        while not self.stop_requested.is_set():
            task = asyncio.create_task(self.reconcile())
            stopped = asyncio.create_task(self.stop_requested.wait())
            await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                return False
            exc = task.exception()
            if exc is None:
                return True
            if not isinstance(exc, StateError) and not _is_database_trouble(exc):
                raise exc
            log_event(log, "worker.database_lost", logging.ERROR, reason=_reason(exc))
            lost += 1
            await self._pause(lost)
        return False

    async def _take_jobs(self) -> None:
        """procrastinate's worker, run again after the database's trouble, until
        the worker is told to stop."""
        lost = 0
        while not self.stop_requested.is_set():
            started = time.monotonic()
            self.engine = self._engine()
            self.connected = True
            mending = asyncio.create_task(self._mend_unrecorded(self.engine))
            try:
                await self.engine.run()
            except Exception as exc:  # procrastinate's, psycopg's: the database went
                log_event(log, "worker.database_lost", logging.ERROR, reason=_reason(exc))
            finally:
                mending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await mending
            self.connected = False
            self.engine = None
            lost = 1 if time.monotonic() - started > 60 else lost + 1
            await self._pause(lost)

    async def _mend_unrecorded(self, engine: Any) -> None:
        """Every third of the stall timeout, the poll jobs that ``engine`` ran and
        whose end it could not record are put back (``put_back_unrecorded``).
        Its heartbeat goes on, so the keeper would never take them: without this,
        such a job would hold its source's lock, and the source, until the
        worker stops."""
        suspects: set[int] = set()
        while True:
            await asyncio.sleep(self.settings.cluster.stall_timeout / 3)
            if engine.worker_id is None:
                continue
            try:
                suspects = await put_back_unrecorded(
                    self.app, engine.worker_id, self.running | _processing(engine), suspects
                )
            except Exception as exc:
                if not _is_database_trouble(exc):
                    raise
                suspects = set()  # the engine finds the database gone too

    async def _watch_database(self) -> None:
        """Every ``PING_EVERY``, the database asked for nothing (``State.ping``, on
        the state's thread, after the calls given before it) and the answer kept
        in ``database``; no answer within ``PING_TIMEOUT`` (a server gone silent,
        or a call before it stuck on it) counts as unreachable, and that ping is
        waited for again, not sent again, until it ends."""
        where = redact_url(self.settings.state_url or "")
        pending: asyncio.Future[None] | None = None
        while True:
            if pending is None or pending.done():
                pending = asyncio.ensure_future(self.deps.call_state(self.deps.state.ping))
            try:
                await asyncio.wait_for(asyncio.shield(pending), PING_TIMEOUT)
                self.database = (True, f"{where} reachable")
            except TimeoutError:
                self.database = (False, f"{where}: no answer within {PING_TIMEOUT:g}s")
            except Exception as exc:  # StateError, or the driver's own
                self.database = (False, str(exc) if isinstance(exc, StateError) else _reason(exc))
            await asyncio.sleep(PING_EVERY)

    async def _pause(self, lost: int) -> None:
        """The wait before trying the database again, after ``lost`` failures in a
        row; cut short by a stop."""
        if self.stop_requested.is_set():
            return
        pause = RESTART_AFTER[min(lost, len(RESTART_AFTER)) - 1]
        log_event(log, "worker.restarting", after=f"{pause:g}s")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_requested.wait(), pause)


def _is_database_trouble(exc: BaseException | None) -> bool:
    import procrastinate.exceptions
    import psycopg

    return isinstance(exc, procrastinate.exceptions.ConnectorException | psycopg.Error)


def _database_trouble_in_tasks(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A job whose end could not be recorded (the database went) leaves its task
    with that error: one line for it, not a traceback (the worker says the rest)."""
    exc = context.get("exception")
    if _is_database_trouble(exc):
        assert exc is not None
        log_event(log, "worker.job_unrecorded", logging.WARNING, reason=_reason(exc))
        return
    loop.default_exception_handler(context)


def _is_job_gone(exc: BaseException) -> bool:
    """Whether procrastinate refused to retry or finish a job because it is no
    longer running (it ended, or another keeper handled it)."""
    return "not found or" in str(exc.__cause__ or exc)


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    return f"{type(cause).__name__}: {cause}".splitlines()[0]


def _processing(engine: Any) -> set[int | None]:
    """The jobs procrastinate's worker is still processing, their end's record
    included (a private attribute of its: none if it goes)."""
    return {context.job.id for context in getattr(engine, "_running_jobs", {}).values()}


async def put_back(app: procrastinate.App, job: int, *, requeue: bool) -> str:
    """A running job whose worker will not end it, ended: put back in the queue,
    due now (``requeue``, unless its source has a next poll waiting already), or
    closed. The outcome: ``requeued``, ``closed``, or ``gone`` (it ended meanwhile)."""
    import procrastinate.exceptions
    from procrastinate.jobs import Status

    manager = app.job_manager
    try:
        if requeue:
            with contextlib.suppress(procrastinate.exceptions.UniqueViolation):
                await manager.retry_job_by_id_async(job, retry_at=datetime.now(UTC))
                return "requeued"
        await manager.finish_job_by_id_async(job, Status.FAILED, delete_job=True)
    except procrastinate.exceptions.ConnectorException as exc:
        if not _is_job_gone(exc):
            raise
        return "gone"
    return "closed"


async def put_back_unrecorded(
    app: procrastinate.App, worker_id: int, running: Collection[int | None], suspects: set[int]
) -> set[int]:
    """The poll jobs the queue says ``worker_id`` runs, and which it does not
    (``running``): their end could not be recorded (the query was lost with its
    connection). Those found so twice in a row (``suspects``, the last look's)
    are put back; the new suspects are returned. (Twice: a job just ended is
    recorded a moment later.)"""
    async with app.connector.pool.connection() as conn:  # type: ignore[attr-defined]
        rows = await (
            await conn.execute(_RUN_BY, {"worker": worker_id, "task": POLL_TASK})
        ).fetchall()
    orphans = {job for (job,) in rows if job not in running}
    for job in sorted(orphans & suspects):
        outcome = await put_back(app, job, requeue=True)
        log_event(
            log,
            "worker.job_unrecorded",
            logging.WARNING,
            job=job,
            outcome=outcome,
            reason="its end could not be recorded; this worker is not running it",
        )
    return orphans - suspects


def make_app(url: str, settings: Settings) -> procrastinate.App:
    """procrastinate's app on the state's database."""
    import procrastinate

    connector = procrastinate.PsycopgConnector(
        conninfo=url,
        min_size=1,
        max_size=max(4, _concurrency(settings) // 4),
        # each of procrastinate's queries is one statement (a function of its
        # schema): in autocommit, without a COMMIT after it, a round trip less
        kwargs={
            "application_name": application_name("worker jobs"),
            "autocommit": True,
            **connection_options(url),
        },
        timeout=POOL_WAIT,
        pool_factory=_pool,
    )
    return procrastinate.App(connector=connector)


def _pool(**options: Any) -> Any:
    """procrastinate's connection pool, checking a connection before it is lent
    only when it sat unused a while: one that was just given back is alive, and
    the check is a round trip on each of a poll's three queue queries."""
    from psycopg_pool import AsyncConnectionPool

    async def check_if_idle(conn: Any) -> None:
        if time.monotonic() - _RETURNED.get(conn, 0.0) > IDLE_CHECK:
            await AsyncConnectionPool.check_connection(conn)

    async def note_returned(conn: Any) -> None:
        _RETURNED[conn] = time.monotonic()

    return AsyncConnectionPool(**{**options, "check": check_if_idle, "reset": note_returned})


IDLE_CHECK = 2.0  # seconds unused after which a pooled connection is checked first
# a pooled connection → when it was given back
_RETURNED: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


async def ensure_queue_schema(app: procrastinate.App) -> None:
    """procrastinate's tables, made once: workers starting together take turns."""
    async with app.connector.pool.connection() as conn, conn.transaction():  # type: ignore[attr-defined]
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':queue'))")
        found = await (await conn.execute("SELECT to_regclass('procrastinate_jobs')")).fetchone()
        if found[0] is None:
            await app.schema_manager.apply_schema_async()
            log_event(log, "worker.queue_created")


def open_worker_deps(
    settings: Settings, archive: Archive, observer: Observer | None = None
) -> AbstractAsyncContextManager[Deps]:
    """A worker's deps: the state's lock shared with the cluster's other workers,
    the shared ``archive``, the state's calls on a thread of their own."""
    return open_deps(
        settings, observer, role="worker", shared=True, archive=archive, state_thread=True
    )


async def run_worker(
    settings: Settings, names: Sequence[str] = (), stopped: Sequence[str] = ()
) -> int:
    """``stopped``: the signals to stop that came during the start-up, so far
    (the worker stops as soon as it runs)."""
    url = check_cluster_settings(settings)
    select_sources(settings, names)  # unknown names: ConfigError before connecting
    observer: Observer = Observer()
    metrics: MetricsSource | None = None
    if settings.service.enabled:
        prometheus = PrometheusObserver()
        observer, metrics = prometheus, prometheus.exposition
    _quiet_procrastinate()
    claims = State(url)  # the first connection: the database's trouble shows here
    archive = SharedArchive(settings.archive_dir, claims, clock=lambda: datetime.now(UTC))
    try:
        async with open_worker_deps(settings, archive, observer) as deps:
            app = make_app(url, settings)
            async with app.open_async():
                await ensure_queue_schema(app)
                worker = ClusterWorker(settings, deps, app, names=names, metrics=metrics)
                if metrics is not None:
                    prometheus.registry.register(worker.meter)
                if stopped:
                    worker.stop(stopped[0])
                return await worker.run()
    finally:
        archive.close()


class _DatabaseTrouble(logging.Filter):
    """A lost database is said once, by ``worker.database_lost``: procrastinate's
    records of it keep their message and lose their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and _is_database_trouble(exc):
            message = " ".join(record.getMessage().split())
            record.msg = f"{message} ({_reason(exc)})"
            record.args = ()
            record.exc_info = None
        return True


def _quiet_procrastinate() -> None:
    """procrastinate logs every job at INFO: two lines per poll. Its warnings and
    errors go through the scraper's handler (the rest only at DEBUG); the pool's
    every failed reconnection, only at DEBUG too."""
    ours = logging.getLogger("scraper")
    debug = ours.level <= logging.DEBUG
    handlers: list[logging.Handler] = []
    for handler in ours.handlers:
        copy = logging.StreamHandler(getattr(handler, "stream", None))
        copy.setFormatter(handler.formatter)
        copy.addFilter(_DatabaseTrouble())
        handlers.append(copy)
    for name, level in (("procrastinate", logging.WARNING), ("psycopg.pool", logging.ERROR)):
        theirs = logging.getLogger(name)
        theirs.handlers[:] = handlers
        theirs.setLevel(logging.DEBUG if debug else level)
        theirs.propagate = False


def run_worker_command(settings: Settings, names: Sequence[str] = ()) -> int:
    """``scrape worker``: exit 0 after SIGTERM; 2 for a config that cannot run as
    a cluster, or a database that cannot be reached at start (URL and reason)."""
    try:
        import procrastinate  # noqa: F401
    except ImportError:
        print(
            "scrape worker: needs the cluster extra: pip install 'scraper[cluster]'",
            file=sys.stderr,
        )
        return 2
    # a SIGTERM while the worker starts (the archive read, the database's locks)
    # is kept for when it runs, which then stops at once, exiting 0
    stopped: list[str] = []
    before = {
        sig: signal.signal(sig, lambda signum, _: stopped.append(signal.Signals(signum).name))
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        return asyncio.run(run_worker(settings, names, stopped))
    except StateError as exc:
        print(f"scrape worker: {exc}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
