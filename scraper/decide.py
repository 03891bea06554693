"""What to do with a source's entries, and when to poll it next.

Pure: takes the entries, what the state and the archive know, and ``now``;
returns a decision. No I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from scraper.types import Entry

MAX_BACKOFF = 6 * 3600.0  # seconds; a failing source is still tried four times a day
# How long after its n-th failed try an article is tried again: the first retry comes
# with the next poll, the later ones spread the default five tries over about nine
# hours, so that an outage of the article pages of an hour or two loses nothing.
RETRY_AFTER = (
    timedelta(0), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6),
    timedelta(hours=12),
)  # fmt: skip
JITTER_SPREAD = 0.1  # ± share of the delay, so sources polled together drift apart

EntryStatus = Literal["seen", "done", "failed"]


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """What the state remembers of one entry of one source."""

    source: str
    entry_id: str
    url: str
    status: EntryStatus  # "seen": first-seen time recorded, not archived yet
    attempts: int  # failed tries so far
    first_seen: datetime
    path: str | None = None  # relpath written, when done
    last_error: str | None = None
    last_try: datetime | None = None  # of a failed entry: when it last failed


def given_up(attempts: int, max_attempts: int) -> bool:
    """Whether an entry that failed ``attempts`` times is tried no more."""
    return attempts >= max_attempts


def last_chance(attempts_so_far: int, max_attempts: int, *, permanent: bool = False) -> bool:
    """Whether the try under way is an entry's last (its feed's own text is then
    archived when the page fails): the last of ``max_attempts``, or a failure that
    retrying will not mend."""
    return permanent or given_up(attempts_so_far + 1, max_attempts)


def due(next_poll: datetime | None, now: datetime, slack: timedelta = timedelta(0)) -> bool:
    """Whether a source whose next poll is ``next_poll`` (None: never polled) is due."""
    return next_poll is None or next_poll <= now + slack


def next_try(attempts: int, last_try: datetime) -> datetime:
    """When an entry that failed ``attempts`` times, last at ``last_try``, is due."""
    return last_try + RETRY_AFTER[min(max(attempts, 1), len(RETRY_AFTER)) - 1]


def retry_due(record: EntryRecord, now: datetime) -> bool:
    """Whether a failed entry may be tried again at ``now`` (``RETRY_AFTER``)."""
    if record.status != "failed" or record.attempts <= 0 or record.last_try is None:
        return True
    return now >= next_try(record.attempts, record.last_try)


@dataclass(frozen=True, slots=True)
class Plan:
    """The decision for one poll's entries; every entry lands in exactly one of
    ``fetch``, ``known``, ``gave_up``, ``deferred`` and ``waiting``."""

    fetch: tuple[Entry, ...]  # to fetch now, in feed order
    known: tuple[Entry, ...]  # archived already (includes the recovered ones)
    gave_up: tuple[Entry, ...]  # failed ``max_attempts`` times
    # archived (found by URL) but not marked done in the state: (entry, its relpath)
    recovered: tuple[tuple[Entry, str], ...]
    deferred: tuple[Entry, ...] = ()  # new, but over ``max_new``: next poll
    waiting: tuple[Entry, ...] = ()  # failed, and not due for another try yet


def _archived_at(entry: Entry, archived: Mapping[str, str]) -> str | None:
    """The relpath ``entry`` is archived at (``archived``: URL → relpath); None when
    it is not archived."""
    urls = [entry.link]
    # The old script wrote the feed's guid-as-link; a guid may be the URL we archived.
    if entry.id != entry.link and entry.id.startswith(("http://", "https://")):
        urls.append(entry.id)
    for url in urls:
        if (relpath := archived.get(url)) is not None:
            return relpath
    return None


def plan_entries(
    entries: Sequence[Entry],
    records: Mapping[str, EntryRecord],
    archived_urls: Mapping[str, str],
    *,
    max_attempts: int,
    max_new: int,
    now: datetime | None = None,
) -> Plan:
    """Sort a poll's entries (repeated ids counted once) into what to fetch, what is
    archived already, what waits for its next try (``retry_due`` at ``now``; None:
    every failed entry is due) and what to give up on. ``records`` is keyed by
    entry id; ``archived_urls`` maps URL → relpath (``Archive.archived_paths()``)."""
    fetch: list[Entry] = []
    known: list[Entry] = []
    gave_up: list[Entry] = []
    recovered: list[tuple[Entry, str]] = []
    deferred: list[Entry] = []
    waiting: list[Entry] = []
    seen_ids: set[str] = set()
    for entry in entries:
        if entry.id in seen_ids:
            continue
        seen_ids.add(entry.id)
        record = records.get(entry.id)
        if record is not None and record.status == "done":
            known.append(entry)
        elif (where := _archived_at(entry, archived_urls)) is not None:
            known.append(entry)
            recovered.append((entry, where))
        elif record is not None and given_up(record.attempts, max_attempts):
            gave_up.append(entry)
        elif record is not None and now is not None and not retry_due(record, now):
            waiting.append(entry)
        elif len(fetch) < max_new:
            fetch.append(entry)
        else:
            deferred.append(entry)
    return Plan(
        tuple(fetch),
        tuple(known),
        tuple(gave_up),
        tuple(recovered),
        tuple(deferred),
        tuple(waiting),
    )


def next_poll(
    now: datetime, interval: float, consecutive_failures: int, *, jitter: float
) -> datetime:
    """``interval`` doubled per consecutive failure, capped at 6 h (or ``interval``
    if longer), then spread by ±10%: ``jitter`` in [0, 1) maps to [-10%, +10%)."""
    if interval <= 0:
        raise ValueError(f"interval must be positive, not {interval}")
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter must be in [0, 1), not {jitter}")
    cap = max(interval, MAX_BACKOFF)
    failures = max(0, consecutive_failures)
    # Past 2**64 the cap has long been reached; avoid float overflow.
    delay = cap if failures >= 64 else min(interval * 2.0**failures, cap)
    delay *= 1 + JITTER_SPREAD * (2 * jitter - 1)
    return now + timedelta(seconds=delay)


def article_date(published: datetime | None, fetched: datetime) -> datetime:
    """The ``date:`` of a post: the publication time, unless that is later than when
    we first saw the article (a feed's future date), or unknown."""
    return fetched if published is None else min(published, fetched)
