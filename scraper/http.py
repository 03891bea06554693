"""The one HTTP client: limits, retries, conditional GET, size cap, charset, address guard.

``Fetcher.get`` answers ``Fetched`` (2xx, body decoded) or ``NotModified`` (304)
and raises ``FetchError`` for everything else; no httpx exception gets out.
Redirects are followed here, hop by hop, so that the address guard
(``netguard``) sees every host. Bodies are inflated here too, so that the size
cap counts inflated bytes (a gzip bomb stops at the cap) and a truncated gzip
stream is noticed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import socket
import ssl
import sys
import time
import zlib
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any, Protocol

import httpcore
import httpx
from httpx._transports.default import map_httpcore_exceptions

from scraper import netguard
from scraper.charset import decode_body
from scraper.config import HttpSettings
from scraper.errors import FetchError
from scraper.types import Fetched, NotModified, Validators

__all__ = ["Fetcher", "PageGate", "decode_body"]

# httpcore asks ``import sniffio`` several times per request; without sniffio each
# failed import searches sys.path again (a fifth of a request's CPU). None in
# sys.modules makes it fail at once, and httpcore then assumes asyncio, as it should.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({400, 404, 405, 410, 414, 451, 501})
_BACKOFF_BASE = 1.0  # the first retry waits up to this long (full jitter), doubling after
_BACKOFF_MAX = 60.0
_Headers = dict[bytes, bytes]  # bytes: a validator may hold non-ASCII
_RawHeaders = list[tuple[bytes, bytes]]
_DRAINED = 64 * 1024  # a 304's or a redirect's body up to this is read, keeping the connection
_IDLE_PER_SLOT = 4  # hosts whose idle connections are kept, per request slot
_TIMED_OUT = {
    httpx.ConnectTimeout: "connecting",
    httpx.WriteTimeout: "sending the request",
    httpx.PoolTimeout: "waiting for a free connection",
}


class FetchHooks(Protocol):
    """Told how each ``get`` ended (``observer.Observer`` is one)."""

    def fetched(self, *, status: int, size: int, duration: float) -> None: ...

    def fetch_failed(self, *, kind: str, status: int | None, duration: float) -> None: ...


class Fetcher:
    """Fetches URLs for the whole scraper through one shared connection pool."""

    def __init__(
        self,
        http: HttpSettings,
        *,
        allow_private_networks: bool = False,
        proxy: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        hooks: FetchHooks | None = None,
    ) -> None:
        self.hooks = hooks
        self._settings = http
        self._sleep = sleep
        self._guard = not allow_private_networks
        self._all_hosts = asyncio.Semaphore(http.max_connections)
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self._pauses: dict[str, set[asyncio.Event]] = {}  # hosts that asked us to wait
        limits = httpx.Limits(
            max_connections=http.max_connections, max_keepalive_connections=http.max_connections
        )
        direct, mounts = netguard.transports(
            guard=self._guard, proxy=proxy, ca_bundle=http.ca_bundle, limits=limits
        )
        self._proxied = any(mounts.values())
        self._mounted = bool(mounts)  # some URLs may go through a proxy: httpx picks which
        self._pools = _PoolPerHost(
            direct, per_host=http.max_per_host, hosts=_IDLE_PER_SLOT * http.max_connections
        )
        self._client = httpx.AsyncClient(
            transport=self._pools,
            mounts=mounts,
            headers={"User-Agent": http.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(http.timeout),
            follow_redirects=False,
            trust_env=False,  # proxies are in ``mounts`` already; and no ~/.netrc passwords
        )
        # What httpx would add to every request, worked out once for the direct path.
        self._base_headers = _lowered(self._client.headers.raw)
        self._extensions = {"timeout": self._client.timeout.as_dict()}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        accept: str | None = None,
        gate: PageGate | None = None,
    ) -> Fetched | NotModified:
        """GET ``url``: follow redirects, retry what is worth retrying, decode the body.
        The ``hooks`` hear how it ended and how long it took.

        With ``gate``, a ticket of it is taken once this request's turn at its host
        has come, and is the caller's to give back (``gate.release()``) when ``get``
        returns; when it raises, the ticket is given back already."""
        ticket = _Ticket(gate)
        started = time.monotonic()
        try:
            answer = await self._get(url, validators, accept, ticket)
        except FetchError as exc:
            ticket.give_back()
            if self.hooks is not None:
                self.hooks.fetch_failed(
                    kind=exc.label, status=exc.status, duration=time.monotonic() - started
                )
            raise
        except BaseException:
            ticket.give_back()
            raise
        if self.hooks is not None:
            duration = time.monotonic() - started
            if isinstance(answer, NotModified):
                self.hooks.fetched(status=304, size=0, duration=duration)
            else:
                self.hooks.fetched(
                    status=answer.status, size=len(answer.content), duration=duration
                )
        return answer

    async def get_page(
        self, url: str, *, accept: str | None = None, gate: PageGate | None = None
    ) -> Fetched:
        """``get`` without validators, so never NotModified: a 304 to a request that
        asked for none is a failure (and the ``gate``'s ticket goes back with it)."""
        answer = await self.get(url, accept=accept, gate=gate)
        if isinstance(answer, NotModified):
            if gate is not None:
                gate.release()
            raise FetchError(
                url, "server answered 304 to an unconditional request", kind="bad_body"
            )
        return answer

    async def _get(
        self, url: str, validators: Validators | None, accept: str | None, ticket: _Ticket
    ) -> Fetched | NotModified:
        sent = validators or Validators()
        headers: _Headers = {}
        if sent.etag:
            headers[b"If-None-Match"] = sent.etag.encode()
        if sent.last_modified:
            headers[b"If-Modified-Since"] = sent.last_modified.encode()
        if accept:
            headers[b"Accept"] = accept.encode()
        cap = self._settings.retry_after_cap
        attempt = 0
        while True:
            try:
                return await self._follow(url, headers, sent, ticket)
            except _Failure as failure:
                ticket.give_back()  # not held while waiting to try again
                wait = failure.retry_after
                if failure.retryable and wait is not None and wait > cap:
                    note = f"; asked to wait {wait:.0f}s, over the {cap:.0f}s cap"
                    raise failure.error(url, note) from None
                if not failure.retryable or attempt >= self._settings.retries:
                    raise failure.error(url) from None
                attempt += 1
                if wait is None:
                    wait = random.uniform(0, min(_BACKOFF_MAX, _BACKOFF_BASE * 2 ** (attempt - 1)))
                    await self._sleep(wait)  # holding no slot, so other requests go on
                else:  # the host asked us to wait: nothing else goes to it meanwhile
                    async with self._pausing(failure.host or httpx.URL(url).host):
                        await self._sleep(wait)

    async def _follow(
        self, url: str, headers: _Headers, sent: Validators, ticket: _Ticket
    ) -> Fetched | NotModified:
        started = time.monotonic()
        chain = [url]
        while True:
            target = _checked_url(chain[-1])
            answer = await self._hop(target, headers, sent, started, len(chain), ticket=ticket)
            if not isinstance(answer, httpx.URL):
                return answer
            chain.append(str(answer))
            if len(chain) > self._settings.max_redirects + 1:
                # Not on the first repeat: some sites set a cookie and redirect to the same URL.
                if len(set(chain)) < len(chain):
                    raise _Failure(
                        f"redirect loop ({chain[-2]} → {chain[-1]})", False, kind="redirect"
                    )
                limit = self._settings.max_redirects
                raise _Failure(f"too many redirects (more than {limit})", False, kind="redirect")

    async def _hop(
        self,
        url: httpx.URL,
        headers: _Headers,
        sent: Validators,
        started: float,
        hop: int,
        *,
        ticket: _Ticket,
    ) -> Fetched | NotModified | httpx.URL:
        """One request: the answer, or where a redirect points."""
        phase = "waiting for the response"
        async with self._host_slot(url.host):
            await ticket.take()  # here, so that a full gate never holds back another host
            try:
                if self._guard:
                    await self._vet_before_request(url)
                async with self._all_hosts:
                    # The clock starts once we hold a slot: time queued is not the server's.
                    async with asyncio.timeout(self._settings.deadline):
                        async with self._exchange(url, headers) as reply:
                            phase = "reading the body"
                            return await self._answer(reply, sent, started)
            except _Failure as raised:
                raised.host = raised.host or url.host
                raise
            except TimeoutError:
                deadline = self._settings.deadline
                raise _Failure(
                    f"took longer than {deadline:g}s in all ({phase})", True, kind="timeout"
                ) from None
            except (httpx.HTTPError, httpx.InvalidURL, netguard.GuardError) as exc:
                failure = _failure_for_exception(exc, phase, self._settings.timeout, url.host)
                if hop > 1 and isinstance(exc, netguard.BlockedAddress):
                    failure.reason = exc.reason(redirected_to=str(url))
                raise failure from None

    async def _vet_before_request(self, url: httpx.URL) -> None:
        """IP literals always; host names too when a proxy may connect for us (the
        guarded backend can't see the target then). A name we can't resolve is
        left to the proxy: it may know names we don't."""
        if netguard.ip_literal(url.host) is None and not self._proxied:
            return
        try:
            async with asyncio.timeout(self._settings.timeout):
                await netguard.vet_host(url.host, url.port or 0)
        except (netguard.HostNotFound, TimeoutError):
            pass

    @asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        """At most ``max_per_host`` requests to ``host`` at once, started ``host_delay`` apart."""
        semaphore = self._per_host.setdefault(host, asyncio.Semaphore(self._settings.max_per_host))
        async with semaphore:
            while pauses := self._pauses.get(host):
                await next(iter(pauses)).wait()
            if delay := self._settings.host_delay:
                now = asyncio.get_running_loop().time()
                start = max(now, self._next_start.get(host, now))
                self._next_start[host] = start + delay
                if start > now:
                    await self._sleep(start - now)
            yield

    @asynccontextmanager
    async def _pausing(self, host: str) -> AsyncIterator[None]:
        """Requests to ``host`` wait in ``_host_slot`` while this is open."""
        resumed = asyncio.Event()
        self._pauses.setdefault(host, set()).add(resumed)
        try:
            yield
        finally:
            resumed.set()
            self._pauses[host].discard(resumed)

    @asynccontextmanager
    async def _exchange(self, url: httpx.URL, headers: _Headers) -> AsyncIterator[_Reply]:
        """One GET, its answer open while the block runs. Straight to the host's
        httpcore pool when httpx's client would add nothing to the request: no proxy,
        no ``user:password@`` in the URL, no cookie to send. Through the client
        otherwise. Both send the same bytes and raise the same httpx exceptions."""
        if self._mounted or url.userinfo or self._client.cookies or self._client.is_closed:
            async with self._client.stream("GET", url, headers=headers) as r:
                sent = r.request.headers.raw
                yield _Reply(r.status_code, r.reason_phrase, r.headers, r.url, sent, r.aiter_raw)
            return
        sent = _request_headers(self._base_headers, url.netloc, headers)
        async with self._pools.exchange(url, sent, self._extensions) as response:
            reply = _Reply(
                response.status,
                _reason_phrase(response),
                httpx.Headers(response.headers),
                url,
                sent,
                lambda: _mapped(response.stream),
            )
            if "set-cookie" in reply.headers or "set-cookie2" in reply.headers:
                self._keep_cookies(reply)
            yield reply

    def _keep_cookies(self, reply: _Reply) -> None:
        """What httpx's client does with every answer, done for the direct path's."""
        request = httpx.Request("GET", reply.url, headers=reply.request_headers)
        answer = httpx.Response(reply.status, headers=reply.headers, request=request)
        self._client.cookies.extract_cookies(answer)

    async def _answer(
        self, reply: _Reply, sent: Validators, started: float
    ) -> Fetched | NotModified | httpx.URL:
        status, headers = reply.status, reply.headers
        if status in _REDIRECTS or status == 304:
            await _drain(reply)
        if status in _REDIRECTS:
            if not (location := headers.get("location")):
                raise _Failure(f"HTTP {status} redirect without a Location", False, kind="redirect")
            return reply.url.join(location)
        if status == 304:
            got = _validators(headers)
            etag, modified = got.etag or sent.etag, got.last_modified or sent.last_modified
            return NotModified(str(reply.url), Validators(etag, modified))
        if not 200 <= status < 300:
            raise _failure_for_status(reply)
        content = await self._read_body(reply)
        text, encoding = decode_body(content, headers.get("content-type"))
        return Fetched(
            url=str(reply.url),
            status=status,
            content_type=headers.get("content-type", "").split(";")[0].strip().lower(),
            content=content,
            text=text,
            encoding=encoding,
            validators=_validators(headers),
            elapsed=time.monotonic() - started,
            reason=reply.reason,
            headers=tuple(headers.raw),
            request_headers=tuple(reply.request_headers),
        )

    async def _read_body(self, reply: _Reply) -> bytes:
        """The inflated body, refused as soon as it grows past ``max_body``."""
        cap = self._settings.max_body
        too_big = _Failure(
            f"body larger than {_size(cap)} cap", False, permanent=True, kind="too_large"
        )
        declared = reply.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_big
        inflater = _Inflater(reply.headers.get("content-encoding", ""))
        body = bytearray()
        async for chunk in reply.chunks():
            body += inflater.inflate(chunk, room=cap - len(body))
            if len(body) > cap:
                raise too_big
        inflater.finish()
        return bytes(body)


@dataclass(slots=True)
class _Reply:
    """An answer, read up to its body, whichever way the request went."""

    status: int
    reason: str
    headers: httpx.Headers
    url: httpx.URL
    request_headers: _RawHeaders  # as sent
    chunks: Callable[[], AsyncIterator[bytes]]  # the body as it came (still encoded)


def _lowered(headers: _RawHeaders) -> list[tuple[bytes, bytes, bytes]]:
    return [(name.lower(), name, value) for name, value in headers]


def _request_headers(
    base: list[tuple[bytes, bytes, bytes]], netloc: bytes, extra: _Headers
) -> _RawHeaders:
    """The headers httpx's client sends for a GET with ``extra``: Host first, then
    its own (``base``, lowered name first) less those ``extra`` names, then ``extra``."""
    if not extra:
        return [(b"Host", netloc), *((name, value) for _, name, value in base)]
    replaced = {name.lower() for name in extra}
    kept = [(name, value) for lower, name, value in base if lower not in replaced]
    return [(b"Host", netloc), *kept, *extra.items()]


def _reason_phrase(response: httpcore.Response) -> str:
    """As ``httpx.Response.reason_phrase`` has it."""
    phrase = response.extensions.get("reason_phrase")
    if phrase is None:
        return httpx.codes.get_reason_phrase(response.status)
    return bytes(phrase).decode("ascii", errors="ignore")


async def _mapped(stream: Any) -> AsyncIterator[bytes]:
    """httpcore's body stream with httpx's exceptions, as httpx's client reads it."""
    with map_httpcore_exceptions():
        async for chunk in stream:
            yield chunk


async def _drain(reply: _Reply) -> None:
    """Reads a small body to its end so that the connection goes back to the pool
    (one closed unread is dropped); a large or broken one is left to be closed."""
    declared = reply.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > _DRAINED:
        return
    try:
        async for _ in reply.chunks():
            pass
    except httpx.HTTPError:
        pass


class _PoolPerHost(httpx.AsyncBaseTransport):
    """A connection pool per origin, made like ``template``'s, for the most recently
    used ``hosts`` origins (the others' idle connections are closed).

    httpcore's pool walks all its connections, twice over, for every request it
    starts or ends: with a hundred connections to fifty hosts in one pool, that
    walk cost more CPU than the request. The semaphores of ``Fetcher`` already
    bound the requests in flight, so a small pool per host loses nothing."""

    def __init__(self, template: httpx.AsyncHTTPTransport, *, per_host: int, hosts: int) -> None:
        self._template: httpcore.AsyncConnectionPool = template._pool
        self._per_host = per_host
        self._hosts = max(hosts, 8)
        self._pools: OrderedDict[tuple[bytes, bytes, int | None], httpx.AsyncHTTPTransport]
        self._pools = OrderedDict()
        self._busy: Counter[tuple[bytes, bytes, int | None]] = Counter()

    def _pool_for(self, key: tuple[bytes, bytes, int | None]) -> httpx.AsyncHTTPTransport:
        transport = self._pools.get(key)
        if transport is not None:
            self._pools.move_to_end(key)
            return transport
        template = self._template
        ssl_context = template._ssl_context
        assert ssl_context is not None  # netguard.transports always gives one
        transport = httpx.AsyncHTTPTransport(verify=ssl_context)
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=self._per_host,
            max_keepalive_connections=self._per_host,
            keepalive_expiry=template._keepalive_expiry,
            network_backend=template._network_backend,
        )
        self._pools[key] = transport
        return transport

    async def _evict(self) -> None:
        idle = [k for k in self._pools if not self._busy[k]][: len(self._pools) - self._hosts]
        for key in idle:
            await self._pools.pop(key).aclose()
            del self._busy[key]

    async def _ready(self, key: tuple[bytes, bytes, int | None]) -> httpx.AsyncHTTPTransport:
        transport = self._pool_for(key)
        if len(self._pools) > self._hosts:
            await self._evict()
        return transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        transport = await self._ready(key)
        self._busy[key] += 1
        try:
            response = await transport.handle_async_request(request)
        except BaseException:
            self._busy[key] -= 1
            raise
        response.stream = _Counted(response.stream, self._busy, key)
        return response

    @asynccontextmanager
    async def exchange(
        self, url: httpx.URL, headers: _RawHeaders, extensions: dict[str, Any]
    ) -> AsyncIterator[httpcore.Response]:
        """A GET of ``url`` with exactly ``headers``, through the same pool as
        ``handle_async_request``'s, without httpx's request and response objects;
        httpcore's exceptions become httpx's, as httpx's transport makes them."""
        key = (url.raw_scheme, url.raw_host, url.port)
        transport = await self._ready(key)
        request = httpcore.Request(
            b"GET",
            httpcore.URL(scheme=key[0], host=key[1], port=key[2], target=url.raw_path),
            headers=headers,
            extensions=extensions,
        )
        self._busy[key] += 1
        try:
            with map_httpcore_exceptions():
                response = await transport._pool.handle_async_request(request)
            try:
                yield response
            finally:
                await response.aclose()
        finally:
            self._busy[key] -= 1

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for transport in pools:
            await transport.aclose()
        await self._template.aclose()


