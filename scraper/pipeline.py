"""One poll of one source: fetch → parse → decide → fetch pages → extract →
render → write → mark done.

``run_source`` never raises for expected trouble (``ScraperError``): a failed
source or entry becomes part of the ``SourceResult``; anything else is a bug and
propagates. An entry is marked done only after its file is on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from functools import partial
from zoneinfo import ZoneInfo

from scraper.archive import Archive
from scraper.captures import WarcCaptures, capture_file
from scraper.config import Settings, SourceConfig
from scraper.decide import article_date, given_up, last_chance, next_poll, plan_entries
from scraper.errors import (
    ArchiveError,
    ExtractError,
    FetchError,
    ParseError,
    ScraperError,
    SourceError,
)
from scraper.extract import missed_parts
from scraper.extract.rules import Rule, RuleSet
from scraper.extract_pool import ExtractPool
from scraper.http import Fetcher, PageGate
from scraper.images import ImageLocaliser
from scraper.logs import log_event
from scraper.observer import Observer
from scraper.render import identity_suffix, relpath_for, render, text_digest
from scraper.sources.feed import parse_feed
from scraper.sources.listing import links_matching, parse_listing
from scraper.state import State
from scraper.types import (
    Article,
    CaptureRef,
    Entry,
    EntryFailure,
    Extracted,
    Fetched,
    NotModified,
    ParsedSource,
    SourceResult,
)

log = logging.getLogger("scraper.pipeline")

_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


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


@dataclass
class _Tally:
    new: int = 0
    unchanged: int = 0
    gave_up: int = 0
    waiting: int = 0
    written: list[str] = field(default_factory=list)
    failed: list[EntryFailure] = field(default_factory=list)
    held_back: bool = False  # some entry will be retried: keep the validators unsaved
    rule_seen: list[RuleSeen] = field(default_factory=list)  # what rules' parts did
    stale_rules: tuple[str, ...] = ()


def rule_for(rules: RuleSet, source: SourceConfig, url: str) -> Rule | None:
    """The site rule for a page of ``source``: the one it names, else its host's."""
    if source.rule:
        return rules.by_name(source.rule)
    return rules.for_url(url) or rules.for_url(source.url)


def zone_for(source: SourceConfig, rule: Rule | None) -> tzinfo:
    """The zone for times a page gives without one: the source's, else its rule's."""
    return source.zone if source.timezone or not rule else ZoneInfo(rule.timezone)


def _rule_for(deps: Deps, source: SourceConfig, url: str) -> Rule | None:
    return rule_for(deps.rules, source, url)


# What a rule's part did on a page: (rule, part, matched, url).
RuleSeen = tuple[str, str, bool, str]


class _NoLinks(ParseError):
    """A listing without article links; ``seen``: its rule's listing part missed."""

    def __init__(self, url: str, reason: str, seen: tuple[RuleSeen, ...]) -> None:
        super().__init__(url, reason)
        self.seen = seen


def _parse(
    deps: Deps, source: SourceConfig, fetched: Fetched
) -> tuple[ParsedSource, tuple[RuleSeen, ...]]:
    """The entries of the source's page, and what its rule's listing part did."""
    if source.kind == "feed":
        parsed = parse_feed(
            fetched.content,
            fetched.url,
            default_tz=source.zone,
            content_type=fetched.content_type,
            encoding=fetched.encoding,
        )
        return parsed, ()
    if not _may_be_html(fetched):
        raise ParseError(fetched.url, f"not an HTML page ({fetched.content_type or 'binary'})")
    rule = _rule_for(deps, source, fetched.url)
    selectors = [source.links] if source.links else list(rule.listing_links if rule else ())
    if not selectors:
        raise SourceError(
            source.url, "a listing source needs a `links:` selector or a site rule for its host"
        )
    by_rule = rule is not None and not source.links
    title_selector = rule.listing_title if rule and by_rule else None
    parsed = ParsedSource(entries=())
    for selector in selectors:
        parsed = parse_listing(
            fetched.text, fetched.url, selector=selector, title_selector=title_selector
        )
        if parsed.entries:
            return parsed, ((rule.name, "listing", True, fetched.url),) if rule and by_rule else ()
    missed: tuple[RuleSeen, ...] = (
        ((rule.name, "listing", False, fetched.url),) if rule and by_rule else ()
    )
    if rule is not None and by_rule and rule.article_urls:
        patterns = [re.compile(p) for p in rule.article_urls]
        found = links_matching(fetched.text, fetched.url, patterns)
        if found.entries:  # the selectors are stale, the articles still come
            problem = (
                f"rule {rule.name}: no listing selector matched; {len(found.entries)} links "
                "taken by their address (article_urls)"
            )
            return replace(found, problem=problem), missed
    # An empty listing almost always means the site changed its layout: say so.
    reason = parsed.problem or "no article links found (has the page layout changed?)"
    raise _NoLinks(fetched.url, reason, missed)


