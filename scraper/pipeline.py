"""One poll of one source: what the state knows of it read at once (``State.snapshot``),
its page fetched (with the validators kept) and parsed (``source_page``), its
entries archived (``articles``: decide → fetch pages → capture → extract → render
→ write), and the outcome written at once (``State.apply``): the entries done and
failed, the source's success or failure, validators, feed digest and rule parts.
The state is called through ``deps.call_state``: inline (the daemon, SQLite), or
in a thread of its own (``scrape worker``, PostgreSQL), so that a silent server
holds this poll and not the event loop. The result carries the next poll it
recorded.

``run_source`` never raises for expected trouble (``ScraperError``): a failed
source or entry becomes part of the ``SourceResult``; anything else is a bug and
propagates. An entry is marked done only after its file is on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from scraper.articles import Tally, archive_entries
from scraper.config import SourceConfig
from scraper.decide import next_poll
from scraper.deps import Deps
from scraper.errors import (
    ScraperError,
    SourceError,
)
from scraper.logs import log_event, since
from scraper.source_page import NoLinks, RuleSeen, parse_source
from scraper.state import EntryRecord, Outcome, RuleChange, Snapshot
from scraper.types import (
    Fetched,
    NotModified,
    SourceResult,
)

log = logging.getLogger("scraper.pipeline")


async def run_source(deps: Deps, source: SourceConfig, now: datetime | None = None) -> SourceResult:
    """Poll ``source`` once and archive what is new. ``now``: the poll's one time
    (every decision and every time it records), the clock's when not given."""
    now = now if now is not None else deps.clock()
    deps.observer.source_started(source.name)
    started = time.monotonic()
    try:
        known = await deps.call_state(deps.state.snapshot, source.name, source.url)
        result = await _poll(deps, source, now, known)
    except ScraperError as exc:
        result = SourceResult(source=source.name, error=str(exc))
        _tell_finished(deps, result, started, *await _health_of(deps, source.name))
        raise
    if result.error is None:
        _tell_finished(deps, result, started, now, 0)
    else:
        _tell_finished(deps, result, started, known.last_success, known.consecutive_failures + 1)
    return result


async def _health_of(deps: Deps, source: str) -> tuple[datetime | None, int]:
    """The source's last success and failures in a row, as the state has them."""
    try:
        health = await deps.call_state(deps.state.health, source)
    except ScraperError:  # the state's trouble is reported with the result already
        return None, 0
    return health.last_success, health.consecutive_failures


def _tell_finished(
    deps: Deps, result: SourceResult, started: float, last_success: datetime | None, failures: int
) -> None:
    deps.observer.source_finished(
        result,
        duration=time.monotonic() - started,
        last_success=last_success,
        consecutive_failures=failures,
    )


async def _poll(deps: Deps, source: SourceConfig, now: datetime, known: Snapshot) -> SourceResult:
    started = time.monotonic()
    state = deps.state
    try:
        answer = await deps.fetcher.get(source.url, validators=known.validators)
        if isinstance(answer, NotModified):
            return await _unchanged(deps, source, now, "304", started, known.failed)
        digest = _digest(source, answer) if source.kind == "feed" else None
        if digest is not None and digest == known.feed_digest:
            return await _unchanged(deps, source, now, "same body", started, known.failed)
        # parsing a big feed takes seconds: off the event loop, so downloads go on
        parsed, seen = await asyncio.to_thread(parse_source, deps.rules, source, answer)
    except SourceError as exc:
        listing_seen = exc.seen if isinstance(exc, NoLinks) else ()
        failures = known.consecutive_failures + 1
        retry_at = next_poll(now, source.interval, failures, jitter=deps.rng())
        failure = Outcome(
            source.name, source.url, now, retry_at, error=exc.reason, seen=listing_seen
        )
        missed = _told(deps, await deps.call_state(state.apply, failure), listing_seen)
        log_event(
            log,
            "source.failed",
            logging.WARNING,
            source=source.name,
            url=exc.url,
            outcome="failed",
            reason=exc.reason,
            duration=since(started),
        )
        return SourceResult(
            source=source.name,
            error=f"{exc.url}: {exc.reason}",
            stale_rules=missed,
            next_poll=retry_at,
        )

    if parsed.problem:
        log_event(
            log,
            "source.degraded",
            logging.WARNING,
            source=source.name,
            url=source.url,
            reason=parsed.problem,
        )
    tally = await archive_entries(deps, source, parsed.entries, known.failed, now)
    all_seen = (*seen, *tally.rule_seen)
    outcome = _outcome(deps, source, now, tally, seen=all_seen)
    if not tally.held_back:
        outcome = replace(outcome, validators=answer.validators, digest=digest)
    tally.stale_rules = _told(deps, await deps.call_state(state.apply, outcome), all_seen)
    log_event(
        log,
        "source.polled",
        source=source.name,
        url=source.url,
        outcome="ok" if not tally.failed else "partial",
        new=tally.new,
        unchanged=tally.unchanged,
        gave_up=tally.gave_up,
        waiting=tally.waiting,
        failed=len(tally.failed),
        duration=since(started),
    )
    return _result(source, tally, outcome.next_poll, degraded=parsed.problem)


