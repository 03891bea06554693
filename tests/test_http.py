"""Fetcher against real loopback servers: every answer becomes Fetched, NotModified or
FetchError with a reason a user can read."""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate
from typing import Any, TypeVar

import httpx
import pytest
from loopback_http import CA_BUNDLE, Handler, Loopback, slow

from scraper.config import HttpSettings
from scraper.errors import ConfigError, FetchError
from scraper.http import Fetcher, PageGate, _Inflater
from scraper.types import Fetched, NotModified, Validators

T = TypeVar("T")
MiB = 1024 * 1024
pytestmark = pytest.mark.usefixtures("without_proxy_variables")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Sleeps:
    """An injected ``sleep`` that records instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def server() -> Iterator[Loopback]:
    with Loopback() as s:
        yield s


def settings(**changes: Any) -> HttpSettings:
    return HttpSettings(**{"timeout": 5, "retries": 0, **changes})


async def fetch(
    url: str,
    *,
    sleep: Sleeps | None = None,
    private: bool = True,
    proxy: str | None = None,
    validators: Validators | None = None,
    accept: str | None = None,
    **changes: Any,
) -> Fetched | NotModified:
    async with Fetcher(
        settings(**changes), allow_private_networks=private, proxy=proxy, sleep=sleep or Sleeps()
    ) as fetcher:
        return await fetcher.get(url, validators=validators, accept=accept)


def fetch_error(url: str, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        run(fetch(url, **kwargs))
    assert caught.value.url == url
    return caught.value


def fetched(url: str, **kwargs: Any) -> Fetched:
    answer = run(fetch(url, **kwargs))
    assert isinstance(answer, Fetched)
    return answer


def html(status: int = 200, body: bytes = b"<p>hi</p>", headers: dict[str, str] | None = None):
    def route(h: Handler) -> None:
        h.reply(status, body, {"Content-Type": "text/html; charset=utf-8", **(headers or {})})

    return route


def script(*routes: Any):
    """Answers with the routes in turn, repeating the last one."""
    remaining = list(routes)

    def route(h: Handler) -> None:
        (remaining.pop(0) if len(remaining) > 1 else remaining[0])(h)

    return route


# --- the ordinary answer --------------------------------------------------------------


def test_a_page_with_its_validators_and_headers_we_send(server: Loopback) -> None:
    server.routes["/page"] = html(
        body="<p>新闻</p>".encode(),
        headers={
            "Content-Type": "Text/HTML; Charset=UTF-8",
            "ETag": '"v1"',
            "Last-Modified": "Tue, 22 Nov 2021 04:48:56 GMT",
        },
    )
    page = fetched(server.url("/page"), accept="text/html", user_agent="test-agent/1")
    assert page.url == server.url("/page")
    assert (page.status, page.content_type, page.encoding) == (200, "text/html", "utf-8")
    assert page.text == "<p>新闻</p>" and page.content == "<p>新闻</p>".encode()
    assert page.validators == Validators('"v1"', "Tue, 22 Nov 2021 04:48:56 GMT")
    assert page.elapsed >= 0
    _, sent = server.requests[0]
    assert sent["User-Agent"] == "test-agent/1"
    assert sent["Accept"] == "text/html"
    assert "If-None-Match" not in sent


def test_a_request_sends_what_httpx_s_own_client_sends(server: Loopback) -> None:
    """The fetcher's requests go to the host's connection pool without httpx's
    request object (``Fetcher._exchange``): the server sees the same headers, in
    the same order, as from an ``httpx.AsyncClient`` given the same ones, for a
    plain request and a conditional one, and ``Fetched`` records what was sent."""
    server.routes["/page"] = html(body=b"<p>x</p>")
    extra = {"If-None-Match": '"v1"', "If-Modified-Since": "Tue, 22 Nov 2021 04:48:56 GMT"}
    agent = {"User-Agent": "test-agent/1", "Accept-Encoding": "gzip, deflate"}

    async def both() -> Fetched:
        async with Fetcher(settings(user_agent="test-agent/1"), allow_private_networks=True) as f:
            plain = await f.get(server.url("/page"))
            await f.get(server.url("/page"), validators=Validators(*extra.values()), accept="a/b")
        async with httpx.AsyncClient(headers=agent, trust_env=False) as client:
            await client.get(server.url("/page"))
            await client.get(server.url("/page"), headers={**extra, "Accept": "a/b"})
        assert isinstance(plain, Fetched)
        return plain

    plain = run(both())
    ours, theirs = server.requests[:2], server.requests[2:]
    assert [list(sent.items()) for _, sent in ours] == [list(s.items()) for _, s in theirs]
    assert list(ours[1][1])[-3:] == ["If-None-Match", "If-Modified-Since", "Accept"]
    assert [(k.decode(), v.decode()) for k, v in plain.request_headers] == list(ours[0][1].items())


def test_cookies_a_server_sets_are_sent_back_on_both_paths(server: Loopback) -> None:
    """An answer's Set-Cookie is kept by the client (on the direct path as on
    httpx's), and the requests after it carry the cookie."""
    server.routes["/set"] = lambda h: h.reply(200, b"set", headers={"Set-Cookie": "k=v; Path=/"})
    server.routes["/after"] = lambda h: h.reply(200, h.headers.get("Cookie", "none").encode())

    async def go() -> list[str]:
        async with Fetcher(settings(), allow_private_networks=True) as fetcher:
            before = await fetcher.get(server.url("/after"))
            await fetcher.get(server.url("/set"))
            after = await fetcher.get(server.url("/after"))
        assert isinstance(before, Fetched) and isinstance(after, Fetched)
        return [before.text, after.text]

    assert run(go()) == ["none", "k=v"]


