"""The state database: entries seen per source, HTTP validators, and source
health; and the lock that keeps two scrapes off the same state.

It is a SQLite file by default, or a PostgreSQL database (``state_url``) that
several workers share; every query is written once, and ``statedb`` translates
what the two databases spell differently. Every method is its own short
transaction, so a crash loses at most the call under way. Times are stored as
ISO-8601 UTC text. The database's errors become ``StateError``; misuse (a closed
database, bad arguments) still raises.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from scraper.decide import EntryRecord
from scraper.errors import StateError
from scraper.statedb import BUSY_TIMEOUT_MS, Db, PostgresDb, is_database_url, open_db, redact_url
from scraper.types import CaptureRef, Validators

__all__ = [
    "BUSY_TIMEOUT_MS", "Done", "EntryRecord", "Failed", "Outcome", "Post", "RuleChange",
    "RulePart", "Snapshot", "SourceHealth", "SourcesChange", "State", "acquire_lock",
    "is_database_url", "redact_url", "state_exists",
]  # fmt: skip

_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit

# Each step moves the schema from version N to N + 1 (SQLite's user_version, or the
# table scraper_schema in PostgreSQL, whose DDL ``statedb`` translates); append,
# never edit.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE entries (
        source TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        url TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('seen', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        first_seen TEXT NOT NULL,
        path TEXT,
        last_error TEXT,
        updated TEXT NOT NULL,
        PRIMARY KEY (source, entry_id)
    ) WITHOUT ROWID;
    CREATE INDEX entries_done_url ON entries (url) WHERE status = 'done';
    CREATE TABLE validators (
        source TEXT NOT NULL,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        PRIMARY KEY (source, url)
    ) WITHOUT ROWID;
    CREATE TABLE sources (
        source TEXT PRIMARY KEY,
        last_success TEXT,
        last_error TEXT,
        last_error_at TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_poll TEXT
    );
    """,
    # The SHA-256 of the last feed body whose every entry was dealt with: a server
    # that sends no validators, and the same bytes again, costs no parsing.
    """
    CREATE TABLE feed_digests (
        source TEXT NOT NULL,
        url TEXT NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (source, url)
    ) WITHOUT ROWID;
    """,
    # Every poll looks for its source's failed entries to retry: without this, that
    # reads all the entries the source ever had.
    """
    CREATE INDEX entries_failed ON entries (source, updated) WHERE status = 'failed';
    """,
    # Where each post's page was captured (captures: warc): the WARC file, relative
    # to captures_dir, and the offset and length of the response record in it; and
    # the SHA-256 of the file as the scraper wrote it (a post edited by hand differs).
    """
    ALTER TABLE entries ADD COLUMN digest TEXT;
    ALTER TABLE entries ADD COLUMN capture TEXT;
    ALTER TABLE entries ADD COLUMN capture_offset INTEGER;
    ALTER TABLE entries ADD COLUMN capture_length INTEGER;
    CREATE INDEX entries_capture ON entries (capture) WHERE capture IS NOT NULL;
    """,
    # Which parts of each site rule matched lately (listing links, body, title,
    # published time), and the posts made while a part of their rule missed.
    """
    CREATE TABLE rule_parts (
        rule TEXT NOT NULL,
        part TEXT NOT NULL,
        last_match TEXT,
        last_miss TEXT,
        misses INTEGER NOT NULL DEFAULT 0,
        misses_total INTEGER NOT NULL DEFAULT 0,
        stale_since TEXT,
        stale_source TEXT,
        stale_url TEXT,
        PRIMARY KEY (rule, part)
    ) WITHOUT ROWID;
    ALTER TABLE entries ADD COLUMN missed TEXT;
    """,
    # Nothing looks entries up by URL any more (the archive answers that): the index
    # only cost a write per archived article.
    """
    DROP INDEX IF EXISTS entries_done_url;
    """,
    # Several workers on one archive (``scrape worker``): the file names claimed, so
    # that two never write one name (or two differing only in case) for two
    # articles; and the sources the cluster polls, as the last reconciliation of a
    # worker's config left them (config: the source's settings as JSON).
    """
    CREATE TABLE archive_names (
        folder TEXT NOT NULL,
        folded TEXT NOT NULL,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        claimed TEXT NOT NULL,
        PRIMARY KEY (folder, folded)
    ) WITHOUT ROWID;
    CREATE INDEX archive_names_url ON archive_names (url);
    CREATE TABLE cluster_sources (
        source TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        updated TEXT NOT NULL
    );
    """,
    # The one archive path of each article the workers of a cluster write: the
    # same article in two feeds, polled at once by two workers, is one file.
    """
    CREATE TABLE archive_urls (
        url TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        claimed TEXT NOT NULL
    );
    """,
)


