"""A loopback test site: serves fixture feeds and pages on 127.0.0.1.

It is also an HTTP forward proxy for ``http://`` URLs, so a config with
``proxy: <site.url>`` reaches real-looking hosts (``www.zaobao.com.sg``) that all
land here. Routes are keyed by host and path; ``"*"`` matches any host. Every
request is recorded. Responses carrying an ETag answer 304 to a matching
``If-None-Match``. Routes may be changed while the server runs.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

TLS_DIR = Path(__file__).parent / "data" / "tls"
CA_BUNDLE = TLS_DIR / "ca.pem"


class TlsTunnelHandler(BaseHTTPRequestHandler):
    """A request handler that is also an HTTPS proxy: a CONNECT is answered, then
    TLS is terminated here with the test certificate and the requests inside the
    tunnel are served like any other (``tunnel_host`` names the host asked for)."""

    protocol_version = "HTTP/1.1"
    tunnel_host: str | None = None

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_CONNECT(self) -> None:
        host = self.path.rsplit(":", 1)[0].strip("[]")
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(TLS_DIR / "server.pem", TLS_DIR / "server.key")
        try:
            self.connection = context.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        self.rfile = self.connection.makefile("rb", self.rbufsize)
        self.wfile = self.connection.makefile("wb")
        self.tunnel_host = host
        self.close_connection = False

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        if self.tunnel_host is not None:
            with contextlib.suppress(OSError):
                self.connection.close()  # the TLS socket took over the file descriptor


@dataclass
class Response:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering

    def payload(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass(frozen=True)
class Request:
    host: str
    path: str
    headers: dict[str, str]


class Site:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Response] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- set-up --------------------------------------------------------
    def add(self, url_or_path: str, response: Response | str | bytes, **kw: object) -> None:
        """Serve ``response`` at a full URL (any host via the proxy) or a path here."""
        if not isinstance(response, Response):
            response = Response(body=response, **kw)  # type: ignore[arg-type]
        parts = urlsplit(url_or_path)
        host = parts.hostname if parts.scheme else "*"
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        with self._lock:
            self.routes[(host or "*", path)] = response

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def hits(self, path_part: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- serving -------------------------------------------------------
    def _lookup(self, host: str, path: str) -> Response | None:
        with self._lock:
            return self.routes.get((host, path)) or self.routes.get(("*", path))

    def start(self) -> None:
        site = self

        class Handler(TlsTunnelHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.scheme:  # proxied: absolute URI in the request line
                    host = parts.hostname or ""
                    path = parts.path or "/"
                else:
                    host = self.tunnel_host or (self.headers.get("Host") or "").split(":")[0]
                    path = parts.path or "/"
                if parts.query:
                    path += "?" + parts.query
                with site._lock:
                    site.requests.append(Request(host, path, dict(self.headers.items())))
                resp = site._lookup(host, path)
                if resp is None:
                    resp = Response(body=b"not found", status=404, content_type="text/plain")
                if resp.delay:
                    time.sleep(resp.delay)
                etag = resp.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = resp.payload()
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


@contextmanager
def running_site() -> Iterator[Site]:
    site = Site()
    site.start()
    try:
        yield site
    finally:
        site.stop()
