"""Raw captures of the article pages fetched (``captures: warc``), as WARC 1.1.

Each capture is a response record (the status line and headers as received, the
body) and the request record that asked for it, written with ``warcio``, the web
archiving world's own library, so that ``warcio index``/``check``, pywb and
ReplayWeb.page read the files. One gzip WARC file per source per UTC day,
``<source>/<YYYY>/<source>-<YYYYMMDD>.warc.gz`` under the captures folder, each
record its own gzip member, appended and fsync'd before the article is marked done.

The body stored is the body as decoded from its Content-Encoding (what the
extractor read); the response's ``Content-Encoding``, ``Transfer-Encoding`` and
``Content-Length`` headers, which described the bytes on the wire, are kept as
``X-Archive-Orig-…`` headers (pywb's own convention) and a Content-Length of the
stored body is given instead, so that every reader takes the body as it is.

A kill -9 or a power cut can leave a torn record at the end of a file. The first
write to a file in a process cuts the file back to the end of its last whole
record (found from where the state's last recorded capture ends), so that a torn
record is never followed by good ones.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scraper.archive import fsync_dir
from scraper.logs import log_event
from scraper.types import CaptureRef, Fetched

__all__ = ["Capture", "CaptureRef", "WarcCaptures", "capture_file", "read_capture"]

log = logging.getLogger("scraper.captures")

# Response headers that describe the bytes on the wire, not the body stored.
_WIRE_HEADERS = frozenset({b"content-encoding", b"transfer-encoding", b"content-length"})
_READ = 1 << 20


@dataclass(frozen=True, slots=True)
class Capture:
    """A page read back from its capture."""

    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    date: str  # the record's WARC-Date


def capture_file(source: str, when: datetime) -> str:
    """The file a capture of ``source`` made at ``when`` goes to (the UTC day)."""
    day = when.astimezone(UTC)
    return f"{source}/{day:%Y}/{source}-{day:%Y%m%d}.warc.gz"


def _response_headers(page: Fetched) -> list[tuple[str, str]]:
    headers = []
    for name, value in page.headers:
        key = name.decode("latin-1")
        if name.lower() in _WIRE_HEADERS:
            key = "X-Archive-Orig-" + key
        headers.append((key, value.decode("latin-1")))
    headers.append(("Content-Length", str(len(page.content))))
    return headers


def _request_path(url: str) -> str:
    """The request target of a GET of ``url``: its path and query."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def records(page: Fetched, when: datetime) -> tuple[bytes, bytes, str]:
    """The response record and the request record of ``page``, each a gzip member,
    and the response's record id (pure: the same page and time, the same bytes but
    for the record ids)."""
    # (warcio is imported where it is used: a run without captures never loads it)
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    date = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    writer = WARCWriter(io.BytesIO(), gzip=True, warc_version="1.1")
    reason = page.reason or "OK"
    http = StatusAndHeaders(f"{page.status} {reason}", _response_headers(page), protocol="HTTP/1.1")
    response = writer.create_warc_record(
        page.url,
        "response",
        payload=io.BytesIO(page.content),
        length=len(page.content),
        http_headers=http,
        warc_headers_dict={"WARC-Date": date},
    )
    record_id = response.rec_headers.get_header("WARC-Record-ID")
    request_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in page.request_headers]
    request = writer.create_warc_record(
        page.url,
        "request",
        payload=io.BytesIO(b""),
        length=0,
        http_headers=StatusAndHeaders(
            f"GET {_request_path(page.url)} HTTP/1.1", request_headers, is_http_request=True
        ),
        warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": record_id},
    )
    return _serialised(writer, response), _serialised(writer, request), record_id


def _warcinfo(name: str) -> bytes:
    from warcio.warcwriter import WARCWriter

    writer = WARCWriter(io.BytesIO(), gzip=True, warc_version="1.1")
    record = writer.create_warcinfo_record(
        name.rsplit("/", 1)[-1], {"software": "scraper", "format": "WARC File Format 1.1"}
    )
    return _serialised(writer, record)


