"""How connections are made: TLS trust, proxies, and the guard that keeps
requests on the public internet.

A feed can link anywhere, so an article URL (or a redirect) could point the
scraper at ``http://127.0.0.1:8080/admin`` or a cloud metadata service at
``169.254.169.254``. Unless private networks are allowed, no connection may go
to a loopback, private, link-local, shared (CGNAT), multicast, reserved or
unspecified address, nor to an IPv6 address that embeds one.

The check runs where the socket is opened (``GuardedBackend``, an httpcore
network backend): the host is resolved once, every address is vetted, and the
connection goes to a vetted address, so DNS rebinding between check and
connect is impossible. Through a proxy the scraper never connects to the
target itself, so ``vet_host`` checks the target beforehand instead (the proxy
itself may be local: users run their own).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import anyio
import httpcore
import httpx

from scraper.errors import ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges that ``ipaddress`` calls global (in some Python versions) but that are not.
_NOT_PUBLIC = (
    (ipaddress.ip_network("0.0.0.0/8"), "unspecified"),
    (ipaddress.ip_network("100.64.0.0/10"), "shared (CGNAT)"),
    (ipaddress.ip_network("fc00::/7"), "private"),
    (ipaddress.ip_network("fec0::/10"), "site-local"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "reserved"),  # local-use NAT64
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class GuardError(Exception):
    """Base of the guard's refusals; the fetcher turns them into FetchError."""


ALLOW_HINT = "set allow_private_networks: true in the config to allow it"


class BlockedAddress(GuardError):
    def __init__(self, host: str, address: str, kind: str) -> None:
        self.host, self.address, self.kind = host, address, kind
        super().__init__(self.reason())

    def reason(self, redirected_to: str | None = None) -> str:
        """``blocked: 127.0.0.1 is a loopback address (set allow_private_networks…)``,
        with the redirect that led there, if one did, before the hint."""
        if self.host == self.address:
            what = f"blocked: {self.address} is {_article(self.kind)} {self.kind} address"
        else:
            what = f"blocked: {self.host} resolves to {self.kind} address {self.address}"
        via = f"redirected to {redirected_to}; " if redirected_to else ""
        return f"{what} ({via}{ALLOW_HINT})"


class HostNotFound(GuardError):
    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__(f"could not resolve host {host}")


def address_kind(address: str | IPAddress) -> str | None:
    """Why ``address`` may not be contacted ("loopback", "private"…), None if public."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address in IPv6 clothing is what it carries (DNS64 answers are
        # 64:ff9b::a.b.c.d); a 6to4 address is blocked if it carries a blocked one.
        if (carried := ip.ipv4_mapped or _nat64_ipv4(ip)) is not None:
            return address_kind(carried)
        if ip.sixtofour is not None and (kind := address_kind(ip.sixtofour)):
            return kind
    for network, kind in _NOT_PUBLIC:
        if ip in network:
            return kind
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "non-public"
    return None


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order."""
    if ip_literal(host) is not None:
        return [host.strip("[]")]
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise HostNotFound(host) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def vet_host(host: str, port: int) -> list[str]:
    """Resolve ``host`` and return its addresses; BlockedAddress if any is not public."""
    addresses = await resolve(host, port)
    for address in addresses:
        if kind := address_kind(address):
            raise BlockedAddress(host.strip("[]"), address, kind)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that only opens TCP connections to public addresses."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await vet_host(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out resolving {host}") from None
        failure: Exception | None = None
        for address in addresses:  # the vetted addresses only: no second lookup
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # getaddrinfo never answers with no address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def transports(
    *, guard: bool, proxy: str | None, ca_bundle: Path | None, limits: httpx.Limits
) -> tuple[httpx.AsyncHTTPTransport, dict[str, httpx.AsyncBaseTransport | None]]:
    """The direct transport (guarded if ``guard``) and httpx mounts for the proxy:
    ``proxy`` if given, else the HTTP(S)_PROXY / ALL_PROXY / NO_PROXY variables.
    A mount of ``None`` means "connect directly". ``ca_bundle`` adds trusted CAs."""
    ssl_context = httpx.create_ssl_context(trust_env=True)
    if ca_bundle:
        try:
            ssl_context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"http.ca_bundle: cannot load {ca_bundle}: {exc}") from None
    direct = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits)
    if guard:
        # httpx has no public hook for the network backend; swap in an equivalent pool.
        direct._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(),
        )
    proxies = {"all://": proxy} if proxy else _environment_proxies()
    try:
        mounts: dict[str, httpx.AsyncBaseTransport | None] = {
            pattern: None
            if url is None
            else httpx.AsyncHTTPTransport(proxy=url, verify=ssl_context, limits=limits)
            for pattern, url in proxies.items()
        }
    except ImportError as exc:  # a socks5 proxy without the socksio package
        raise ConfigError(f"proxy: {exc}") from None
    return direct, mounts


def _environment_proxies() -> dict[str, str | None]:
    """The proxy variables as httpx mount patterns, read the way httpx reads them."""
    found = urllib.request.getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if url := found.get(scheme):
            mounts[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    for host in (h.strip() for h in found.get("no", "").split(",")):
        if host == "*":
            return {}
        if not host or not mounts:
            continue
        literal = ip_literal(host)
        if "://" in host:
            mounts[host] = None
        elif literal is not None and literal.version == 6:
            mounts[f"all://[{literal}]"] = None
        elif literal is not None or host.lower() == "localhost":
            mounts[f"all://{host}"] = None
        else:
            mounts[f"all://*{host}"] = None
    return mounts


def _nat64_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"