def _may_be_html(fetched: Fetched) -> bool:
    """Whether a listing page can be HTML: no NUL in its first bytes (unless UTF-16
    says so with its byte order mark), and a type that says HTML, text, nothing, or
    nothing useful (octet-stream)."""
    head = fetched.content[:1024]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    kind = fetched.content_type
    return kind in _HTML_TYPES or kind == "application/octet-stream"


async def run_source(deps: Deps, source: SourceConfig, now: datetime | None = None) -> SourceResult:
    """Poll ``source`` once and archive what is new. ``now``: the poll's one time
    (every decision and every time it records), the clock's when not given."""
    now = now if now is not None else deps.clock()
    deps.observer.source_started(source.name)
    started = time.monotonic()
    try:
        result = await _poll(deps, source, now)
    except ScraperError as exc:
        _tell_finished(deps, SourceResult(source=source.name, error=str(exc)), started)
        raise
    _tell_finished(deps, result, started)
    return result


def _tell_finished(deps: Deps, result: SourceResult, started: float) -> None:
    try:
        health = deps.state.health(result.source)
    except ScraperError:  # the state's trouble is reported with the result already
        health = None
    deps.observer.source_finished(
        result,
        duration=time.monotonic() - started,
        last_success=health.last_success if health else None,
        consecutive_failures=health.consecutive_failures if health else 0,
    )


async def _poll(deps: Deps, source: SourceConfig, now: datetime) -> SourceResult:
    started = time.monotonic()
    state = deps.state
    validators = state.validators(source.name, source.url)
    try:
        answer = await deps.fetcher.get(source.url, validators=validators)
        if isinstance(answer, NotModified):
            return await _unchanged(deps, source, now, "304", started)
        digest = _digest(source, answer) if source.kind == "feed" else None
        if digest is not None and digest == state.feed_digest(source.name, source.url):
            return await _unchanged(deps, source, now, "same body", started)
        # parsing a big feed takes seconds: off the event loop, so downloads go on
        parsed, seen = await asyncio.to_thread(_parse, deps, source, answer)
    except SourceError as exc:
        missed = _note_rules(deps, source, exc.seen if isinstance(exc, _NoLinks) else (), now)
        failures = state.health(source.name).consecutive_failures + 1
        retry_at = next_poll(now, source.interval, failures, jitter=deps.rng())
        state.record_failure(source.name, exc.reason, now, retry_at)
        log_event(
            log,
            "source.failed",
            logging.WARNING,
            source=source.name,
            url=exc.url,
            outcome="failed",
            reason=exc.reason,
            duration=_since(started),
        )
        return SourceResult(
            source=source.name, error=f"{exc.url}: {exc.reason}", stale_rules=missed
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
    tally = await _archive_entries(deps, source, parsed.entries, now)
    tally.stale_rules = _note_rules(deps, source, (*seen, *tally.rule_seen), now)
    if not tally.held_back:
        state.save_validators(source.name, source.url, answer.validators)
        if digest is not None:
            state.save_feed_digest(source.name, source.url, digest)
    _record_success(deps, source, now)
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
        duration=_since(started),
    )
    return _result(source, tally, degraded=parsed.problem)


def _result(source: SourceConfig, tally: _Tally, degraded: str | None = None) -> SourceResult:
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
    )


async def _unchanged(
    deps: Deps, source: SourceConfig, now: datetime, outcome: str, started: float
) -> SourceResult:
    """A poll that found the source as it was: nothing to parse, but the failed
    entries that are due are tried again."""
    tally = await _archive_entries(deps, source, (), now)
    tally.stale_rules = _note_rules(deps, source, tally.rule_seen, now)
    _record_success(deps, source, now)
    log_event(
        log,
        "source.unchanged",
        source=source.name,
        url=source.url,
        outcome=outcome,
        new=tally.new,
        waiting=tally.waiting,
        failed=len(tally.failed),
        duration=_since(started),
    )
    return _result(source, tally)


def _digest(source: SourceConfig, answer: Fetched) -> str:
    """Of the body and the source's settings: the same feed parsed the same way."""
    digest = hashlib.sha256(answer.content)
    digest.update(source.model_dump_json().encode())
    return digest.hexdigest()