def test_a_gbk_page_behind_a_latin1_header_is_decoded(server: Loopback) -> None:
    text = "<html><body><p>台北上海双城论坛确定12月1日举办，据联合网报道。</p></body></html>"
    server.routes["/gbk"] = html(
        body=text.encode("gbk"), headers={"Content-Type": "text/html; charset=ISO-8859-1"}
    )
    page = fetched(server.url("/gbk"))
    assert (page.text, page.encoding) == (text, "gb18030")


def test_conditional_get_answers_not_modified(server: Loopback) -> None:
    def route(h: Handler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            h.reply(304, headers={"ETag": '"v1"'}, length=False)
        else:
            h.reply(200, b"<p>changed</p>")

    server.routes["/feed"] = route
    sent = Validators('"v1"', "Tue, 22 Nov 2021 04:48:56 GMT")
    answer = run(fetch(server.url("/feed"), validators=sent))
    assert answer == NotModified(server.url("/feed"), sent)
    _, headers = server.requests[0]
    assert headers["If-Modified-Since"] == "Tue, 22 Nov 2021 04:48:56 GMT"
    assert isinstance(run(fetch(server.url("/feed"), validators=Validators('"v0"'))), Fetched)
    assert isinstance(run(fetch(server.url("/feed"), validators=Validators('"é"'))), Fetched)


# --- statuses and retries -------------------------------------------------------------


def test_404_is_permanent_and_not_retried(server: Loopback) -> None:
    sleeps = Sleeps()
    error = fetch_error(server.url("/missing"), retries=3, sleep=sleeps)
    assert (error.reason, error.status, error.permanent) == ("HTTP 404 Not Found", 404, True)
    assert sleeps.calls == [] and len(server.requests) == 1


def test_503_with_retry_after_is_retried_after_that_long(server: Loopback) -> None:
    unavailable = html(503, b"busy", {"Retry-After": "7"})
    server.routes["/busy"] = script(unavailable, unavailable, html(body=b"<p>ok</p>"))
    sleeps = Sleeps()
    page = fetched(server.url("/busy"), retries=3, sleep=sleeps)
    assert page.text == "<p>ok</p>"
    assert sleeps.calls == [7, 7]
    assert len(server.requests) == 3


def test_429_with_an_http_date_counts_from_the_servers_clock(server: Loopback) -> None:
    server_now = datetime(2030, 1, 1, tzinfo=UTC)

    def limited(h: Handler) -> None:
        h.send_response_only(429)  # without the real Date header send_response adds
        h.send_header("Date", format_datetime(server_now, usegmt=True))
        h.send_header("Retry-After", format_datetime(server_now + timedelta(seconds=120), True))
        h.send_header("Content-Length", "0")
        h.end_headers()

    server.routes["/limited"] = script(limited, html())
    sleeps = Sleeps()
    fetched(server.url("/limited"), retries=1, sleep=sleeps)
    assert sleeps.calls == [120]


def test_an_http_date_without_a_server_date_uses_our_clock(server: Loopback) -> None:
    later = formatdate(datetime.now(UTC).timestamp() + 60, usegmt=True)

    def limited(h: Handler) -> None:  # BaseHTTPRequestHandler would add a Date header
        h.send_response_only(429)
        h.send_header("Retry-After", later)
        h.send_header("Content-Length", "0")
        h.end_headers()

    server.routes["/limited"] = script(limited, html())
    sleeps = Sleeps()
    fetched(server.url("/limited"), retries=1, sleep=sleeps)
    assert 55 <= sleeps.calls[0] <= 61


def test_retry_after_over_the_cap_fails_at_once_with_retry_after(server: Loopback) -> None:
    server.routes["/limited"] = html(429, b"", {"Retry-After": "3600"})
    sleeps = Sleeps()
    error = fetch_error(server.url("/limited"), retries=3, retry_after_cap=300, sleep=sleeps)
    assert (error.status, error.retry_after, error.permanent) == (429, 3600, False)
    assert error.reason.startswith("HTTP 429 Too Many Requests")
    assert "3600s" in error.reason and "300s cap" in error.reason
    assert sleeps.calls == [] and len(server.requests) == 1


def test_5xx_retries_with_full_jitter_backoff_then_gives_up(server: Loopback) -> None:
    server.routes["/broken"] = html(500, b"oops")
    sleeps = Sleeps()
    error = fetch_error(server.url("/broken"), retries=3, sleep=sleeps)
    assert (error.reason, error.status) == ("HTTP 500 Internal Server Error", 500)
    assert len(server.requests) == 4
    assert len(sleeps.calls) == 3
    for attempt, wait in enumerate(sleeps.calls, start=1):
        assert 0 <= wait <= 2 ** (attempt - 1)


def test_408_is_retried_and_other_4xx_are_not(server: Loopback) -> None:
    server.routes["/timeout"] = script(html(408), html())
    assert fetched(server.url("/timeout"), retries=1).status == 200
    server.routes["/forbidden"] = html(403)
    error = fetch_error(server.url("/forbidden"), retries=2)
    assert (error.reason, error.permanent) == ("HTTP 403 Forbidden", False)
    assert server.paths().count("/forbidden") == 1


def test_connection_refused_is_retried_then_reported() -> None:
    with Loopback() as gone:
        url = gone.url("/")
    sleeps = Sleeps()
    error = fetch_error(url, retries=2, sleep=sleeps)
    assert error.reason == "connection refused" and error.kind == "connection_refused"
    assert error.status is None and len(sleeps.calls) == 2


def test_retry_after_sleep_holds_back_only_that_host(server: Loopback) -> None:
    server.routes["/busy"] = script(html(503, b"", {"Retry-After": "30"}), html())
    server.routes["/other"] = html(body=b"<p>other</p>")
    sleeping, wake = asyncio.Event(), asyncio.Event()

    async def sleep(seconds: float) -> None:
        sleeping.set()
        await wake.wait()

    async def scenario() -> None:
        config = settings(retries=1, max_connections=1, max_per_host=1)
        async with Fetcher(config, allow_private_networks=True, sleep=sleep) as fetcher:
            busy = asyncio.create_task(fetcher.get(server.url("/busy")))
            await asyncio.wait_for(sleeping.wait(), 5)
            other = await asyncio.wait_for(fetcher.get(server.url("/other", "localhost")), 5)
            assert isinstance(other, Fetched) and other.text == "<p>other</p>"
            wake.set()
            assert isinstance(await busy, Fetched)

    run(scenario())


# --- timeouts and broken connections -----------------------------------------------------


def test_timeout_waiting_for_the_response(server: Loopback) -> None:
    server.routes["/slow"] = slow(2)
    error = fetch_error(server.url("/slow"), timeout=0.3)
    assert error.reason == "timed out after 0.3s waiting for the response"
    assert error.kind == "timeout"


def test_timeout_reading_the_body(server: Loopback) -> None:
    def stall(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        h.wfile.write(b"<p>start")
        h.wfile.flush()
        time.sleep(2)

    server.routes["/stall"] = stall
    error = fetch_error(server.url("/stall"), timeout=0.3)
    assert error.reason == "timed out after 0.3s reading the body"


def test_connection_closed_mid_body_is_retried(server: Loopback) -> None:
    def cut(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        h.wfile.write(b"<p>only part")

    server.routes["/cut"] = script(cut, html(body=b"<p>whole</p>"))
    assert fetched(server.url("/cut"), retries=1).text == "<p>whole</p>"
    server.routes["/cut-always"] = cut
    error = fetch_error(server.url("/cut-always"))
    assert error.reason == "the server closed the connection before the body was complete"


# --- body size, compression ----------------------------------------------------------------


def test_body_over_the_cap_with_content_length(server: Loopback) -> None:
    server.routes["/big"] = html(body=b"x" * (2 * MiB))
    error = fetch_error(server.url("/big"), max_body=MiB)
    assert (error.reason, error.permanent) == ("body larger than 1 MiB cap", True)


def test_body_over_the_cap_without_content_length(server: Loopback) -> None:
    def stream(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.end_headers()
        for _ in range(64):
            h.wfile.write(b"y" * 64 * 1024)

    server.routes["/stream"] = stream
    error = fetch_error(server.url("/stream"), max_body="1MiB")
    assert error.reason == "body larger than 1 MiB cap"
    server.routes["/small"] = lambda h: h.reply(200, b"z" * 1000, length=False)
    assert len(fetched(server.url("/small"), max_body=1000).content) == 1000


def test_gzip_bomb_stops_at_the_cap(server: Loopback) -> None:
    bomb = gzip.compress(b"\0" * (64 * MiB), 9)
    assert len(bomb) < 100 * 1024
    server.routes["/bomb"] = html(body=bomb, headers={"Content-Encoding": "gzip"})
    error = fetch_error(server.url("/bomb"), max_body=MiB)
    assert error.reason == "body larger than 1 MiB cap" and error.kind == "too_large"


@pytest.mark.parametrize(
    "encoding, compress",
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_compressed_bodies_are_inflated(server: Loopback, encoding: str, compress: Any) -> None:
    body = "<p>正文</p>".encode() * 1000
    server.routes["/z"] = html(body=compress(body), headers={"Content-Encoding": encoding})
    page = fetched(server.url("/z"), max_body=len(body))
    assert page.content == body


def test_inflating_never_makes_more_than_the_room_left() -> None:
    inflater = _Inflater("gzip")
    assert len(inflater.inflate(gzip.compress(b"\0" * (8 * MiB)), room=1000)) == 1001
    inflater = _Inflater("deflate")
    assert len(inflater.inflate(zlib.compress(b"\0" * (8 * MiB)), room=0)) == 1


def test_truncated_gzip_is_an_error(server: Loopback) -> None:
    whole = gzip.compress("<p>新闻正文</p>".encode() * 500)
    server.routes["/cut"] = html(
        body=whole[: len(whole) // 2], headers={"Content-Encoding": "gzip"}
    )
    error = fetch_error(server.url("/cut"))
    assert error.reason == "gzip body is truncated" and error.kind == "bad_body"


def test_wrong_or_unsupported_content_encoding(server: Loopback) -> None:
    server.routes["/plain"] = html(body=b"<p>not gzip</p>", headers={"Content-Encoding": "gzip"})
    assert fetch_error(server.url("/plain")).reason.startswith("body is not valid gzip data")
    server.routes["/br"] = html(body=b"\x1b\x00", headers={"Content-Encoding": "br"})
    error = fetch_error(server.url("/br"))
    assert error.reason == "unsupported Content-Encoding: br" and error.kind == "bad_body"


# --- redirects -----------------------------------------------------------------------------


def test_redirect_chain_is_followed(server: Loopback) -> None:
    server.routes["/a"] = lambda h: h.reply(301, headers={"Location": "/b?x=1"})
    server.routes["/b"] = lambda h: h.reply(
        302, headers={"Location": server.url("/c", "localhost")}
    )
    server.routes["/c"] = lambda h: h.reply(307, headers={"Location": "d"})
    server.routes["/d"] = html(body=b"<p>end</p>")
    page = fetched(server.url("/a"))
    assert page.url == server.url("/d", "localhost")
    assert page.text == "<p>end</p>"
    assert server.paths() == ["/a", "/b?x=1", "/c", "/d"]


def test_redirect_loop(server: Loopback) -> None:
    server.routes["/x"] = lambda h: h.reply(302, headers={"Location": "/y"})
    server.routes["/y"] = lambda h: h.reply(302, headers={"Location": "/x"})
    error = fetch_error(server.url("/x"), max_redirects=5)
    assert error.reason.startswith("redirect loop") and error.kind == "redirect"
    assert len(server.requests) == 6


def test_a_cookie_redirect_to_the_same_url_is_not_a_loop(server: Loopback) -> None:
    def cookie_wall(h: Handler) -> None:
        if "seen=1" in h.headers.get("Cookie", ""):
            h.reply(200, b"<p>in</p>")
        else:
            h.reply(302, headers={"Location": "/wall", "Set-Cookie": "seen=1; Path=/"})

    server.routes["/wall"] = cookie_wall
    assert fetched(server.url("/wall")).text == "<p>in</p>"


def test_too_many_redirects(server: Loopback) -> None:
    for n in range(10):
        server.routes[f"/r{n}"] = lambda h, n=n: h.reply(302, headers={"Location": f"/r{n + 1}"})
    error = fetch_error(server.url("/r0"), max_redirects=3)
    assert error.reason == "too many redirects (more than 3)"
    assert len(server.requests) == 4


def test_redirect_to_another_scheme_or_without_location(server: Loopback) -> None:
    server.routes["/ftp"] = lambda h: h.reply(301, headers={"Location": "ftp://example.com/f"})
    error = fetch_error(server.url("/ftp"))
    assert error.reason.startswith("not a supported URL scheme") and error.permanent
    server.routes["/nowhere"] = lambda h: h.reply(302)
    assert fetch_error(server.url("/nowhere")).reason == "HTTP 302 redirect without a Location"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "/relative/only",
        "http://",
    ],
)
def test_unsupported_or_invalid_urls(url: str) -> None:
    error = fetch_error(url)
    assert error.reason.startswith(("not a supported URL scheme", "not a valid URL"))
    assert error.permanent


# --- limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_connections", "max_per_host", "hosts", "peak_per_host", "peak_total"),
    [
        (10, 2, ("127.0.0.1",), 2, 2),
        (3, 10, ("127.0.0.1",), 3, 3),
        (3, 2, ("127.0.0.1", "localhost"), 2, 3),
    ],
)
def test_limits_are_what_the_server_sees(
    server: Loopback,
    max_connections: int,
    max_per_host: int,
    hosts: tuple[str, ...],
    peak_per_host: int,
    peak_total: int,
) -> None:
    server.routes["/slow"] = slow(0.2)

    async def scenario() -> None:
        config = settings(max_connections=max_connections, max_per_host=max_per_host)
        async with Fetcher(config, allow_private_networks=True) as fetcher:
            urls = [server.url("/slow", host) for host in hosts * 6]
            answers = await asyncio.gather(*(fetcher.get(url) for url in urls))
        assert all(isinstance(a, Fetched) for a in answers)

    run(scenario())
    assert max(server.peak.values()) == peak_per_host
    assert server.peak_total == peak_total


def test_host_delay_spaces_requests_to_the_same_host(server: Loopback) -> None:
    server.routes["/p"] = html()
    sleeps = Sleeps()

    async def scenario() -> None:
        config = settings(host_delay=5, max_per_host=3)
        async with Fetcher(config, allow_private_networks=True, sleep=sleeps) as fetcher:
            await asyncio.gather(*(fetcher.get(server.url("/p")) for _ in range(3)))
            await fetcher.get(server.url("/p", "localhost"))

    run(scenario())
    assert sleeps.calls == [pytest.approx(5, abs=0.5), pytest.approx(10, abs=0.5)]


# --- TLS ---------------------------------------------------------------------------------


def test_https_with_the_extra_ca_bundle() -> None:
    with Loopback(tls=True) as tls:
        tls.routes["/secure"] = html(body=b"<p>secure</p>")
        for host in ("127.0.0.1", "localhost"):
            page = fetched(tls.url("/secure", host), ca_bundle=CA_BUNDLE)
            assert page.text == "<p>secure</p>"


def test_an_unknown_certificate_authority_is_a_clear_error() -> None:
    with Loopback(tls=True) as tls:
        error = fetch_error(tls.url("/"), retries=2)
    assert error.reason.startswith("TLS certificate not accepted: ")
    assert "issuer" in error.reason
    assert tls.requests == []


def test_an_unreadable_ca_bundle_is_a_config_error(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="ca_bundle"):
        Fetcher(settings(ca_bundle=tmp_path / "missing.pem"))


def test_a_304_to_an_unconditional_request_is_a_failure_and_gives_the_ticket_back(
    server: Loopback,
) -> None:
    server.routes["/odd"] = lambda h: h.reply(304)

    async def scenario() -> None:
        gate = PageGate(1)
        async with Fetcher(settings(), allow_private_networks=True) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.get_page(server.url("/odd"), gate=gate)
            assert caught.value.reason == "server answered 304 to an unconditional request"
            assert caught.value.kind == "bad_body"
            await asyncio.wait_for(gate.acquire(), 1)  # the one ticket is free again

    run(scenario())