def _serialised(writer: Any, record: Any) -> bytes:
    out = io.BytesIO()
    writer.out = out
    writer.write_record(record)
    return out.getvalue()


class WarcCaptures:
    """Appends captures under ``root`` (from any thread)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._checked: set[str] = set()

    def checked(self, name: str) -> bool:
        """Whether the file ``name`` was checked for a torn tail in this process."""
        return name in self._checked

    def write(
        self, source: str, page: Fetched, when: datetime, known_end: int | None = None
    ) -> CaptureRef:
        """Appends the capture of ``page`` and makes it durable; OSError when it
        cannot (the file is named in it). ``known_end``: where the last capture the
        state recorded in the file ends, from where the file is checked for a torn
        tail the first time it is written to (None: from its start)."""
        name = capture_file(source, when)
        response, request, record_id = records(page, when)
        path = self.root / name
        with self._lock:
            try:
                offset = self._append(name, path, response + request, known_end)
            except OSError as exc:
                self._checked.discard(name)  # what a failed write left is cut next time
                reason = exc.strerror or str(exc)
                raise OSError(exc.errno, f"cannot write the capture {path}: {reason}") from exc
        return CaptureRef(name, offset, len(response), record_id)

    def _append(self, name: str, path: Path, data: bytes, known_end: int | None) -> int:
        """Appends ``data`` durably; where it starts."""
        if name not in self._checked:
            self._repair(path, known_end or 0)
            self._checked.add(name)
        fresh = not path.exists()
        if fresh:
            path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as out:
            if out.tell() == 0:
                out.write(_warcinfo(name))
            offset = out.tell()
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if fresh:
            fsync_dir(path.parent)
        return offset

    def _repair(self, path: Path, start: int) -> None:
        """Cuts a torn record off the end of ``path``, if there is one after ``start``."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        if start > size:
            start = 0  # not the file the state knew: check all of it
        end = whole_members_end(path, start)
        if end < size:
            with path.open("r+b") as f:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
            log_event(
                log,
                "capture.repaired",
                logging.WARNING,
                path=str(path),
                reason=f"a torn record at the end: {size - end} bytes cut off at {end}",
            )


def whole_members_end(path: Path, start: int = 0) -> int:
    """The offset after the last whole gzip member of ``path`` from ``start``
    (``start`` itself when the first member there is torn or not gzip)."""
    good = start
    with path.open("rb") as f:
        f.seek(start)
        position = start
        pending = b""
        inflater = zlib.decompressobj(wbits=31)
        while True:
            chunk = pending or f.read(_READ)
            pending = b""
            if not chunk:
                return good
            try:
                inflater.decompress(chunk)
            except zlib.error:
                return good
            if inflater.eof:
                rest = inflater.unused_data
                position += len(chunk) - len(rest)
                good = position
                inflater = zlib.decompressobj(wbits=31)
                pending = rest
            else:
                position += len(chunk)


def read_capture(root: Path, ref: CaptureRef) -> Capture:
    """The page captured at ``ref``; OSError or ValueError when it cannot be read."""
    path = root / ref.file
    with path.open("rb") as f:
        f.seek(ref.offset)
        for record in _records(f):
            if record.rec_type != "response":
                break
            http = record.http_headers
            return Capture(
                url=record.rec_headers.get_header("WARC-Target-URI") or "",
                status=int(http.get_statuscode() or 0),
                headers=tuple(http.headers),
                body=record.content_stream().read(),
                date=record.rec_headers.get_header("WARC-Date") or "",
            )
    raise ValueError(f"{path}: no response record at offset {ref.offset}")


def _records(f: io.BufferedReader) -> Iterator[Any]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        yield from ArchiveIterator(f)
    except ArchiveLoadFailed as exc:
        raise ValueError(str(exc)) from exc
