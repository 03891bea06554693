"""Plain records passed between the pipeline's stages.

Nothing here does I/O or imports anything of ours; every record is frozen.
Times are timezone-aware ``datetime`` values (UTC unless a zone was given).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP cache validators kept between polls of a feed or listing."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """A successful (2xx) response, body decoded."""

    url: str  # final URL, after redirects
    status: int
    content_type: str  # media type only, lower case, e.g. "text/html"
    content: bytes  # the raw (decompressed) body
    text: str  # the body decoded with ``encoding``
    encoding: str  # the codec that decoded ``text`` (python name, e.g. "gb18030")
    validators: Validators = field(default_factory=Validators)
    elapsed: float = 0.0  # seconds from request to last byte
    # The exchange as it went, for a capture of it (captures.py): the response's
    # reason phrase and headers as received, and the headers of the request sent.
    reason: str = ""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    request_headers: tuple[tuple[bytes, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class CaptureRef:
    """Where a page's capture is (captures.py): its WARC file, relative to the
    captures folder, and the offset and length of its response record there."""

    file: str
    offset: int
    length: int
    record_id: str = ""


@dataclass(frozen=True, slots=True)
class NotModified:
    """A 304 answer to a conditional GET: nothing to parse."""

    url: str
    validators: Validators = field(default_factory=Validators)


@dataclass(frozen=True, slots=True)
class Entry:
    """One item a source lists: a feed entry or a listing link."""

    id: str  # guid / id, else the link; stable identity of the article
    link: str  # absolute article URL, fragment dropped
    title: str | None = None
    published: datetime | None = None
    content: str | None = None  # the feed's own HTML (content:encoded, description…)
    author: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedSource:
    """What a feed or listing parse gives: entries, and a problem if degraded."""

    entries: tuple[Entry, ...]
    title: str | None = None
    problem: str | None = None  # parser's reason when the document was malformed


@dataclass(frozen=True, slots=True)
class Extracted:
    """What an extractor made of one page. ``body`` is normalised body HTML
    (the lines that go between ``<div>`` and ``</div>``), "" when nothing found."""

    body: str
    title: str | None = None
    published: datetime | None = None
    author: str | None = None
    image: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()
    method: str = ""  # "rule:<name>", "generic" or "feed"
    # The site rule asked, and for each of its parts asked ("body", "title",
    # "published") whether its selectors found something on the page.
    rule: str | None = None
    rule_parts: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    """An article ready to render: everything the archive file holds."""

    id: str  # the entry's identity
    url: str  # ``from:``
    title: str
    body: str  # normalised body HTML, see ``Extracted.body``
    published: datetime | None  # as the source or page gave it
    fetched: datetime  # first-seen time
    author: str | None = None  # the source's configured author
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    layout: str = "post"
    extra: tuple[tuple[str, str], ...] = ()  # front-matter keys after categories
    method: str = ""


@dataclass(frozen=True, slots=True)
class EntryFailure:
    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class SourceResult:
    """The outcome of polling one source once."""

    source: str
    new: int = 0  # files written
    unchanged: int = 0  # entries already archived
    gave_up: int = 0  # entries no longer tried: they failed ``max_attempts`` times
    waiting: int = 0  # failed entries whose next try is not due yet
    failed: tuple[EntryFailure, ...] = ()
    error: str | None = None  # the whole source failed: the reason
    degraded: str | None = None  # parsed with problems: the reason
    written: tuple[str, ...] = ()  # relpaths written
    # the parts of site rules that found nothing in this poll: "zaobao listing"
    stale_rules: tuple[str, ...] = ()
    # the source's page answered 304 Not Modified: nothing was parsed (failed
    # entries that were due were still tried)
    not_modified: bool = False
    # when the source is due again, as the poll recorded it (None: not recorded)
    next_poll: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed
