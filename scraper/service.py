"""The daemon's HTTP endpoint, for orchestrators and Prometheus.

``GET /healthz``: 200 while the process (its event loop) runs. ``GET /readyz``:
200 when every readiness check passes (config loaded, state writable,
scheduler running), 503 otherwise; both answer JSON. ``GET /metrics``: the
Prometheus text format. It runs in the daemon's own event loop, so a wedged
loop fails ``/healthz`` too. A deliberately small HTTP/1.1 server: GET and
HEAD only, one request per connection, bounded request size and read time.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Literal

from scraper.logs import log_event

if TYPE_CHECKING:
    from scraper.config import ServiceSettings

log = logging.getLogger("scraper.service")

MAX_REQUEST_BYTES = 8192
READ_TIMEOUT = 5.0
JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str


ReadinessProbe = Callable[[], dict[str, Check]]
MetricsSource = Callable[[str], tuple[bytes, str]]  # Accept header → body, Content-Type


def probe_host(host: str) -> str:
    """The address a local client should use for a server bound to ``host``."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def route(
    method: str,
    path: str,
    ready: ReadinessProbe,
    metrics: MetricsSource | None,
    accept: str = "",
) -> tuple[int, str, bytes]:
    """Status, Content-Type and body for one request."""
    if method not in ("GET", "HEAD"):
        return 405, TEXT, b"only GET and HEAD\n"
    path = path.split("?", 1)[0]
    if path == "/healthz":
        return 200, JSON, b'{"status": "ok"}\n'
    if path == "/readyz":
        checks = ready()
        ok = all(c.ok for c in checks.values())
        doc = {
            "status": "ok" if ok else "unavailable",
            "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()},
        }
        body = json.dumps(doc, ensure_ascii=False, indent=1).encode() + b"\n"
        return (200 if ok else 503), JSON, body
    if path == "/metrics" and metrics is not None:
        body, content_type = metrics(accept)
        return 200, content_type, body
    return 404, TEXT, b"not found: try /healthz, /readyz or /metrics\n"


class Service:
    """Serves ``route`` on ``host:port`` until closed."""

    def __init__(
        self, host: str, port: int, *, ready: ReadinessProbe, metrics: MetricsSource | None
    ) -> None:
        self.host = host
        self.port = port
        self._ready = ready
        self._metrics = metrics
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen; ``OSError`` when the address is taken or not allowed."""
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=MAX_REQUEST_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log_event(log, "service.listening", address=f"{self.host}:{self.port}")

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(READ_TIMEOUT):
                    head = await reader.readuntil(b"\r\n\r\n")
            except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split()
            accept = next(
                (
                    v.strip()
                    for k, _, v in (h.partition(":") for h in lines)
                    if k.lower() == "accept"
                ),
                "",
            )
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                status, content_type, body = 400, TEXT, b"bad request\n"
                method = ""
            else:
                method = parts[0]
                try:
                    status, content_type, body = route(
                        method, parts[1], self._ready, self._metrics, accept
                    )
                except Exception as exc:  # a probe must never take the daemon down
                    log_event(log, "service.error", logging.ERROR, path=parts[1], reason=repr(exc))
                    status, content_type, body = 500, TEXT, b"internal error\n"
            phrase = HTTPStatus(status).phrase
            writer.write(
                f"HTTP/1.1 {status} {phrase}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
            )
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)


def probe(host: str, port: int, path: str = "/healthz", timeout: float = 5.0) -> tuple[bool, str]:
    """GET ``path`` from the service bound to ``host:port``, as ``scrape healthcheck``
    does: whether it answered 200, and what it said."""
    address = probe_host(host)
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        body = answer.read(4096).decode("utf-8", "replace").strip()
    except OSError as exc:
        return False, f"no answer from http://{address}:{port}{path}: {exc.strerror or exc}"
    finally:
        conn.close()
    return answer.status == 200, f"http://{address}:{port}{path} answered {answer.status} {body}"


async def start_service(
    conf: ServiceSettings, ready: ReadinessProbe, metrics: MetricsSource | None
) -> Service | Literal[False] | None:
    """The HTTP endpoint ``conf`` asks for, listening; None when it is not enabled,
    False (logged as ``service.failed``) when it cannot listen."""
    if not conf.enabled:
        return None
    service = Service(conf.host, conf.port, ready=ready, metrics=metrics)
    try:
        await service.start()
    except OSError as exc:
        address = f"{conf.host}:{conf.port}"
        reason = exc.strerror or str(exc)
        log_event(log, "service.failed", logging.ERROR, address=address, reason=reason)
        return False
    return service
