"""The loopback world of ``bench/e2e.py``: many news hosts, each on its own address.

Host ``h`` listens on ``127.0.1.<h+1>`` (Linux routes all of 127.0.0.0/8 to the
loopback device), so a scraper's per-host limits apply as they would on the
internet. Every answer waits ``latency`` seconds (a timer, not a thread: the site
must never be the bottleneck). Feed ``f`` lives on host ``f % hosts`` and lists
``items`` articles on the same host; article pages come from ``Content``.

Feeds answer in one of three modes: ``validators`` (ETag and Last-Modified, 304
when the client sends the ETag back), ``plain`` (always 200, no validators, the
same items) or ``growing`` (validators, and a new item every ``grow_every``
seconds: the daemon soak). The site counts requests by kind.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from xml.sax.saxutils import escape

from e2e_content import Content

FIRST_ITEM_TIME = 1_795_000_000.0  # 2026-11-18: publication time of item 0 of every feed


@dataclass
class Layout:
    """Which feeds and items exist, and where."""

    feeds: int
    hosts: int
    items: int = 10
    grow_every: float = 0.0  # ``growing`` mode: seconds between two new items of a feed
    started: float = field(default_factory=time.time)

    def host_of(self, feed: int) -> int:
        return feed % self.hosts

    def newest_item(self, feed: int, now: float) -> int:
        """Index of the newest item of ``feed`` (items 0 … items-1 exist from the start)."""
        if not self.grow_every:
            return self.items - 1
        since = now - self.started - self._offset(feed)
        return self.items - 1 + (int(since // self.grow_every) + 1 if since >= 0 else 0)

    def appeared_at(self, feed: int, item: int) -> float:
        """When ``item`` of ``feed`` first showed in the feed (its deadline's start)."""
        if not self.grow_every or item < self.items:
            return self.started
        return self.started + self._offset(feed) + (item - self.items) * self.grow_every

    def _offset(self, feed: int) -> float:
        """Feeds grow at staggered moments, so that new items arrive evenly."""
        return (feed * 7919 % 1000) / 1000 * self.grow_every


class Site:
    """The hosts, served from one asyncio loop in a thread of this process."""

    def __init__(
        self, layout: Layout, content: Content, *, latency: float, mode: str = "validators"
    ) -> None:
        self.layout = layout
        self.content = content
        self.latency = latency
        self.mode = mode
        self.counts: Counter[str] = Counter()
        self.per_host: Counter[int] = Counter()
        self.ports: dict[int, int] = {}
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.Transport] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def base(self, host: int) -> str:
        return f"http://127.0.1.{host + 1}:{self.ports[host]}"

    def feed_url(self, feed: int) -> str:
        return f"{self.base(self.layout.host_of(feed))}/feed/{feed}.xml"

    def article_url(self, feed: int, item: int) -> str:
        return f"{self.base(self.layout.host_of(feed))}/a/{feed}/{item}.html"

    def __enter__(self) -> Site:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            for server in self._servers:
                server.close()
            for connection in list(self._connections):
                connection.close()
            for server in self._servers:
                await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def reset_counts(self) -> None:
        self.counts.clear()
        self.per_host.clear()

    async def _listen(self) -> None:
        for host in range(self.layout.hosts):
            handler = _handler_factory(self, host)
            server = await self._loop.create_server(
                handler, f"127.0.1.{host + 1}", 0, backlog=1024, reuse_address=True
            )
            self._servers.append(server)
            self.ports[host] = server.sockets[0].getsockname()[1]

    # -- answers -------------------------------------------------------------

    def answer(self, host: int, path: str, headers: dict[bytes, bytes]) -> bytes:
        self.per_host[host] += 1
        parts = path.strip("/").split("/")
        try:
            if parts[0] == "feed" and len(parts) == 2:
                return self._feed(int(parts[1].removesuffix(".xml")), headers)
            if parts[0] == "a" and len(parts) == 3:
                feed, item = int(parts[1]), int(parts[2].removesuffix(".html"))
                if self.layout.host_of(feed) == host:
                    self.counts["article"] += 1
                    page = self.content.page(feed, item)
                    return _response(200, page, b"text/html; charset=utf-8")
        except ValueError:
            pass
        self.counts["other"] += 1
        return _response(404, b"not found", b"text/plain")

    def _feed(self, feed: int, headers: dict[bytes, bytes]) -> bytes:
        newest = self.layout.newest_item(feed, time.time())
        if self.mode == "plain":
            self.counts["feed"] += 1
            return _response(200, self.feed_xml(feed, newest), b"application/rss+xml")
        etag = f'"f{feed}-{newest}"'.encode()
        if headers.get(b"if-none-match") == etag:
            self.counts["feed_304"] += 1
            return _response(304, b"", None, [(b"ETag", etag)])
        self.counts["feed"] += 1
        modified = formatdate(self.layout.appeared_at(feed, newest), usegmt=True).encode()
        extra = [(b"ETag", etag), (b"Last-Modified", modified)]
        return _response(200, self.feed_xml(feed, newest), b"application/rss+xml", extra)

    def feed_xml(self, feed: int, newest: int) -> bytes:
        items = []
        for item in range(newest, max(-1, newest - self.layout.items), -1):
            url = self.article_url(feed, item)
            when = formatdate(FIRST_ITEM_TIME + feed * 60 + item * 3600, usegmt=True)
            title = escape(self.content.title(feed, item))
            items.append(
                f"<item><title>{title}</title><link>{url}</link>"
                f'<guid isPermaLink="true">{url}</guid><pubDate>{when}</pubDate>'
                f"<description>{title}: the summary.</description></item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Feed {feed}</title><link>{self.base(self.layout.host_of(feed))}/</link>"
            f"<description>News of feed {feed}</description>{''.join(items)}</channel></rss>"
        ).encode()


_REASONS = {200: b"OK", 304: b"Not Modified", 404: b"Not Found", 400: b"Bad Request"}


def _response(
    status: int,
    body: bytes,
    content_type: bytes | None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> bytes:
    lines = [b"HTTP/1.1 %d %s" % (status, _REASONS[status])]
    if content_type:
        lines.append(b"Content-Type: " + content_type)
    lines.append(b"Content-Length: %d" % len(body))
    lines += [name + b": " + value for name, value in extra or ()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _handler_factory(site: Site, host: int) -> Callable[[], asyncio.Protocol]:
    return lambda: _Connection(site, host)


class _Connection(asyncio.Protocol):
    """HTTP/1.1 keep-alive, one request at a time (as httpx sends them)."""

    def __init__(self, site: Site, host: int) -> None:
        self.site = site
        self.host = host
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.site._connections.add(transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            request = lines[0].split(b" ")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            path = request[1].decode("latin-1") if len(request) == 3 else "/"
            loop = asyncio.get_running_loop()
            loop.call_later(self.site.latency, self._respond, path, headers)

    def _respond(self, path: str, headers: dict[bytes, bytes]) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(self.site.answer(self.host, path, headers))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.site._connections.discard(self.transport)
        self.transport = None
