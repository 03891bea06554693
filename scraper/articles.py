"""The entries of one poll: decided (``decide.plan_entries``), then each new one
fetched, captured, extracted, rendered and written; what became of each (done,
failed) is gathered for the poll's one write (``State.apply``), so an entry is
marked done only after its file is on disk."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial

from scraper.captures import capture_file
from scraper.config import SourceConfig
from scraper.decide import EntryRecord, article_date, given_up, last_chance, plan_entries
from scraper.deps import Deps
from scraper.errors import (
    ArchiveError,
    ExtractError,
    FetchError,
    ScraperError,
    SourceError,
)
from scraper.extract import missed_parts
from scraper.logs import log_event, since
from scraper.render import identity_suffix, relpath_for, render, text_digest
from scraper.source_page import HTML_TYPES, RuleSeen, rule_for, zone_for
from scraper.state import Done, Failed, State
from scraper.types import (
    Article,
    CaptureRef,
    Entry,
    EntryFailure,
    Extracted,
    Fetched,
)

log = logging.getLogger("scraper.pipeline")


@dataclass
class Tally:
    new: int = 0
    unchanged: int = 0
    gave_up: int = 0
    waiting: int = 0
    written: list[str] = field(default_factory=list)
    failed: list[EntryFailure] = field(default_factory=list)
    held_back: bool = False  # some entry will be retried: keep the validators unsaved
    rule_seen: list[RuleSeen] = field(default_factory=list)  # what rules' parts did
    stale_rules: tuple[str, ...] = ()
    done: list[Done] = field(default_factory=list)  # to mark done: each file on disk
    tries_failed: list[Failed] = field(default_factory=list)  # to count as failed tries


async def archive_entries(
    deps: Deps,
    source: SourceConfig,
    entries: tuple[Entry, ...],
    failed: Sequence[EntryRecord],
    now: datetime,
) -> Tally:
    """Archive what is new among ``entries`` (the source's listing this poll; empty
    when it is unchanged), and retry the source's failed entries that are due,
    listed or not: an article that fell off a listing still gets its tries (and one
    the archive holds by now, under another source or put there by hand, is marked
    done). ``failed``: the source's failed entries, as the poll's snapshot read them.
    Nothing is marked here: the tally says what to mark (``done``, ``tries_failed``)."""
    tally = Tally()
    if not entries and not failed:  # an unchanged source with nothing to retry
        return tally
    records = await deps.call_state(deps.state.entries, source.name, [e.id for e in entries])
    listed = {e.id for e in entries}
    unlisted = [
        record
        for record in failed
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
    tally.done.extend(
        Done(e.id, e.link, relpath) for e, relpath in (*plan.recovered, *retries.recovered)
    )
    tally.unchanged = len(plan.known)
    tally.gave_up = len(plan.gave_up)
    if plan.deferred:
        tally.held_back = True  # more than max_new: the rest comes next poll
    # a waiting entry is read from the feed again when due: its text is the last resort
    tally.held_back = tally.held_back or bool(plan.waiting)
    fetch = [*plan.fetch, *retries.fetch]
    tally.waiting = len(plan.waiting) + len(retries.waiting) + len(retries.deferred)
    # first seen now, all in one write: a post's date is min(published, first seen)
    unseen = [(e.id, e.link) for e in fetch if e.id not in records]
    await deps.call_state(deps.state.note_seen, source.name, unseen, now)

    async def one(entry: Entry) -> None:
        if deps.stopping.is_set():
            tally.held_back = True
            return
        if entry.link in deps.in_progress or entry.link in deps.archived:
            tally.unchanged += 1
            return
        deps.in_progress.add(entry.link)
        record = records.get(entry.id)
        try:
            done, paths = await _archive_entry(deps, source, entry, record, tally.rule_seen, now)
        except (SourceError, ArchiveError) as exc:
            reason = exc.reason if isinstance(exc, SourceError) else str(exc)
            tally.tries_failed.append(Failed(entry.id, entry.link, reason))
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
                attempt=(record.attempts if record else 0) + 1,
            )
        else:
            tally.done.append(done)
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
    try:
        await asyncio.gather(*(counted(e) for e in fetch))
    except BaseException:
        # one call for them all: given to the state whole, even if cancelled again
        await deps.call_state(_mark_written, deps.state, source.name, tuple(tally.done), now)
        raise
    return tally


def _mark_written(state: State, source: str, done: Sequence[Done], now: datetime) -> None:
    """A poll broken off (cancelled, or the state's or a bug's exception) still marks
    done what it wrote: as the next poll would, but with each post's digest."""
    for entry in done:
        with contextlib.suppress(ScraperError):
            state.mark_done(
                source, entry.entry_id, entry.url, entry.path, now,
                capture=entry.capture, digest=entry.digest, missed=entry.missed,
            )  # fmt: skip


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
    if page.content_type not in HTML_TYPES:
        if deps.pages is not None:
            deps.pages.release()  # no page to hold
        if entry.content:
            return None
        raise FetchError(entry.link, f"not an HTML page ({page.content_type})", permanent=True)
    return page


