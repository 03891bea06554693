"""The wiring: builds the pipeline's dependencies from the settings and runs polls.

The one place where the real edges (HTTP client, SQLite, archive folder, rule
files) are opened and closed again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from scraper.archive import Archive
from scraper.config import Settings, SourceConfig
from scraper.errors import ConfigError
from scraper.logs import log_event
from scraper.state import State, acquire_lock

# The event loop, extractor, HTTP client and pipeline are imported where they are used:
# a cron run with nothing to poll (``poll_once``) starts in half the time without them.
if TYPE_CHECKING:
    from scraper.deps import Deps
    from scraper.extract.rules import RuleSet
    from scraper.observer import Observer
    from scraper.types import SourceResult

log = logging.getLogger("scraper.wiring")


def select_sources(settings: Settings, names: Sequence[str] = ()) -> list[SourceConfig]:
    """The enabled sources, or exactly the named ones (unknown names: ConfigError)."""
    if not names:
        return [s for s in settings.sources if s.enabled]
    known = {s.name: s for s in settings.sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(
            [
                f"--source {n}: no source of that name (known: {', '.join(known) or 'none'})"
                for n in unknown
            ]
        )
    return [known[n] for n in dict.fromkeys(names)]


def load_checked_rules(settings: Settings) -> RuleSet:
    """The site rules; ConfigError when a source names a rule that does not exist."""
    from scraper.extract.rules import load_rules

    rules = load_rules(settings.rules_dir)
    for source in settings.sources:
        if source.rule and rules.by_name(source.rule) is None:
            raise ConfigError(
                f"sources[{settings.sources.index(source)}].rule: no site rule named "
                f"{source.rule!r} (known: {', '.join(rules.names())})"
            )
    return rules


@asynccontextmanager
async def open_deps(
    settings: Settings,
    observer: Observer | None = None,
    *,
    role: str = "daemon",
    shared: bool = False,
    archive: Archive | None = None,
    state_thread: bool = False,
) -> AsyncIterator[Deps]:
    """Lock the state, open it, the archive and the HTTP client; close them after.
    ``role``, ``shared``: how the lock names this process, and whether others may
    hold it too (the workers of a cluster); ``archive``: the archive, when not the
    plain one at ``archive_dir``; ``state_thread``: the polls' state calls on a
    thread of their own (``StateThread``: a PostgreSQL state), not inline."""
    import asyncio

    from scraper.captures import WarcCaptures
    from scraper.deps import Deps, StateCalls, StateThread
    from scraper.extract_pool import ExtractPool
    from scraper.http import Fetcher, PageGate
    from scraper.images import ImageLocaliser
    from scraper.observer import Observer

    observer = observer or Observer()
    rules = load_checked_rules(settings)
    async with AsyncExitStack() as stack:
        stack.enter_context(acquire_lock(settings.state_target, role=role, shared=shared))
        state = stack.enter_context(State(settings.state_target))
        call_state = StateThread() if state_thread else StateCalls()
        stack.callback(call_state.close)  # before the state closes: its calls done
        archive = archive or Archive(settings.archive_dir)
        removed = await asyncio.to_thread(archive.remove_stale_temp_files)
        if removed:
            log_event(log, "archive.cleaned", removed=removed)
        archived = await asyncio.to_thread(archive.archived_paths)
        fetcher = Fetcher(
            settings.http,
            hooks=observer,
            allow_private_networks=settings.allow_private_networks,
            proxy=settings.proxy,
        )
        stack.push_async_callback(fetcher.aclose)
        extractor = ExtractPool(settings.extract_workers)
        stack.callback(extractor.close)
        yield Deps(
            extractor=extractor,
            # every connection busy, and a few pages more waiting for each worker
            pages=PageGate(settings.http.max_connections + 4 * max(1, extractor.workers)),
            settings=settings,
            fetcher=fetcher,
            state=state,
            call_state=call_state,
            archive=archive,
            rules=rules,
            archived=archived,
            observer=observer,
            images=ImageLocaliser(
                fetcher,
                settings.archive_dir,
                max_bytes=settings.image_max_size,
                base_url=settings.image_base_url,
                observer=observer,
            )
            if settings.images == "download"
            else None,
            captures=WarcCaptures(settings.captures_dir) if settings.captures == "warc" else None,
        )


async def run_once(
    settings: Settings, names: Sequence[str] = (), observer: Observer | None = None
) -> list[SourceResult]:
    from scraper.pipeline import run_sources

    sources = select_sources(settings, names)
    async with open_deps(settings, observer, role="once") as deps:
        # Sources in flight: enough that every connection finds work; the fetcher's
        # limits, not this, decide what goes on the wire.
        parallel = max(8, 4 * settings.http.max_connections)
        return await run_sources(deps, sources, parallel=parallel)


def poll_once(
    settings: Settings, names: Sequence[str] = (), observer: Observer | None = None
) -> list[SourceResult]:
    """``run_once`` in an event loop of its own. With nothing to poll, only what can
    fail or leaves a trace is done, without the event loop and the HTTP client."""
    if not select_sources(settings, names) and not _opening_http_can_fail(settings):
        _open_and_close_local(settings)
        return []
    import asyncio

    return asyncio.run(run_once(settings, names, observer))


def _opening_http_can_fail(settings: Settings) -> bool:
    """Whether ``open_deps`` may fail opening the HTTP client: only a CA bundle or a
    proxy can (one set, or one in the variables ``netguard.transports`` reads)."""
    variables = {name.lower() for name, value in os.environ.items() if value}
    return bool(
        settings.http.ca_bundle
        or settings.proxy
        or variables & {"http_proxy", "https_proxy", "all_proxy"}
    )


def _open_and_close_local(settings: Settings) -> None:
    """``open_deps`` for a run with nothing to poll, without the network parts: the
    same checks (rules, lock) and upkeep (state created or migrated, a crash's
    temporary files removed), and the same errors."""
    if settings.rules_dir or any(s.rule for s in settings.sources):
        load_checked_rules(settings)  # the shipped rules alone are known good
    with acquire_lock(settings.state_target, role="once"), State(settings.state_target):
        removed = Archive(settings.archive_dir).remove_stale_temp_files()
        if removed:
            log_event(log, "archive.cleaned", removed=removed)
