"""``scrape worker``: one of several processes, on one machine or many, sharing
the sources of one archive through PostgreSQL (``state_url``), on procrastinate's
task queue. SQLite and the daemon (``scrape run``) stay the one-machine way.

Each poll of a source is one job of the task ``scraper.poll``, which runs the
daemon's ``run_source``. When it is done, the job defers the source's next poll
for the time the state then holds (``next_poll``: the interval with its jitter,
or the backoff after failures, both ``decide``'s). Every job of a source carries
the source's ``queueing_lock`` (at most one waits) and ``lock`` (at most one
runs): one poll per source at a time across the cluster.

A periodic job, ``scraper.keep``, runs every few seconds on one worker of the
cluster (procrastinate defers each tick once): it puts back the polls of a
worker whose heartbeat stopped (killed, cut off) and gives a job to every source
that has none, which mends any chain a crash broke. So a dead worker's sources
are polled again within ``cluster.stall_timeout`` plus a few seconds.

On start and on SIGHUP the worker's config is reconciled into the cluster's
source list (``cluster_sources``): sources added, removed and changed. Workers
whose configs differ (a rolling change) each impose theirs when they reconcile:
the last one wins, and says so in the log. A poll reads its source's settings
from that list, so every worker polls a source the same way. SIGTERM/SIGINT: no
new job is taken, the polls under way finish their articles in flight for up to
``grace`` seconds, then the worker exits 0. Git commits are refused in cluster
mode (``check_cluster_settings``): commit from one place instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
import weakref
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from scraper.config import Settings, SourceConfig
from scraper.decide import due, next_poll
from scraper.errors import ConfigError, ScraperError, StateError
from scraper.logs import log_event
from scraper.metrics import PrometheusObserver
from scraper.observer import Observer
from scraper.pipeline import run_source
from scraper.reload import load_reload
from scraper.service import Check, MetricsSource, Service
from scraper.shared_archive import SharedArchive
from scraper.state import SourcesChange, State
from scraper.statedb import application_name, redact_url
from scraper.wiring import open_deps, select_sources

if TYPE_CHECKING:
    import procrastinate
    from procrastinate.job_context import JobContext

    from scraper.deps import Deps

log = logging.getLogger("scraper.worker")

POLL_TASK = "scraper.poll"
KEEP_TASK = "scraper.keep"
QUEUE = "scraper"
KEEP_EVERY = 5  # seconds between two runs of the keeper, across the cluster
FETCH_EVERY = 0.5  # seconds between two looks for due jobs, when there were none
FIRST_POLL_STEP = 0.05  # seconds between two new sources' first polls, at most
SCHEDULE_WAIT = "30s"  # how long a reconciliation waits for another's scheduling
RESTART_AFTER = (1.0, 2.0, 5.0, 10.0, 30.0)  # seconds, after losing the database
GRACE = 8.0
POOL_WAIT = 5.0  # seconds a job waits for a database connection before failing


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
        self.stop_requested = asyncio.Event()
        self.reload_error: str | None = None
        self.cluster_size = 0  # sources the cluster polls, as last reconciled
        self._reloading: asyncio.Task[None] | None = None
        self._settings: dict[str, SourceConfig] = {}  # JSON → settings
        self.poll_task = app.task(name=POLL_TASK, queue=QUEUE, pass_context=True)(self.poll)
        keeper = app.task(name=KEEP_TASK, queue=QUEUE, queueing_lock=KEEP_TASK)(self.keep)
        app.periodic(cron=f"* * * * * */{KEEP_EVERY}", periodic_id="keeper")(keeper)

    # -- the jobs ---------------------------------------------------------

    async def poll(self, context: JobContext, source: str) -> None:
        """One poll of ``source`` (its settings as the cluster has them), unless it
        is backing off; then its next one deferred."""
        deps = self.deps
        now = _poll_time(deps.clock(), context.job.scheduled_at)
        try:
            config, failures, scheduled = deps.state.cluster_poll(source)
        except StateError as exc:
            log_event(log, "source.failed", logging.WARNING, source=source, reason=str(exc))
            await self._defer(source, now + timedelta(seconds=KEEP_EVERY))
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
            await self._defer(source, await self._run(deps, settings, now))

    def _settings_of(self, config: str) -> SourceConfig:
        """A source's settings from their JSON (kept: the same JSON, poll after poll)."""
        found = self._settings.get(config)
        if found is None:
            if len(self._settings) > 4 * max(self.cluster_size, 256):
                self._settings.clear()
            found = self._settings[config] = SourceConfig.model_validate_json(config)
        return found

    async def _run(self, deps: Deps, source: SourceConfig, now: datetime) -> datetime:
        """Polls ``source``; when it is due next."""
        try:
            await run_source(deps, source, now)
            following = deps.state.next_poll_of(source.name)
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
        """The cluster's upkeep (one worker per tick): the polls of dead workers
        put back, and a job for every source that has none."""
        del timestamp  # procrastinate's tick; the work is the same at every one
        await self.requeue_stalled()
        await self.schedule_missing(wait=False)

    async def requeue_stalled(self) -> int:
        """Puts the poll jobs of workers whose heartbeat is older than the stall
        timeout back in the queue, due now; how many. One whose source has a next
        poll waiting already (its worker died after deferring it) is closed
        instead, and so is a stalled keeper (the next tick's does its work)."""
        import procrastinate.exceptions
        from procrastinate.jobs import Status

        manager = self.app.job_manager
        stall = self.settings.cluster.stall_timeout
        requeued = 0
        for task in (POLL_TASK, KEEP_TASK):
            for job in await manager.get_stalled_jobs(
                task_name=task, seconds_since_heartbeat=stall
            ):
                assert job.id is not None
                outcome = "closed"
                if task == POLL_TASK:
                    with contextlib.suppress(procrastinate.exceptions.UniqueViolation):
                        await manager.retry_job(job)
                        outcome = "requeued"
                        requeued += 1
                if outcome == "closed":
                    await manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=True)
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
        return requeued

    async def schedule_missing(self, *, wait: bool) -> int:
        """Defers a first poll for every source of the cluster with no job waiting
        or running; how many. One scheduling at a time across the cluster (a lock):
        ``wait`` for the other one, or leave it the work."""
        async with self.app.connector.pool.connection() as conn, conn.transaction():  # type: ignore[attr-defined]
            key = "hashtext(current_schema() || ':schedule')"
            if wait:
                await conn.execute(f"SET LOCAL lock_timeout = '{SCHEDULE_WAIT}'")
                await conn.execute(f"SELECT pg_advisory_xact_lock({key})")
            else:
                got = await (
                    await conn.execute(f"SELECT pg_try_advisory_xact_lock({key})")
                ).fetchone()
                if not got[0]:
                    return 0
            rows = await (
                await conn.execute("SELECT source, config FROM cluster_sources")
            ).fetchall()
            live = await self._sources_with_jobs()
            missing = [
                (name, SourceConfig.model_validate_json(config).interval)
                for name, config in sorted(rows)
                if job_lock(name) not in live
            ]
            for name, when in _first_polls(missing, self.deps.clock()):
                await self._defer(name, when)
        if missing:
            log_event(log, "worker.scheduled", sources=len(missing))
        return len(missing)

    async def _sources_with_jobs(self) -> set[str]:
        """The locks of the poll jobs waiting or running."""
        manager = self.app.job_manager
        found: set[str] = set()
        for status in ("todo", "doing"):
            jobs = await manager.list_jobs_async(task=POLL_TASK, status=status)
            found.update(job.queueing_lock or "" for job in jobs)
        return found

    async def _unschedule(self, names: Sequence[str]) -> None:
        """Cancels the waiting polls of ``names`` (one running finishes; the next
        is not deferred if its source is gone, or is deferred anew)."""
        manager = self.app.job_manager
        for name in names:
            for job in await manager.list_jobs_async(
                task=POLL_TASK, status="todo", queueing_lock=job_lock(name)
            ):
                assert job.id is not None
                await manager.cancel_job_by_id_async(job.id, delete_job=True)

    # -- the source list --------------------------------------------------

    async def reconcile(self) -> SourcesChange:
        """Makes this worker's config the cluster's source list, and schedules it."""
        sources = select_sources(self.settings, self.names)
        configs = {s.name: s.model_dump_json() for s in sources}
        state = self.deps.state
        before = state.cluster_sources()
        change = state.reconcile_sources(configs, self.deps.clock())
        self.cluster_size = len(configs)
        replaced = change.removed or change.changed
        log_event(
            log,
            "worker.reconciled",
            logging.WARNING if replaced and before else logging.INFO,
            sources=len(configs),
            added=list(change.added) or None,
            removed=list(change.removed) or None,
            changed=list(change.changed) or None,
            reason="this worker's config replaced the cluster's (the last reconciliation wins)"
            if replaced and before
            else None,
        )
        retimed = [
            n
            for n in change.changed
            if n in before
            and SourceConfig.model_validate_json(before[n]).interval
            != SourceConfig.model_validate_json(configs[n]).interval
        ]
        await self._unschedule([*change.removed, *retimed])
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
        where = redact_url(self.settings.state_url or "")
        try:
            self.deps.state.ping()
            reachable = self.connected
            detail = f"{where} reachable" if reachable else f"{where}: reconnecting"
        except StateError as exc:
            reachable, detail = False, str(exc)
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
            delete_jobs="successful",
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
        service = await self._start_service()
        if service is False:
            return 1
        await self.reconcile()
        log_event(log, "worker.started", sources=self.cluster_size)
        lost = 0
        while not self.stop_requested.is_set():
            started = time.monotonic()
            self.engine = self._engine()
            self.connected = True
            try:
                await self.engine.run()
            except Exception as exc:  # procrastinate's, psycopg's: the database went
                log_event(log, "worker.database_lost", logging.ERROR, reason=_reason(exc))
            self.connected = False
            self.engine = None
            if self.stop_requested.is_set():
                break
            lost = 1 if time.monotonic() - started > 60 else lost + 1
            pause = RESTART_AFTER[min(lost, len(RESTART_AFTER)) - 1]
            log_event(log, "worker.restarting", after=f"{pause:g}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_requested.wait(), pause)
        if isinstance(service, Service):
            await service.close()
        log_event(log, "worker.stopped")
        return 0

    async def _start_service(self) -> Service | bool | None:
        """The HTTP endpoint, if enabled; False when it cannot listen."""
        if not self.settings.service.enabled:
            return None
        conf = self.settings.service
        service = Service(conf.host, conf.port, ready=self.readiness, metrics=self.metrics)
        try:
            await service.start()
        except OSError as exc:
            address = f"{conf.host}:{conf.port}"
            reason = exc.strerror or str(exc)
            log_event(log, "service.failed", logging.ERROR, address=address, reason=reason)
            return False
        return service


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


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    return f"{type(cause).__name__}: {cause}".splitlines()[0]


def make_app(url: str, settings: Settings) -> procrastinate.App:
    """procrastinate's app on the state's database."""
    import procrastinate

    connector = procrastinate.PsycopgConnector(
        conninfo=url,
        min_size=1,
        max_size=max(4, _concurrency(settings) // 4),
        kwargs={"application_name": application_name("worker jobs")},
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


async def run_worker(settings: Settings, names: Sequence[str] = ()) -> int:
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
        async with open_deps(
            settings, observer, role="worker", shared=True, archive=archive
        ) as deps:
            app = make_app(url, settings)
            async with app.open_async():
                await ensure_queue_schema(app)
                worker = ClusterWorker(settings, deps, app, names=names, metrics=metrics)
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
    try:
        return asyncio.run(run_worker(settings, names))
    except StateError as exc:
        print(f"scrape worker: {exc}", file=sys.stderr)
        return 2
