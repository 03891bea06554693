"""Builds the pipeline's dependencies from the settings and runs polls.

The one place where the real edges (HTTP client, SQLite, archive folder, rule
files) are opened and closed again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from scraper.archive import Archive
from scraper.config import Settings, SourceConfig
from scraper.errors import ConfigError
from scraper.extract.rules import RuleSet, load_rules
from scraper.images import ImageLocaliser
from scraper.logs import log_event
from scraper.observer import ObservedFetcher, Observer
from scraper.pipeline import Deps, run_sources
from scraper.state import State, acquire_lock
from scraper.types import SourceResult

log = logging.getLogger("scraper.runner")


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
    rules = load_rules(settings.rules_dir)
    for source in settings.sources:
        if source.rule and rules.by_name(source.rule) is None:
            raise ConfigError(
                f"sources[{settings.sources.index(source)}].rule: no site rule named "
                f"{source.rule!r} (known: {', '.join(rules.names())})"
            )
    return rules


@asynccontextmanager
async def open_deps(settings: Settings, observer: Observer | None = None) -> AsyncIterator[Deps]:
    """Lock the state, open it, the archive and the HTTP client; close them after."""
    observer = observer or Observer()
    rules = load_checked_rules(settings)
    async with AsyncExitStack() as stack:
        stack.enter_context(acquire_lock(settings.state_path))
        state = stack.enter_context(State(settings.state_path))
        archive = Archive(settings.archive_dir)
        removed = await asyncio.to_thread(archive.remove_stale_temp_files)
        if removed:
            log_event(log, "archive.cleaned", removed=removed)
        archived = await asyncio.to_thread(archive.archived_paths)
        fetcher = ObservedFetcher(
            settings.http,
            observer=observer,
            allow_private_networks=settings.allow_private_networks,
            proxy=settings.proxy,
        )
        stack.push_async_callback(fetcher.aclose)
        yield Deps(
            settings=settings,
            fetcher=fetcher,
            state=state,
            archive=archive,
            rules=rules,
            archived=archived,
            observer=observer,
            images=ImageLocaliser(
                fetcher, settings.archive_dir, max_bytes=settings.image_max_size, observer=observer
            )
            if settings.images == "download"
            else None,
        )


async def run_once(
    settings: Settings, names: Sequence[str] = (), observer: Observer | None = None
) -> list[SourceResult]:
    sources = select_sources(settings, names)
    async with open_deps(settings, observer) as deps:
        return await run_sources(deps, sources)