def _result(
    source: SourceConfig, tally: Tally, next_poll: datetime, degraded: str | None = None
) -> SourceResult:
    return SourceResult(
        source=source.name,
        new=tally.new,
        unchanged=tally.unchanged,
        gave_up=tally.gave_up,
        waiting=tally.waiting,
        failed=tuple(tally.failed),
        degraded=degraded,
        written=tuple(tally.written),
        stale_rules=tally.stale_rules,
        next_poll=next_poll,
    )


async def _unchanged(  # noqa: PLR0917 (two callers, alike)
    deps: Deps,
    source: SourceConfig,
    now: datetime,
    outcome: str,
    started: float,
    failed: Sequence[EntryRecord],
) -> SourceResult:
    """A poll that found the source as it was: nothing to parse, but the failed
    entries that are due are tried again."""
    tally = await archive_entries(deps, source, (), failed, now)
    polled = _outcome(deps, source, now, tally, seen=tally.rule_seen)
    tally.stale_rules = _told(
        deps, await deps.call_state(deps.state.apply, polled), tally.rule_seen
    )
    log_event(
        log,
        "source.unchanged",
        source=source.name,
        url=source.url,
        outcome=outcome,
        new=tally.new,
        waiting=tally.waiting,
        failed=len(tally.failed),
        duration=since(started),
    )
    return replace(_result(source, tally, polled.next_poll), not_modified=outcome == "304")


def _digest(source: SourceConfig, answer: Fetched) -> str:
    """Of the body and the source's settings: the same feed parsed the same way."""
    digest = hashlib.sha256(answer.content)
    digest.update(source.model_dump_json().encode())
    return digest.hexdigest()


def _outcome(
    deps: Deps, source: SourceConfig, now: datetime, tally: Tally, *, seen: Sequence[RuleSeen]
) -> Outcome:
    """A successful poll's outcome (validators and digest kept as they are): its
    entries done and failed, and when the source is due again."""
    return Outcome(
        source.name,
        source.url,
        now,
        next_poll(now, source.interval, 0, jitter=deps.rng()),
        done=tally.done,
        failed=tally.tries_failed,
        seen=seen,
    )


def _told(deps: Deps, changes: Sequence[RuleChange], seen: Sequence[RuleSeen]) -> tuple[str, ...]:
    """Says when a rule part begins or ends to miss (the state's ``changes``), and
    counts what each did; the parts that missed in this poll: ``("zaobao listing", …)``."""
    for change in changes:
        stale = change.change == "stale"
        log_event(
            log,
            "rule.stale" if stale else "rule.recovered",
            logging.WARNING if stale else logging.INFO,
            rule=change.rule,
            part=change.part,
            source=change.source,
            url=change.url,
            reason="its selectors found nothing" if stale else None,
        )
    for rule, part, matched, _ in seen:
        deps.observer.rule_part(rule, part, matched=matched)
    return tuple(dict.fromkeys(f"{rule} {part}" for rule, part, matched, _ in seen if not matched))


async def run_sources(
    deps: Deps, sources: list[SourceConfig], *, parallel: int = 8
) -> list[SourceResult]:
    """Poll several sources, at most ``parallel`` at a time, results in order."""
    gate = asyncio.Semaphore(parallel)

    async def guarded(source: SourceConfig) -> SourceResult:
        async with gate:
            if deps.stopping.is_set():
                return SourceResult(source=source.name, error="stopped before polling")
            try:
                return await run_source(deps, source)
            except ScraperError as exc:  # e.g. state or archive trouble for the whole source
                return SourceResult(source=source.name, error=str(exc))

    return list(await asyncio.gather(*(guarded(s) for s in sources)))