_RECORD_COLUMNS = "source, entry_id, url, status, attempts, first_seen, path, last_error, updated"


def _record(row: Sequence[Any]) -> EntryRecord:
    return EntryRecord(
        source=row[0],
        entry_id=row[1],
        url=row[2],
        status=row[3],
        attempts=row[4],
        first_seen=datetime.fromisoformat(row[5]),
        path=row[6],
        last_error=row[7],
        last_try=_time(row[8]) if row[3] == "failed" else None,
    )


@dataclass(frozen=True, slots=True)
class Post:
    """An archived entry, as ``scrape reextract`` needs it."""

    source: str
    entry_id: str
    url: str
    path: str | None
    digest: str | None  # SHA-256 of the file as the scraper wrote it
    capture: CaptureRef | None
    missed: str | None = None  # rule parts that found nothing on its page


@dataclass(frozen=True, slots=True)
class RulePart:
    """How one part of a site rule has been doing."""

    rule: str
    part: str  # "listing", "body", "title" or "published"
    last_match: datetime | None
    last_miss: datetime | None
    misses: int  # in a row, up to now
    misses_total: int
    stale_since: datetime | None  # set while it misses
    stale_source: str | None  # where it was first seen missing
    stale_url: str | None

    @property
    def stale(self) -> bool:
        return self.stale_since is not None


@dataclass(frozen=True, slots=True)
class RuleChange:
    """A rule part that began to miss (``stale``) or matches again (``recovered``)."""

    rule: str
    part: str
    change: str
    source: str
    url: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a poll of a source reads before it fetches, read at once (``snapshot``)."""

    validators: Validators
    feed_digest: str | None
    last_success: datetime | None
    consecutive_failures: int
    failed: tuple[EntryRecord, ...]  # its failed entries, the longest waiting first


@dataclass(frozen=True, slots=True)
class Done:
    """An entry archived at ``path`` (its file on disk already), as ``mark_done``
    takes it."""

    entry_id: str
    url: str
    path: str | None
    capture: CaptureRef | None = None
    digest: str | None = None
    missed: str | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """A failed try of an entry (``mark_failed``); its next try follows from its
    tries so far and this poll's time (``decide.next_try``)."""

    entry_id: str
    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one poll of ``source`` (whose page is ``url``) leaves to record, at
    ``now``, written at once by ``State.apply``."""

    source: str
    url: str
    now: datetime
    next_poll: datetime
    error: str | None = None  # why the poll failed; None: it succeeded
    done: Sequence[Done] = ()
    failed: Sequence[Failed] = ()
    validators: Validators | None = None  # None: kept as they are
    digest: str | None = None  # of the feed's body; None: kept as it is
    seen: Sequence[tuple[str, str, bool, str]] = ()  # what the rules' parts did


@dataclass(frozen=True, slots=True)
class SourcesChange:
    """What a reconciliation changed in the cluster's source list, by name."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source: str
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_poll: datetime | None
    articles: int  # entries archived


def _text(dt: datetime) -> str:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: state times must carry a time zone")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def state_exists(target: Path | str) -> bool:
    """Whether there is a state to read at ``target`` (a database URL: there may be,
    and opening it says)."""
    return is_database_url(target) or Path(target).exists()


