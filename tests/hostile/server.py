"""A hostile web server on 127.0.0.1.

Every route answers with a ``Reply`` that may misbehave the way real servers do:
answer late, drip the body a byte at a time, stall or close the connection in
the middle of the body, reset it, or never answer at all; claim a length it does
not send; stream a body of any size without holding it in memory.

The server is also an HTTP forward proxy (absolute-form requests) and an HTTPS
one (``CONNECT``, TLS ended here with the test certificate in
``tests/data/tls``), so a config with ``proxy: <site.url>`` reaches any host
name, and every host name lands here. Routes are keyed by host and path
(``"*"`` matches any host). A route given a list of replies answers the n-th
request with the n-th reply and repeats the last. Every request is recorded
with its arrival time, so tests can check who was asked what, and when.

Use it as a context manager::

    with HostileSite() as site:
        site.add("https://news.example.test/rss.xml", Reply(feed, content_type=RSS))
        site.add("/slow", Reply("late", wait=3))
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Literal
from urllib.parse import urlsplit

from loopback_site import CA_BUNDLE, TlsTunnelHandler

__all__ = ["CA_BUNDLE", "HostileSite", "Reply", "redirect", "status"]

HOLD_MAX = 600.0  # the longest any connection is held open (until the site stops)

BodyFactory = Callable[[], Iterable[bytes]]


@dataclass
class Reply:
    """One answer, and how badly to deliver it."""

    body: bytes | str | BodyFactory = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    wait: float = 0.0  # seconds before the status line (slow first byte)
    # "length": Content-Length; "chunked": chunked encoding; "close": neither, the end
    # of the body is the end of the connection
    framing: Literal["length", "chunked", "close"] = "length"
    length: int | None = None  # Content-Length to claim; default the body's real length
    drip: float = 0.0  # > 0: the body goes out one byte at a time, this far apart
    stall_after: int | None = None  # send this many body bytes, then hang
    close_after: int | None = None  # send this many body bytes, then close the connection
    reset: bool = False  # read the request, then reset the connection (TCP RST)
    never: bool = False  # read the request, never answer

    def chunks(self) -> Iterator[bytes]:
        if callable(self.body):
            yield from self.body()
        elif isinstance(self.body, str):
            yield self.body.encode("utf-8")
        else:
            yield self.body

    def size(self) -> int | None:
        if callable(self.body):
            return None
        return len(self.body.encode("utf-8") if isinstance(self.body, str) else self.body)


def redirect(location: str, status: int = 301) -> Reply:
    return Reply(b"", status=status, content_type=None, headers={"Location": location})


def status(code: int, body: str = "", **headers: str) -> Reply:
    """An error answer; keyword arguments become headers (``Retry_After`` → ``Retry-After``)."""
    return Reply(
        body or f"status {code}",
        status=code,
        content_type="text/plain",
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )


Route = Reply | list[Reply] | Callable[["Hit"], Reply]


@dataclass(frozen=True)
class Hit:
    """A request as the site saw it; ``at`` is ``time.monotonic()`` on arrival."""

    host: str
    path: str
    headers: dict[str, str]
    at: float
    number: int  # how many requests this route had before this one


class _Abort(Exception):
    """The reply chose to end the connection abnormally."""


class HostileSite:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.hits: list[Hit] = []
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- set-up ----------------------------------------------------------
    def add(self, url_or_path: str, route: Route | str | bytes) -> None:
        """Serve ``route`` at a full URL (that host only) or at a path on any host."""
        if isinstance(route, str | bytes):
            route = Reply(route)
        with self._lock:
            self.routes[_key(url_or_path)] = route
            self._counts.pop(_key(url_or_path), None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    # -- what happened ---------------------------------------------------
    def requests(self, host: str | None = None, path_part: str = "") -> list[Hit]:
        with self._lock:
            return [
                h for h in self.hits if (host is None or h.host == host) and path_part in h.path
            ]

    def hosts(self) -> set[str]:
        with self._lock:
            return {h.host for h in self.hits}

    # -- serving -----------------------------------------------------------
    def answer(self, host: str, path: str, headers: dict[str, str]) -> Reply:
        """Record the request and pick its reply (404 for unknown routes)."""
        with self._lock:
            key = (host, path) if (host, path) in self.routes else ("*", path)
            route = self.routes.get(key)
            number = self._counts.get(key, 0)
            self._counts[key] = number + 1
            hit = Hit(host, path, headers, time.monotonic(), number)
            self.hits.append(hit)
        if route is None:
            return status(404, "not here")
        if isinstance(route, list):
            return route[min(number, len(route) - 1)]
        if isinstance(route, Reply):
            return route
        return route(hit)

    def hold(self, seconds: float = HOLD_MAX) -> None:
        """Sleep, but wake when the site stops."""
        self._stopping.wait(seconds)

    def __enter__(self) -> HostileSite:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


def _key(url_or_path: str) -> tuple[str, str]:
    parts = urlsplit(url_or_path)
    host = (parts.hostname or "*") if parts.scheme else "*"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    site: HostileSite


class _Handler(TlsTunnelHandler):
    server: _Server

    def handle(self) -> None:
        with contextlib.suppress(OSError, _Abort):
            super().handle()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.scheme:  # proxied: the absolute URI is in the request line
            host = parts.hostname or ""
        else:
            host = self.tunnel_host or (self.headers.get("Host") or "").rsplit(":", 1)[0]
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._send(self.server.site.answer(host.strip("[]"), path, dict(self.headers.items())))

    def _send(self, reply: Reply) -> None:
        site = self.server.site
        if reply.wait:
            site.hold(reply.wait)
        if reply.never:
            site.hold()
            raise _Abort
        if reply.reset:
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            raise _Abort
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        size = reply.length if reply.length is not None else reply.size()
        if reply.framing == "length" and size is not None:
            self.send_header("Content-Length", str(size))
        elif reply.framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self._body(reply)

    def _body(self, reply: Reply) -> None:
        site = self.server.site
        chunked = reply.framing == "chunked"
        sent = 0
        for chunk in reply.chunks():
            pieces: Iterable[bytes] = (
                (chunk[i : i + 1] for i in range(len(chunk))) if reply.drip else (chunk,)
            )
            for piece in pieces:
                for limit, action in ((reply.stall_after, "stall"), (reply.close_after, "close")):
                    if limit is not None and sent + len(piece) > limit:
                        self._write(piece[: limit - sent], chunked)
                        self.wfile.flush()
                        if action == "stall":
                            site.hold()
                        self.close_connection = True
                        raise _Abort
                self._write(piece, chunked)
                sent += len(piece)
                if reply.drip:
                    self.wfile.flush()
                    site.hold(reply.drip)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write(self, data: bytes, chunked: bool) -> None:
        if not data:
            return
        if chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)
