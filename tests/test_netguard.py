"""The address guard: which addresses are refused, that the refusal happens where the
socket is opened, that redirects and proxied requests are checked too."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from typing import Any

import httpcore
import pytest
from loopback_http import ForwardProxy, Loopback

from scraper import netguard
from scraper.config import HttpSettings
from scraper.errors import ConfigError, FetchError
from scraper.http import Fetcher
from scraper.types import Fetched

pytestmark = pytest.mark.usefixtures("without_proxy_variables")
# what every refusal ends with: how to allow the address when it is wanted
HINT = " (set allow_private_networks: true in the config to allow it)"


@pytest.fixture
def origin() -> Iterator[Loopback]:
    with Loopback() as server:
        server.routes["/article"] = lambda h: h.reply(
            200, f"<p>article for {h.headers['Host']}</p>".encode(), {"Content-Type": "text/html"}
        )
        yield server


@pytest.fixture
def proxy(origin: Loopback) -> Iterator[ForwardProxy]:
    with ForwardProxy({"news.example.test": origin.port}) as server:
        yield server


def get(url: str, *, private: bool = False, proxy: str | None = None) -> Fetched:
    async def go() -> Any:
        config = HttpSettings(timeout=5, retries=0)
        async with Fetcher(config, allow_private_networks=private, proxy=proxy) as fetcher:
            return await fetcher.get(url)

    answer = asyncio.run(go())
    assert isinstance(answer, Fetched)
    return answer


def blocked(url: str, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        get(url, **kwargs)
    assert caught.value.reason.startswith("blocked: ")
    assert caught.value.permanent
    return caught.value


def treat_as_public(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    """Let the loopback test server stand in for a public host."""
    real = netguard.address_kind
    monkeypatch.setattr(
        netguard, "address_kind", lambda a: None if str(a) in addresses else real(a)
    )


# --- which addresses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),  # IPv4-mapped public
        ("64:ff9b::808:808", None),  # DNS64 answer for a public IPv4 host
        ("2002:808:808::1", None),  # 6to4 of a public address
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.127.255.254", "shared (CGNAT)"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "site-local"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped private
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:a00:1::1", "private"),  # 6to4 of 10.0.0.1
        ("64:ff9b:1::1", "reserved"),
        ("192.0.2.1", "private"),  # documentation
        ("2001:db8::1", "private"),  # documentation
    ],
)
def test_address_kind(address: str, kind: str | None) -> None:
    assert netguard.address_kind(address) == kind


# --- the backend: refuses at connect time, connects to what it vetted ---------------------


class RecordingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, refuse: int = 0) -> None:
        self.calls: list[tuple[str, int]] = []
        self.refuse = refuse

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((host, port))
        if len(self.calls) <= self.refuse:
            raise httpcore.ConnectError("refused")
        return "stream"


def fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        if host in table:
            return table[host]
        raise netguard.HostNotFound(host)

    monkeypatch.setattr(netguard, "resolve", resolve)


def test_backend_connects_to_the_vetted_addresses_not_the_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_dns(monkeypatch, {"news.example": ["2606:2800::1", "93.184.216.34"]})
    inner = RecordingBackend(refuse=1)
    stream = asyncio.run(netguard.GuardedBackend(inner).connect_tcp("news.example", 80, 5))
    assert stream == "stream"
    assert inner.calls == [("2606:2800::1", 80), ("93.184.216.34", 80)]


def test_backend_refuses_a_name_with_any_private_address(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"rebind.example": ["93.184.216.34", "10.0.0.1"]})
    inner = RecordingBackend()
    with pytest.raises(netguard.BlockedAddress) as caught:
        asyncio.run(netguard.GuardedBackend(inner).connect_tcp("rebind.example", 80, 5))
    assert (
        str(caught.value) == f"blocked: rebind.example resolves to private address 10.0.0.1{HINT}"
    )
    assert inner.calls == []


def test_backend_refuses_unix_sockets() -> None:
    with pytest.raises(httpcore.ConnectError):
        asyncio.run(netguard.GuardedBackend(RecordingBackend()).connect_unix_socket("/tmp/s"))


# --- the fetcher with the guard on ------------------------------------------------------------


def test_loopback_is_blocked_by_address_and_by_name(origin: Loopback) -> None:
    error = blocked(origin.url("/article"))
    assert error.reason == f"blocked: 127.0.0.1 is a loopback address{HINT}"
    error = blocked(origin.url("/article", "localhost"))
    assert error.reason == f"blocked: localhost resolves to loopback address 127.0.0.1{HINT}"
    assert blocked(origin.url("/", "[::1]")).reason == f"blocked: ::1 is a loopback address{HINT}"
    assert blocked("http://169.254.169.254/latest/meta-data/").reason == (
        f"blocked: 169.254.169.254 is a link-local address{HINT}"
    )
    assert origin.requests == []


def test_allow_private_networks_lets_loopback_through(origin: Loopback) -> None:
    assert get(origin.url("/article"), private=True).status == 200


def test_names_are_checked_where_the_connection_is_made(
    origin: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    treat_as_public(monkeypatch, "127.0.0.1")
    fake_dns(
        monkeypatch, {"public.example": ["127.0.0.1"], "rebind.example": ["127.0.0.1", "10.9.8.7"]}
    )
    page = get(f"http://public.example:{origin.port}/article")
    assert page.text == f"<p>article for public.example:{origin.port}</p>"
    error = blocked(f"http://rebind.example:{origin.port}/article")
    assert error.reason == f"blocked: rebind.example resolves to private address 10.9.8.7{HINT}"
    assert len(origin.requests) == 1


def test_a_name_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})
    with pytest.raises(FetchError) as caught:
        get("http://gone.example/article")
    assert caught.value.reason == "could not resolve host gone.example"
    assert not caught.value.permanent


@pytest.mark.parametrize(
    "target", ["http://127.0.0.2:{port}/secret", "http://[::1]:{port}/", "http://10.0.0.1/admin"]
)
def test_a_redirect_to_a_private_address_is_blocked(
    origin: Loopback, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    treat_as_public(monkeypatch, "127.0.0.1")
    location = target.format(port=origin.port)
    origin.routes["/start"] = lambda h: h.reply(302, headers={"Location": location})
    origin.routes["/secret"] = lambda h: h.reply(200, b"secret")
    error = blocked(origin.url("/start"))
    assert error.reason.endswith(
        f"(redirected to {location}; set allow_private_networks: true in the config to allow it)"
    )
    assert origin.paths() == ["/start"]


# --- proxies ------------------------------------------------------------------------------------


def test_a_proxy_reaches_a_name_only_it_can_resolve(origin: Loopback, proxy: ForwardProxy) -> None:
    page = get("http://news.example.test/article", proxy=proxy.url(""))
    assert page.text == "<p>article for news.example.test</p>"
    assert proxy.paths() == ["http://news.example.test/article"]
    assert origin.paths() == ["/article"]


def test_the_proxy_from_the_environment_is_used(
    origin: Loopback, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url(""))
    assert get("http://news.example.test/article").status == 200
    assert proxy.paths() == ["http://news.example.test/article"]


def test_an_explicit_proxy_wins_over_the_environment(
    origin: Loopback, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Loopback() as dead:
        dead_url = dead.url("")
    monkeypatch.setenv("HTTP_PROXY", dead_url)
    monkeypatch.setenv("ALL_PROXY", dead_url)
    assert get("http://news.example.test/article", proxy=proxy.url("")).status == 200
    assert len(proxy.requests) == 1


def test_no_proxy_hosts_go_direct(
    origin: Loopback, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url(""))
    monkeypatch.setenv("NO_PROXY", "example.org,127.0.0.1")
    assert get(origin.url("/article"), private=True).status == 200
    assert proxy.requests == [] and origin.paths() == ["/article"]


def test_through_a_proxy_the_target_is_checked_before_the_request(
    origin: Loopback, proxy: ForwardProxy
) -> None:
    proxy_url = proxy.url("")
    assert blocked(origin.url("/article", "localhost"), proxy=proxy_url).reason == (
        f"blocked: localhost resolves to loopback address 127.0.0.1{HINT}"
    )
    blocked("http://192.168.0.1/", proxy=proxy_url)
    origin.routes["/start"] = lambda h: h.reply(302, headers={"Location": "http://127.0.0.1/x"})
    error = blocked("http://news.example.test/start", proxy=proxy_url)
    assert error.reason == (
        "blocked: 127.0.0.1 is a loopback address (redirected to http://127.0.0.1/x; "
        "set allow_private_networks: true in the config to allow it)"
    )
    assert proxy.paths() == ["http://news.example.test/start"]


def test_environment_proxy_variables_become_mounts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.lan:3128")
    monkeypatch.setenv("NO_PROXY", ".example.com, 10.0.0.1,::1,localhost,http://skip.test")
    assert netguard._environment_proxies() == {
        "https://": "http://proxy.lan:3128",
        "all://*.example.com": None,
        "all://10.0.0.1": None,
        "all://[::1]": None,
        "all://localhost": None,
        "http://skip.test": None,
    }
    monkeypatch.setenv("NO_PROXY", "*")
    assert netguard._environment_proxies() == {}


@pytest.mark.skipif(importlib.util.find_spec("socksio") is not None, reason="socksio installed")
def test_a_socks_proxy_without_socksio_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="socksio"):
        Fetcher(HttpSettings(), proxy="socks5://127.0.0.1:1080")