def _record_success(deps: Deps, source: SourceConfig, now: datetime) -> None:
    deps.state.record_success(
        source.name, now, next_poll(now, source.interval, 0, jitter=deps.rng())
    )


def _since(started: float) -> str:
    return f"{time.monotonic() - started:.3f}s"


async def _archive_entries(
    deps: Deps, source: SourceConfig, entries: tuple[Entry, ...], now: datetime
) -> _Tally:
    """Archive what is new among ``entries`` (the source's listing this poll; empty
    when it is unchanged), and retry the source's failed entries that are due,
    listed or not: an article that fell off a listing still gets its tries (and one
    the archive holds by now, under another source or put there by hand, is marked
    done)."""
    tally = _Tally()
    records = deps.state.entries(source.name, [e.id for e in entries])
    listed = {e.id for e in entries}
    unlisted = [
        record
        for record in deps.state.failed_of(source.name)
        if record.entry_id not in listed
        and not given_up(record.attempts, deps.settings.max_attempts)
    ]
    records.update((record.entry_id, record) for record in unlisted)
    decide = partial(
        plan_entries,
        records=records,
        archived_urls=deps.archived,
        max_attempts=deps.settings.max_attempts,
        max_new=source.max_new,
        now=now,
    )
    plan = decide(entries)
    # the unlisted ones are decided apart: they neither hold back the listing's
    # validators nor take its max_new
    retries = decide([Entry(id=r.entry_id, link=r.url) for r in unlisted])
    for entry, relpath in (*plan.recovered, *retries.recovered):
        deps.state.mark_done(source.name, entry.id, entry.link, relpath, now)
    tally.unchanged = len(plan.known)
    tally.gave_up = len(plan.gave_up)
    if plan.deferred:
        tally.held_back = True  # more than max_new: the rest comes next poll
    # a waiting entry is read from the feed again when due: its text is the last resort
    tally.held_back = tally.held_back or bool(plan.waiting)
    fetch = [*plan.fetch, *retries.fetch]
    tally.waiting = len(plan.waiting) + len(retries.waiting) + len(retries.deferred)

    async def one(entry: Entry) -> None:
        if deps.stopping.is_set():
            tally.held_back = True
            return
        if entry.link in deps.in_progress or entry.link in deps.archived:
            tally.unchanged += 1
            return
        deps.in_progress.add(entry.link)
        try:
            record = records.get(entry.id)
            paths = await _archive_entry(
                deps, source, entry, record.attempts if record else 0, tally.rule_seen, now
            )
        except (SourceError, ArchiveError) as exc:
            reason = exc.reason if isinstance(exc, SourceError) else str(exc)
            attempts = deps.state.mark_failed(source.name, entry.id, entry.link, reason, now)
            tally.failed.append(EntryFailure(url=entry.link, reason=reason))
            tally.held_back = True
            deps.observer.article_failed(source.name, reason=reason)
            log_event(
                log,
                "article.failed",
                logging.WARNING,
                source=source.name,
                url=entry.link,
                outcome="failed",
                reason=reason,
                attempt=attempts,
            )
        else:
            tally.new += 1
            tally.written.extend(paths)
        finally:
            deps.in_progress.discard(entry.link)

    async def counted(entry: Entry) -> None:
        try:
            await one(entry)
        finally:
            deps.observer.queue_changed(-1)

    deps.observer.queue_changed(len(fetch))
    await asyncio.gather(*(counted(e) for e in fetch))
    return tally


async def _fetch_page(
    deps: Deps, source: SourceConfig, entry: Entry, attempts_so_far: int
) -> Fetched | None:
    """The article page, or None when the feed's own content must do."""
    if not source.fetch_article:
        return None
    try:
        page = await deps.fetcher.get_page(
            entry.link, accept="text/html,application/xhtml+xml", gate=deps.pages
        )
    except FetchError as exc:
        last_try = last_chance(attempts_so_far, deps.settings.max_attempts, permanent=exc.permanent)
        if entry.content and last_try:
            log_event(
                log,
                "article.page_unavailable",
                logging.WARNING,
                source=source.name,
                url=entry.link,
                reason=exc.reason,
                outcome="using feed content",
            )
            return None
        raise
    if page.content_type not in _HTML_TYPES:
        if deps.pages is not None:
            deps.pages.release()  # no page to hold
        if entry.content:
            return None
        raise FetchError(entry.link, f"not an HTML page ({page.content_type})", permanent=True)
    return page