class _Counted(httpx.AsyncByteStream):
    """A response body that tells its pool's in-use count when it is closed."""

    def __init__(
        self, stream: httpx.SyncByteStream | httpx.AsyncByteStream, busy: Counter[Any], key: Any
    ) -> None:
        assert isinstance(stream, httpx.AsyncByteStream)
        self._stream, self._busy, self._key, self._open = stream, busy, key, True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._busy[self._key] -= 1
        await self._stream.aclose()


class PageGate:
    """Bounds the bodies fetched and not yet processed (pages waiting for the
    extraction workers, say), so that a fast network cannot fill the memory."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = asyncio.Semaphore(size)

    async def acquire(self) -> None:
        await self._free.acquire()

    def release(self) -> None:
        self._free.release()


class _Ticket:
    """A ``get``'s hold on its gate, if it has one: taken at most once at a time."""

    def __init__(self, gate: PageGate | None) -> None:
        self.gate = gate
        self.held = False

    async def take(self) -> None:
        if self.gate is not None and not self.held:
            await self.gate.acquire()
            self.held = True

    def give_back(self) -> None:
        if self.gate is not None and self.held:
            self.held = False
            self.gate.release()


@dataclass(eq=False)
class _Failure(Exception):
    """A failed attempt on its way to becoming a FetchError: says whether to try again."""

    reason: str
    retryable: bool
    status: int | None = None
    retry_after: float | None = None
    permanent: bool = False
    host: str | None = None  # where it happened (a redirect may have led elsewhere)
    kind: str = "other"  # FetchError.kind

    def __str__(self) -> str:
        return self.reason

    def error(self, url: str, note: str = "") -> FetchError:
        return FetchError(
            url,
            self.reason + note,
            status=self.status,
            retry_after=self.retry_after,
            permanent=self.permanent,
            kind=self.kind,
        )


