"""What a poll needs, in one frozen record; the edges (HTTP, disk, SQLite, clock)
are swappable."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from scraper.archive import Archive
from scraper.captures import WarcCaptures
from scraper.config import Settings
from scraper.extract.rules import RuleSet
from scraper.extract_pool import ExtractPool
from scraper.http import Fetcher, PageGate
from scraper.images import ImageLocaliser
from scraper.observer import Observer
from scraper.state import State


def utc_now() -> datetime:
    return datetime.now(UTC)


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
