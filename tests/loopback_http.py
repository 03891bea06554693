"""Real HTTP servers on 127.0.0.1 for the fetcher's tests: an origin with
scripted routes, and a tiny forward proxy that knows made-up host names."""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

Route = Callable[["Handler"], None]
TLS_DIR = Path(__file__).parent / "data" / "tls"  # shared with loopback_site.py
CA_BUNDLE = TLS_DIR / "ca.pem"


class Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.record(self)
        host = self.headers.get("Host", "").split(":")[0]
        owner.enter(host)
        try:
            owner.handle(self)
        finally:
            owner.leave(host)

    def reply(
        self,
        status: int = 200,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        length: bool = True,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: Loopback


class Loopback:
    """An origin server: ``routes[path](handler)`` answers; unknown paths get 404."""

    def __init__(self, address: str = "127.0.0.1", *, tls: bool = False) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.peak: Counter[str] = Counter()
        self.peak_total = 0
        self._active: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = _Server((address, 0), Handler)
        self._server.owner = self
        self.scheme = "https" if tls else "http"
        if tls:  # the test certificate: localhost, *.example.test, 127.0.0.1
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(TLS_DIR / "server.pem", TLS_DIR / "server.key")
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def record(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append((handler.path, dict(handler.headers.items())))

    def enter(self, host: str) -> None:
        with self._lock:
            self._active[host] += 1
            self.peak[host] = max(self.peak[host], self._active[host])
            self.peak_total = max(self.peak_total, sum(self._active.values()))

    def leave(self, host: str) -> None:
        with self._lock:
            self._active[host] -= 1

    def handle(self, handler: Handler) -> None:
        route = self.routes.get(urlsplit(handler.path).path)
        if route is None:
            handler.reply(404, b"not here")
        else:
            route(handler)

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def __enter__(self) -> Loopback:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class ForwardProxy(Loopback):
    """A forward proxy: takes absolute-form requests and fetches them from
    ``names[host]`` (a loopback port), the way a proxy resolves names we can't."""

    def __init__(self, names: dict[str, int]) -> None:
        super().__init__()
        self.names = names

    def handle(self, handler: Handler) -> None:
        target = urlsplit(handler.path)
        if not target.hostname or target.hostname not in self.names:
            handler.reply(502, b"proxy: unknown host")
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.names[target.hostname], timeout=5)
        path = target.path + (f"?{target.query}" if target.query else "")
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "proxy-connection"}
        upstream.request("GET", path, headers=headers)
        answer = upstream.getresponse()
        body = answer.read()
        skip = {"content-length", "transfer-encoding", "connection"}
        handler.reply(
            answer.status,
            body,
            {k: v for k, v in answer.getheaders() if k.lower() not in skip}
            | {"Via": "1.1 test-proxy"},
        )
        upstream.close()


def slow(seconds: float, body: bytes = b"ok") -> Route:
    def route(handler: Handler) -> None:
        time.sleep(seconds)
        handler.reply(200, body, {"Content-Type": "text/plain"})

    return route