def page_input(page: Fetched) -> str | bytes:
    """What the extractor reads of a page: its bytes when they are the UTF-8 of its
    text (the parser reads UTF-8: no encoding again, and no large text to pickle for
    a worker), else its text."""
    if codecs.lookup(page.encoding).name == "utf-8" and "\ufffd" not in page.text:
        return page.content  # (a strict decode: the text encodes back to these bytes)
    return page.text


async def _extract(
    deps: Deps, source: SourceConfig, entry: Entry, page: Fetched | None
) -> Extracted:
    """The article of ``page`` (or of the feed entry alone); gives back the page's
    place at the gate once done with it."""
    try:
        page_url = page.url if page else entry.link
        rule = rule_for(deps.rules, source, page_url)
        tz = zone_for(source, rule)
        return await deps.extractor.extract(
            page_input(page) if page else None,
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
    record: EntryRecord | None,
    seen: list[RuleSeen],
    now: datetime,
) -> tuple[Done, tuple[str, ...]]:
    """Archives one entry (``record``: what the state knew of it, if anything): what
    to mark it done with, once written, and the relpaths written, the post's first
    (then its images). What its rule's parts did goes into ``seen``."""
    started = time.monotonic()
    state = deps.state
    first_seen = record.first_seen if record is not None else now
    page = await _fetch_page(deps, source, entry, record.attempts if record else 0)
    capture = await _capture(deps, source, page, now) if page is not None else None
    if capture is not None:
        await deps.call_state(state.note_capture, source.name, entry.id, capture)
    extracted = await _extract(deps, source, entry, page)
    del page  # the page's memory goes now, not after the write
    if extracted.rule is not None:
        seen.extend((extracted.rule, part, ok, entry.link) for part, ok in extracted.rule_parts)
    if not extracted.body.strip():
        raise ExtractError(entry.link, "no article text found on the page or in the feed")
    article = article_of(entry, extracted, source, first_seen)
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
    done = Done(entry.id, entry.link, relpath, capture, text_digest(text), missed_parts(extracted))
    deps.archived[entry.link] = relpath
    log_event(
        log,
        "article.written",
        source=source.name,
        url=entry.link,
        outcome="written",
        path=relpath,
        method=extracted.method,
        duration=since(started),
    )
    deps.observer.article_written(
        source.name, method=extracted.method, duration=time.monotonic() - started
    )
    return done, (relpath, *assets)


async def _capture(
    deps: Deps, source: SourceConfig, page: Fetched, when: datetime
) -> CaptureRef | None:
    """The page kept as a WARC record, durably, before anything is made of it."""
    if deps.captures is None:
        return None
    captures = deps.captures
    name = capture_file(source.name, when)
    # where the state's last capture in the file ends (once per file)
    known_end = (
        None if captures.checked(name) else await deps.call_state(deps.state.capture_end, name)
    )
    try:
        return await asyncio.to_thread(captures.write, source.name, page, when, known_end)
    except OSError as exc:
        if deps.pages is not None:
            deps.pages.release()  # the page is not extracted: its place at the gate goes
        raise ArchiveError(str(exc)) from exc


def article_of(
    entry: Entry, extracted: Extracted, source: SourceConfig, first_seen: datetime
) -> Article:
    """The post an entry of ``source`` makes, from what was extracted of its page."""
    return Article(
        id=entry.id,
        url=entry.link,
        title=extracted.title or entry.title or entry.link,
        body=extracted.body,
        published=_in_range(entry.published) or _in_range(extracted.published),
        fetched=first_seen,
        # the configured author; else the feed's, else the page's (metadata or byline)
        author=source.author if source.author is not None else entry.author or extracted.author,
        tags=source.tags or entry.tags,
        categories=source.categories,
        layout=source.layout,
        method=extracted.method,
    )


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