class State:
    """One connection to the state database at ``target``: a SQLite file (created
    if missing) or a PostgreSQL URL. The schema is created or migrated on opening;
    in PostgreSQL under a lock, so that workers starting together migrate once."""

    def __init__(self, target: Path | str) -> None:
        self.where = redact_url(str(target)) if is_database_url(target) else str(target)
        self._db: Db = open_db(target)
        try:
            with self._db.errors():
                self._migrate()
        except BaseException:
            self._db.close()
            raise

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return self._db.errors()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Db]:
        """One transaction; inside another (``finish_poll``), part of that one."""
        if self._db.in_transaction:
            yield self._db
            return
        with self._errors():
            self._db.begin()
            try:
                yield self._db
            except BaseException:
                self._db.rollback()
                raise
            self._db.commit()

    def _migrate(self) -> None:
        with self._transaction() as db:
            db.lock("schema")
            version = db.schema_version()
            if version > len(_MIGRATIONS):
                raise StateError(
                    f"{self.where} was written by a newer scraper (schema {version}); "
                    "upgrade the scraper"
                )
            for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
                for statement in db.ddl(script):
                    db.execute(statement)
                db.set_schema_version(number)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> State:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def snapshot(self, source: str, url: str) -> Snapshot:
        """Everything a poll of ``source`` (whose page is ``url``) needs to know
        before it fetches, in one read: its validators, its feed's last digest, its
        last success and failures in a row, and its failed entries."""
        with self._errors():
            self._db.begin_read()  # one consistent read
            try:
                row = self._db.execute(
                    "SELECT last_success, consecutive_failures FROM sources WHERE source = ?",
                    (source,),
                ).fetchone()
                return Snapshot(
                    validators=self.validators(source, url),
                    feed_digest=self.feed_digest(source, url),
                    last_success=_time(row[0]) if row else None,
                    consecutive_failures=row[1] if row else 0,
                    failed=tuple(self.failed_of(source)),
                )
            finally:
                self._db.commit()

    # -- HTTP validators ----------------------------------------------------

    def validators(self, source: str, url: str) -> Validators:
        with self._errors():
            row = self._db.execute(
                "SELECT etag, last_modified FROM validators WHERE source = ? AND url = ?",
                (source, url),
            ).fetchone()
        return Validators() if row is None else Validators(etag=row[0], last_modified=row[1])

    def save_validators(self, source: str, url: str, v: Validators) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO validators (source, url, etag, last_modified) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (source, url) DO UPDATE"
                " SET etag = excluded.etag, last_modified = excluded.last_modified",
                (source, url, v.etag, v.last_modified),
            )

    def feed_digest(self, source: str, url: str) -> str | None:
        with self._errors():
            row = self._db.execute(
                "SELECT digest FROM feed_digests WHERE source = ? AND url = ?", (source, url)
            ).fetchone()
        return None if row is None else str(row[0])

    def save_feed_digest(self, source: str, url: str, digest: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO feed_digests (source, url, digest) VALUES (?, ?, ?)"
                " ON CONFLICT (source, url) DO UPDATE SET digest = excluded.digest",
                (source, url, digest),
            )

    # -- entries --------------------------------------------------------------

    def entries(self, source: str, ids: Iterable[str]) -> dict[str, EntryRecord]:
        """The records of those of ``ids`` the state knows, by entry id."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, EntryRecord] = {}
        with self._errors():
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT {_RECORD_COLUMNS}"
                    f" FROM entries WHERE source = ? AND entry_id IN ({marks})",
                    (source, *chunk),
                )
                for row in rows:
                    found[row[1]] = _record(row)
        return found

    def failed_of(self, source: str) -> list[EntryRecord]:
        """The source's failed entries, the longest waiting first (which of them are
        given up is ``decide``'s to say)."""
        with self._errors():
            rows = self._db.execute(
                f"SELECT {_RECORD_COLUMNS} FROM entries"
                " WHERE source = ? AND status = 'failed' ORDER BY updated",
                (source,),
            ).fetchall()
        return [_record(row) for row in rows]

    def revive(self, sources: Sequence[str]) -> int:
        """Gives the failed entries of ``sources`` (all, when empty) a new round of
        tries, due at once, given up or not; how many there were."""
        where, params = "status = 'failed'", tuple(sources)
        if sources:
            where += f" AND source IN ({', '.join('?' * len(sources))})"
        with self._transaction() as db:
            return db.execute(f"UPDATE entries SET attempts = 0 WHERE {where}", params).rowcount

    def note_seen(self, source: str, entries: Sequence[tuple[str, str]], now: datetime) -> None:
        """Entries (id, url) about to be fetched for the first time: first seen ``now``
        (an entry seen before keeps its time), in one transaction."""
        if not entries:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO entries (source, entry_id, url, status, first_seen, updated)"
                " VALUES (?, ?, ?, 'seen', ?, ?) ON CONFLICT (source, entry_id) DO NOTHING",
                [(source, entry_id, url, _text(now), _text(now)) for entry_id, url in entries],
            )

    def mark_done(
        self,
        source: str,
        entry_id: str,
        url: str,
        path: str | None,
        now: datetime,
        *,
        capture: CaptureRef | None = None,
        digest: str | None = None,
        missed: str | None = None,
    ) -> None:
        """The entry is archived (at ``path``, whose text has the SHA-256 ``digest``),
        made from the page captured at ``capture`` if there is one (what was recorded
        before stays when these are not given); ``missed``: the parts of its site
        rule that found nothing on its page (``zaobao:body``), if any."""
        where = (capture.file, capture.offset, capture.length) if capture else (None, None, None)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO entries (source, entry_id, url, status, first_seen, path, updated,"
                " digest, capture, capture_offset, capture_length, missed)"
                " VALUES (?, ?, ?, 'done', ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, entry_id)"
                " DO UPDATE SET status = 'done', url = excluded.url, path = excluded.path,"
                " last_error = NULL, updated = excluded.updated, missed = excluded.missed,"
                " digest = coalesce(excluded.digest, entries.digest),"
                " capture = coalesce(excluded.capture, entries.capture),"
                " capture_offset = coalesce(excluded.capture_offset, entries.capture_offset),"
                " capture_length = coalesce(excluded.capture_length, entries.capture_length)",
                (source, entry_id, url, _text(now), path, _text(now), digest, *where, missed),
            )

    def posts(self, sources: Sequence[str]) -> list[Post]:
        """The archived entries of ``sources``, in the order they were archived."""
        marks = ", ".join("?" * len(sources))
        with self._errors():
            rows = self._db.execute(
                "SELECT source, entry_id, url, path, digest, capture, capture_offset,"
                " capture_length, missed FROM entries"
                f" WHERE status = 'done' AND source IN ({marks})"
                " ORDER BY updated, entry_id",
                tuple(sources),
            ).fetchall()
        return [
            Post(
                source=row[0],
                entry_id=row[1],
                url=row[2],
                path=row[3],
                digest=row[4],
                capture=CaptureRef(row[5], row[6], row[7]) if row[5] is not None else None,
                missed=row[8],
            )
            for row in rows
        ]

    def record_rule_parts(
        self, source: str, seen: Sequence[tuple[str, str, bool, str]], now: datetime
    ) -> list[RuleChange]:
        """Records what the rules' parts did in a poll of ``source``: (rule, part,
        matched, url) in the order seen. A part is stale from its first miss until
        it matches again; the changes are returned, each once."""
        changes: list[RuleChange] = []
        if not seen:
            return changes
        at = _text(now)
        with self._transaction() as db:
            stale = _lock_rule_parts(db, {(rule, part) for rule, part, _, _ in seen})
            for rule, part, matched, url in seen:
                if matched:
                    db.execute(
                        "UPDATE rule_parts SET last_match = ?, misses = 0, stale_since = NULL,"
                        " stale_source = NULL, stale_url = NULL WHERE rule = ? AND part = ?",
                        (at, rule, part),
                    )
                    if stale[rule, part]:
                        changes.append(RuleChange(rule, part, "recovered", source, url))
                else:
                    db.execute(
                        "UPDATE rule_parts SET last_miss = ?, misses = misses + 1,"
                        " misses_total = misses_total + 1,"
                        " stale_since = coalesce(stale_since, ?),"
                        " stale_source = coalesce(stale_source, ?),"
                        " stale_url = coalesce(stale_url, ?) WHERE rule = ? AND part = ?",
                        (at, at, source, url, rule, part),
                    )
                    if not stale[rule, part]:
                        changes.append(RuleChange(rule, part, "stale", source, url))
                stale[rule, part] = not matched
        return changes

    def rule_parts(self) -> list[RulePart]:
        with self._errors():
            rows = self._db.execute(
                "SELECT rule, part, last_match, last_miss, misses, misses_total, stale_since,"
                " stale_source, stale_url FROM rule_parts ORDER BY rule, part"
            ).fetchall()
        return [
            RulePart(
                rule=row[0],
                part=row[1],
                last_match=_time(row[2]),
                last_miss=_time(row[3]),
                misses=row[4],
                misses_total=row[5],
                stale_since=_time(row[6]),
                stale_source=row[7],
                stale_url=row[8],
            )
            for row in rows
        ]

    def save_rewrite(self, source: str, entry_id: str, digest: str, missed: str | None) -> None:
        """A post made again (``scrape reextract``): its new text's digest, and what
        its rule missed this time."""
        with self._transaction() as db:
            db.execute(
                "UPDATE entries SET digest = ?, missed = ? WHERE source = ? AND entry_id = ?",
                (digest, missed, source, entry_id),
            )

    def note_capture(self, source: str, entry_id: str, capture: CaptureRef) -> None:
        """The entry's page is captured at ``capture`` (before its post is written):
        a post found on disk after a crash, and marked done then, still points at
        the capture it was made from."""
        with self._transaction() as db:
            db.execute(
                "UPDATE entries SET capture = ?, capture_offset = ?, capture_length = ?"
                " WHERE source = ? AND entry_id = ?",
                (capture.file, capture.offset, capture.length, source, entry_id),
            )

    def capture_end(self, file: str) -> int | None:
        """Where the last capture recorded in ``file`` ends (None: none is)."""
        with self._errors():
            row = self._db.execute(
                "SELECT max(capture_offset + capture_length) FROM entries WHERE capture = ?",
                (file,),
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def mark_failed(self, source: str, entry_id: str, url: str, reason: str, now: datetime) -> int:
        """Counts a failed try (a done entry stays done); returns the tries so far."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO entries"
                " (source, entry_id, url, status, attempts, first_seen, last_error, updated)"
                " VALUES (?, ?, ?, 'failed', 1, ?, ?, ?) ON CONFLICT (source, entry_id) DO UPDATE"
                " SET attempts = entries.attempts + 1, last_error = excluded.last_error,"
                " status = CASE entries.status WHEN 'done' THEN 'done' ELSE 'failed' END,"
                " url = excluded.url, updated = excluded.updated",
                (source, entry_id, url, _text(now), reason, _text(now)),
            )
            row = db.execute(
                "SELECT attempts FROM entries WHERE source = ? AND entry_id = ?",
                (source, entry_id),
            ).fetchone()
        return int(row[0])

    # -- source health --------------------------------------------------------

    def record_success(self, source: str, now: datetime, next_poll: datetime) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO sources (source, last_success, consecutive_failures, next_poll)"
                " VALUES (?, ?, 0, ?) ON CONFLICT (source) DO UPDATE"
                " SET last_success = excluded.last_success, consecutive_failures = 0,"
                " next_poll = excluded.next_poll",
                (source, _text(now), _text(next_poll)),
            )

    def apply(self, outcome: Outcome) -> list[RuleChange]:
        """A poll's outcome in one transaction, all of it or none: what the rules'
        parts did (``record_rule_parts``, whose changes are returned), the entries
        archived (each file on disk before it is given here) and the failed tries,
        the source's validators and feed digest when given (kept back while entries
        wait for a retry), and its success or failure with its next poll."""
        o = outcome
        with self._transaction():
            changes = self.record_rule_parts(o.source, o.seen, o.now)
            for done in o.done:
                self.mark_done(
                    o.source, done.entry_id, done.url, done.path, o.now,
                    capture=done.capture, digest=done.digest, missed=done.missed,
                )  # fmt: skip
            for failed in o.failed:
                self.mark_failed(o.source, failed.entry_id, failed.url, failed.reason, o.now)
            if o.validators is not None:
                self.save_validators(o.source, o.url, o.validators)
            if o.digest is not None:
                self.save_feed_digest(o.source, o.url, o.digest)
            if o.error is None:
                self.record_success(o.source, o.now, o.next_poll)
            else:
                self.record_failure(o.source, o.error, o.now, o.next_poll)
        return changes

    def record_failure(self, source: str, reason: str, now: datetime, next_poll: datetime) -> int:
        """Records a failed poll; returns the consecutive failures so far."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO sources"
                " (source, last_error, last_error_at, consecutive_failures, next_poll)"
                " VALUES (?, ?, ?, 1, ?) ON CONFLICT (source) DO UPDATE"
                " SET last_error = excluded.last_error, last_error_at = excluded.last_error_at,"
                " consecutive_failures = sources.consecutive_failures + 1,"
                " next_poll = excluded.next_poll",
                (source, reason, _text(now), _text(next_poll)),
            )
            row = db.execute(
                "SELECT consecutive_failures FROM sources WHERE source = ?", (source,)
            ).fetchone()
        return int(row[0])

    def health(self, source: str) -> SourceHealth:
        with self._errors():
            row = self._db.execute(
                "SELECT last_success, last_error, last_error_at, consecutive_failures, next_poll"
                " FROM sources WHERE source = ?",
                (source,),
            ).fetchone()
            articles = self._db.execute(
                "SELECT count(*) FROM entries WHERE source = ? AND status = 'done'", (source,)
            ).fetchone()[0]
        if row is None:
            return SourceHealth(source, None, None, None, 0, None, articles)
        return SourceHealth(
            source, _time(row[0]), row[1], _time(row[2]), row[3], _time(row[4]), articles
        )

    def failed_entries(self) -> dict[str, list[EntryRecord]]:
        """Per source, its articles not archived after a failed try, latest try first."""
        with self._errors():
            rows = self._db.execute(
                f"SELECT {_RECORD_COLUMNS} FROM entries"
                " WHERE status = 'failed' ORDER BY source, updated DESC, url"
            ).fetchall()
        found: dict[str, list[EntryRecord]] = {}
        for row in rows:
            found.setdefault(row[0], []).append(_record(row))
        return found

    def next_polls(self) -> dict[str, datetime | None]:
        """Each source's next poll, as its last poll set it (no articles counted)."""
        with self._errors():
            rows = self._db.execute("SELECT source, next_poll FROM sources").fetchall()
        return {source: _time(next_poll) for source, next_poll in rows}

    def all_health(self) -> list[SourceHealth]:
        """Every source the state has heard of, by name."""
        with self._errors():
            names = self._db.execute(
                "SELECT source FROM sources UNION SELECT DISTINCT source FROM entries ORDER BY 1"
            ).fetchall()
        return [self.health(name) for (name,) in names]

    # -- the cluster (``scrape worker``) --------------------------------------

    def ping(self) -> None:
        """A query that does nothing: StateError when the database cannot answer."""
        with self._errors():
            self._db.execute("SELECT 1").fetchone()

    def claim_name(
        self, folder: str, folded: str, name: str, url: str, now: datetime
    ) -> tuple[str, str]:
        """Claims the file name ``name`` (``folded``: its case-folded, normalised
        form) in the archive's ``folder`` for the article at ``url``, unless a name
        that folds alike is claimed already; returns the holder's (name, url), this
        one's when the claim is new. A claim is never given back: a worker that dies
        between claim and write leaves the name to its article's next try."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO archive_names (folder, folded, name, url, claimed)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (folder, folded) DO NOTHING",
                (folder, folded, name, url, _text(now)),
            )
            row = db.execute(
                "SELECT name, url FROM archive_names WHERE folder = ? AND folded = ?",
                (folder, folded),
            ).fetchone()
        return str(row[0]), str(row[1])

    def names_of(self, url: str) -> list[str]:
        """The archive paths (``folder/name``) claimed for the article at ``url``."""
        with self._errors():
            rows = self._db.execute(
                "SELECT folder, name FROM archive_names WHERE url = ? ORDER BY claimed", (url,)
            ).fetchall()
        return [f"{folder}/{name}" if folder else name for folder, name in rows]

    def cluster_sources(self) -> dict[str, str]:
        """The cluster's sources: name → its settings as JSON."""
        with self._errors():
            rows = self._db.execute("SELECT source, config FROM cluster_sources").fetchall()
        return dict(rows)

    def cluster_source(self, name: str) -> str | None:
        """One source's settings as JSON; None when the cluster has no such source."""
        with self._errors():
            row = self._db.execute(
                "SELECT config FROM cluster_sources WHERE source = ?", (name,)
            ).fetchone()
        return None if row is None else str(row[0])

    def cluster_poll(self, name: str) -> tuple[str | None, int, datetime | None]:
        """What a worker reads before it polls ``name``, in one query: its settings
        as JSON (None: the cluster has no such source), its failures in a row and
        its next poll (``health`` without the articles counted)."""
        with self._errors():
            row = self._db.execute(
                "SELECT c.config, s.consecutive_failures, s.next_poll FROM cluster_sources c"
                " LEFT JOIN sources s ON s.source = c.source WHERE c.source = ?",
                (name,),
            ).fetchone()
        if row is None:
            return None, 0, None
        return str(row[0]), int(row[1] or 0), _time(row[2])

    def next_poll_of(self, name: str) -> datetime | None:
        """The source's next poll, as its last poll set it."""
        with self._errors():
            row = self._db.execute(
                "SELECT next_poll FROM sources WHERE source = ?", (name,)
            ).fetchone()
        return None if row is None else _time(row[0])

    def reconcile_sources(self, configs: Mapping[str, str], now: datetime) -> SourcesChange:
        """Makes the cluster's sources ``configs`` (name → settings as JSON): those
        missing added, those not in it removed, those whose settings differ changed,
        in one transaction, one reconciliation at a time; what changed."""
        with self._transaction() as db:
            db.lock("cluster-sources")
            known = dict(db.execute("SELECT source, config FROM cluster_sources"))
            change = SourcesChange(
                added=tuple(n for n in configs if n not in known),
                removed=tuple(sorted(n for n in known if n not in configs)),
                changed=tuple(n for n in configs if n in known and known[n] != configs[n]),
            )
            for name in change.removed:
                db.execute("DELETE FROM cluster_sources WHERE source = ?", (name,))
            db.executemany(
                "INSERT INTO cluster_sources (source, config, updated) VALUES (?, ?, ?)"
                " ON CONFLICT (source) DO UPDATE"
                " SET config = excluded.config, updated = excluded.updated",
                [(n, configs[n], _text(now)) for n in (*change.added, *change.changed)],
            )
        return change

    def article_path(self, url: str) -> str | None:
        """The archive path (``folder/name``) claimed for the article at ``url``."""
        with self._errors():
            row = self._db.execute("SELECT path FROM archive_urls WHERE url = ?", (url,)).fetchone()
        return None if row is None else str(row[0])

    def claim_article(self, url: str, folder: str, folded: str, path: str, now: datetime) -> str:
        """Claims ``path`` (in ``folder``, its name folded ``folded``, claimed by
        ``claim_name`` already) as the one file of the article at ``url``; the path
        claimed first, which is ``path`` when the claim is new. A name claimed for
        the article and not used (another worker's claim of it came first) is
        given back, in the same transaction. Two workers claiming at once: the
        second waits for the first's commit, then finds its path."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO archive_urls (url, path, claimed) VALUES (?, ?, ?)"
                " ON CONFLICT (url) DO NOTHING",
                (url, path, _text(now)),
            )
            held = str(
                db.execute("SELECT path FROM archive_urls WHERE url = ?", (url,)).fetchone()[0]
            )
            if held != path:
                db.execute(
                    "DELETE FROM archive_names WHERE folder = ? AND folded = ? AND url = ?",
                    (folder, folded, url),
                )
        return held


def _lock_rule_parts(db: Db, parts: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bool]:
    """Whether each of ``parts`` (rule, part) is stale now; each row made if missing
    and locked until the transaction ends (in PostgreSQL: in one order, so that two
    polls of sources sharing a rule wait for each other rather than deadlock)."""
    stale: dict[tuple[str, str], bool] = {}
    for rule, part in sorted(parts):
        db.execute(
            "INSERT INTO rule_parts (rule, part) VALUES (?, ?) ON CONFLICT (rule, part) DO NOTHING",
            (rule, part),
        )
        row = db.execute(
            "SELECT stale_since FROM rule_parts WHERE rule = ? AND part = ?" + db.for_update,
            (rule, part),
        ).fetchone()
        stale[rule, part] = row[0] is not None
    return stale


def acquire_lock(
    target: Path | str, *, role: str = "scrape", shared: bool = False
) -> contextlib.AbstractContextManager[Path | None]:
    """Holds the lock that keeps two scrapes off one state for the duration;
    StateError at once, naming the holder, if another process holds it. For a
    SQLite file: ``<file>.lock`` (yielded). For PostgreSQL: a lock in the database,
    ``shared`` by the workers of a cluster and held alone by anything else (a
    daemon, ``--once``, ``reextract``); ``role`` names this process to the others."""
    if is_database_url(target):
        return _database_lock(str(target), role=role, shared=shared)
    return _file_lock(Path(target))


@contextlib.contextmanager
def _database_lock(url: str, *, role: str, shared: bool) -> Iterator[Path | None]:
    db = PostgresDb(url, role=role)
    take = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    try:
        with db.errors():
            key = db.execute("SELECT hashtext(current_schema() || ':run')::bigint").fetchone()[0]
            if not db.execute(f"SELECT {take}(?)", (key,)).fetchone()[0]:
                raise StateError(
                    "another scrape is already running on this state"
                    f" ({_lock_holders(db, key) or 'unknown'}): {db.where}"
                )
        yield None
    finally:
        db.close()  # the lock goes with the connection


def _lock_holders(db: Db, key: int) -> str:
    """Who holds the advisory lock ``key``, as their connections name themselves."""
    rows = db.execute(
        "SELECT DISTINCT a.application_name FROM pg_locks l"
        " JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
        " AND l.classid = ((?::bigint >> 32) & 4294967295)::oid"
        " AND l.objid = (?::bigint & 4294967295)::oid"
        " ORDER BY 1",
        (key, key),
    ).fetchall()
    return "; ".join(str(row[0]) for row in rows if row[0])


@contextlib.contextmanager
def _file_lock(state_path: Path) -> Iterator[Path | None]:
    """Hold ``<state_path>.lock`` for the duration; StateError at once if another
    process holds it. The holder's pid is written into the file for that message."""
    lock_path = state_path.with_name(state_path.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StateError(f"cannot open the lock file {lock_path}: {exc}") from exc
    try:
        holder = _lock_or_holder(fd)
        if holder is not None:
            raise StateError(
                f"another scrape is already running on this state (pid {holder}): {lock_path}"
            )
        with contextlib.suppress(OSError):  # the pid is for messages; a full disk can't stop us
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield lock_path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)


_PID_WAIT = 0.5  # seconds: a holder writes its pid right after taking the lock


def _lock_or_holder(fd: int) -> str | None:
    """Take the lock (None), or name the process that holds it. The file is empty
    for a moment after a holder takes the lock (before its pid is written) and as it
    lets go: wait for the pid then, or for the lock to be free."""
    deadline = time.monotonic() + _PID_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return None
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            if holder:
                return holder
            if time.monotonic() >= deadline:
                return "unknown"
            time.sleep(0.005)
