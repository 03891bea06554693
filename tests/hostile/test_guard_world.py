"""No request reaches a private address unless the config allows it.

How this is honest with everything on 127.0.0.1: the config sets
``allow_private_networks: false`` and names the hostile site as its proxy (a
proxy may be local: users run their own). Through a proxy the scraper vets each
target itself before asking: IP literals by address, names by resolving them
here; a name that does not resolve here (``*.example.test``) is the proxy's to
resolve, so the feed and the public-looking article hosts get through, while
links to loopback, private, link-local, CGNAT and unspecified addresses, to
``localhost`` and the numeric spellings of 127.0.0.1 that the resolver expands
(``2130706433``, ``0x7f000001``, ``127.1``), and redirects to any of them, are
refused before a byte is sent. A second server, the honeypot, listens on the
loopback port those links name; it must see nothing.

The direct path (no proxy: the check happens where the socket is opened, DNS
rebinding included) is covered by tests/test_netguard.py with a fake resolver.
"""

from __future__ import annotations

import re

from hostile.checks import assert_survived, check_archive
from hostile.conftest import HostileProject
from hostile.server import HostileSite, Reply, redirect
from hostile.world import Item, plain_page, rss, x

FEED = "https://feed.example.test/rss.xml"
PUBLIC = {"feed.example.test", "public.example.test", "hop.example.test"}


def private_links(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/admin",
        f"http://localhost:{port}/admin",
        f"http://[::1]:{port}/admin",
        f"http://[::ffff:127.0.0.1]:{port}/mapped",
        f"http://0.0.0.0:{port}/unspecified",
        f"http://2130706433:{port}/decimal",
        f"http://0x7f000001:{port}/hex",
        f"http://127.1:{port}/short",
        "http://10.0.0.1/intranet",
        "http://192.168.1.1/router",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/cgnat",
        "http://[fd00::1]/ula",
        "http://[fe80::1]/link-local",
    ]


def test_private_addresses_are_refused_and_reported(world: HostileProject) -> None:
    site = world.site
    with HostileSite() as honeypot:
        honeypot.add("/admin", "the keys to the kingdom")
        private = private_links(honeypot.port)
        redirected = {
            "https://hop.example.test/to-loopback": f"http://127.0.0.1:{honeypot.port}/admin",
            "https://hop.example.test/to-localhost": f"http://localhost:{honeypot.port}/admin",
            "https://hop.example.test/to-metadata": "http://169.254.169.254/latest/meta-data/",
        }
        for start, target in redirected.items():
            site.add(start, redirect(target, 302))
        good = "https://public.example.test/news/1.html"
        site.add(good, plain_page("A public story", "public"))
        links = [good, *private, *redirected]
        items = [Item(link=x(u), guid=f"g{i}") for i, u in enumerate(links)]
        site.add(FEED, Reply(rss(items), content_type="application/rss+xml"))
        world.write_config(
            [{"name": "guarded", "url": FEED, "max_new": 100}], allow_private_networks=False
        )

        run = world.run("--once")

        assert_survived(run)
        assert run.returncode == 1
        assert not honeypot.hits, f"the honeypot was reached: {honeypot.hits}"
        assert site.hosts() <= PUBLIC, f"asked the proxy for {site.hosts() - PUBLIC}"
        assert set(check_archive(world.archive)) == {good}
        reasons = dict(re.findall(r"^\s+(\S+): (.*)$", run.stdout, re.M))
        for url in private:
            assert re.match(r"blocked: .* address", reasons.get(url, "")), (url, reasons.get(url))
        for url in redirected:
            assert "blocked" in reasons[url] and "(redirected to" in reasons[url], reasons[url]

        # The same world with private networks allowed: the guard was what stopped them.
        site.hits.clear()
        world.write_config([{"name": "guarded", "url": FEED, "max_new": 100}])
        world.state.unlink()
        assert_survived(world.run("--once"))
        assert "127.0.0.1" in site.hosts() and "10.0.0.1" in site.hosts()