def _failure_for_status(reply: _Reply) -> _Failure:
    status = reply.status
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = reply.reason
    reason = f"HTTP {status} {phrase}".rstrip()
    if reply.headers.get("cf-mitigated") == "challenge":
        reason += " (Cloudflare challenge page)"
    return _Failure(
        reason,
        status in (408, 429) or status >= 500,
        status=status,
        retry_after=_retry_after(reply.headers),
        permanent=status in _PERMANENT,
    )


def _failure_for_exception(exc: Exception, phase: str, timeout: float, host: str) -> _Failure:
    """The one place where transport trouble becomes a reason a user understands."""
    if isinstance(exc, netguard.BlockedAddress):
        return _Failure(str(exc), False, permanent=True, kind="blocked_address")
    if isinstance(exc, netguard.HostNotFound):
        return _Failure(str(exc), False, kind="dns")
    if isinstance(exc, httpx.TimeoutException):  # a ReadTimeout is in ``phase``
        return _Failure(
            f"timed out after {timeout:g}s {_TIMED_OUT.get(type(exc), phase)}", True, kind="timeout"
        )
    if isinstance(exc, httpx.ConnectError):
        return _connect_failure(exc, host)
    if isinstance(exc, httpx.RemoteProtocolError) and phase == "reading the body":
        return _Failure(
            "the server closed the connection before the body was complete", True, kind="bad_body"
        )
    if isinstance(exc, httpx.RemoteProtocolError):
        return _Failure(f"the server sent a malformed response ({exc})", True, kind="bad_body")
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return _Failure(
            f"connection lost {phase} ({str(exc) or type(exc).__name__})", True, kind="connection"
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return _Failure("not a supported URL scheme", False, permanent=True, kind="invalid_url")
    if isinstance(exc, httpx.InvalidURL | httpx.LocalProtocolError):
        return _Failure(f"not a valid request: {exc}", False, permanent=True, kind="invalid_url")
    return _Failure(f"request failed: {str(exc) or type(exc).__name__}", True, kind="other")


def _connect_failure(exc: httpx.ConnectError, host: str) -> _Failure:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return _Failure("connection refused", True, kind="connection_refused")
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _Failure(
                f"TLS certificate not accepted: {cause.verify_message}", False, kind="tls"
            )
        if isinstance(cause, ssl.SSLError):
            return _Failure(f"TLS handshake failed: {cause.reason or cause}", False, kind="tls")
        if isinstance(cause, socket.gaierror):
            return _Failure(f"could not resolve host {host}", False, kind="dns")
        cause = cause.__cause__ or cause.__context__
    return _Failure(f"could not connect: {exc}", True, kind="connection")


class _Inflater:
    """Undoes a gzip or deflate Content-Encoding, never inflating more than asked for."""

    def __init__(self, content_encoding: str) -> None:
        self.encoding = content_encoding.strip().lower()
        self._zlib: zlib._Decompress | None = None
        if self.encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self.encoding not in ("", "identity", "deflate"):
            raise _Failure(f"unsupported Content-Encoding: {self.encoding}", False, kind="bad_body")

    def inflate(self, data: bytes, room: int) -> bytes:
        """Up to ``room + 1`` bytes: one more than ``room`` tells the caller it's too big."""
        if self.encoding in ("", "identity"):
            return data
        if self._zlib is None:  # deflate: zlib-wrapped says the RFC, raw say some servers
            wrapped = len(data) > 1 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        try:
            return self._zlib.decompress(self._zlib.unconsumed_tail + data, max(room, 0) + 1)
        except zlib.error as exc:
            raise _Failure(
                f"body is not valid {self.encoding} data ({exc})", False, kind="bad_body"
            ) from None

    def finish(self) -> None:
        if self._zlib is not None and not self._zlib.eof:
            raise _Failure(f"{self.encoding} body is truncated", False, kind="bad_body")


def _checked_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise _Failure(
            f"not a valid URL: {exc}", False, permanent=True, kind="invalid_url"
        ) from None
    if parsed.scheme not in ("http", "https"):
        raise _Failure(
            f"not a supported URL scheme: {url[:40]}", False, permanent=True, kind="invalid_url"
        )
    if not parsed.host:
        raise _Failure("not a valid URL: no host", False, permanent=True, kind="invalid_url")
    return parsed


def _validators(headers: httpx.Headers) -> Validators:
    return Validators(etag=headers.get("etag"), last_modified=headers.get("last-modified"))


def _retry_after(headers: httpx.Headers) -> float | None:
    """Retry-After in seconds: a number, or an HTTP date taken against the server's
    own Date header when it sent one (so a skewed clock doesn't matter)."""
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    try:
        until = parsedate_to_datetime(value)
        now = parsedate_to_datetime(headers["date"]) if "date" in headers else None
    except (TypeError, ValueError, IndexError):
        return None
    seconds = until.timestamp() - (now.timestamp() if now else time.time())
    return max(0.0, seconds)


def _size(n: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n} bytes"