async def _extract(
    deps: Deps, source: SourceConfig, entry: Entry, page: Fetched | None
) -> Extracted:
    """The article of ``page`` (or of the feed entry alone); gives back the page's
    place at the gate once done with it."""
    try:
        page_url = page.url if page else entry.link
        rule = _rule_for(deps, source, page_url)
        tz = zone_for(source, rule)
        return await deps.extractor.extract(
            page.text if page else None,
            page_url,
            rule=rule,
            feed_content=entry.content,
            feed_title=entry.title,
            default_tz=tz,
        )
    finally:
        if page is not None and deps.pages is not None:
            deps.pages.release()


async def _archive_entry(  # noqa: PLR0917 (one caller)
    deps: Deps,
    source: SourceConfig,
    entry: Entry,
    attempts: int,
    seen: list[RuleSeen],
    now: datetime,
) -> tuple[str, ...]:
    """Archives one entry (tried ``attempts`` times before); the relpaths written, the
    post's first (then its images). What its rule's parts did goes into ``seen``."""
    started = time.monotonic()
    state = deps.state
    first_seen = state.first_seen(source.name, entry.id, entry.link, now)
    page = await _fetch_page(deps, source, entry, attempts)
    capture = await _capture(deps, source, page, now) if page is not None else None
    if capture is not None:
        state.note_capture(source.name, entry.id, capture)
    extracted = await _extract(deps, source, entry, page)
    del page  # the page's memory goes now, not after the write
    if extracted.rule is not None:
        seen.extend((extracted.rule, part, ok, entry.link) for part, ok in extracted.rule_parts)
    if not extracted.body.strip():
        raise ExtractError(entry.link, "no article text found on the page or in the feed")
    article = Article(
        id=entry.id,
        url=entry.link,
        title=extracted.title or entry.title or entry.link,
        body=extracted.body,
        published=_in_range(entry.published) or _in_range(extracted.published),
        fetched=first_seen,
        author=source.author if source.author is not None else entry.author,
        tags=source.tags or entry.tags,
        categories=source.categories,
        layout=source.layout,
        method=extracted.method,
    )
    assets: tuple[str, ...] = ()
    if deps.images is not None:
        body, assets = await deps.images.localise(
            article.body,
            year=article_date(article.published, article.fetched).year,
            source=source.name,
            article=article.url,
        )
        article = replace(article, body=body)
    text = render(article)
    candidates = [
        relpath_for(article, template=source.path),
        relpath_for(article, template=source.path, suffix=identity_suffix(article.id)),
    ]
    relpath = await asyncio.to_thread(deps.archive.write, candidates, text, article.url)
    digest = text_digest(text)
    state.mark_done(
        source.name,
        entry.id,
        entry.link,
        relpath,
        now,
        capture=capture,
        digest=digest,
        missed=missed_parts(extracted),
    )
    deps.archived[entry.link] = relpath
    log_event(
        log,
        "article.written",
        source=source.name,
        url=entry.link,
        outcome="written",
        path=relpath,
        method=extracted.method,
        duration=_since(started),
    )
    deps.observer.article_written(
        source.name, method=extracted.method, duration=time.monotonic() - started
    )
    return (relpath, *assets)


def _note_rules(
    deps: Deps, source: SourceConfig, seen: Sequence[RuleSeen], now: datetime
) -> tuple[str, ...]:
    """Records what the rules' parts did in this poll; says when one begins or ends
    to miss. The parts that missed in it: ``("zaobao listing", …)``."""
    if not seen:
        return ()
    for change in deps.state.record_rule_parts(source.name, seen, now):
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


async def _capture(
    deps: Deps, source: SourceConfig, page: Fetched, when: datetime
) -> CaptureRef | None:
    """The page kept as a WARC record, durably, before anything is made of it."""
    if deps.captures is None:
        return None
    captures = deps.captures
    name = capture_file(source.name, when)
    # the state is read here, on its own thread: where its last capture in the file ends
    known_end = None if captures.checked(name) else deps.state.capture_end(name)
    try:
        return await asyncio.to_thread(captures.write, source.name, page, when, known_end)
    except OSError as exc:
        if deps.pages is not None:
            deps.pages.release()  # the page is not extracted: its place at the gate goes
        raise ArchiveError(str(exc)) from exc


def _in_range(when: datetime | None) -> datetime | None:
    """``when``, unless it has no UTC equivalent (year 1 east of Greenwich, 9999 west):
    a feed's date is untrusted input, and such a date is as good as none."""
    if when is None:
        return None
    try:
        when.astimezone(UTC)
    except OverflowError:
        return None
    return when


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
