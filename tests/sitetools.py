"""A real archive site for the site's tests: ``scrape init`` lays it out, the real
``scrape --once`` fills it from the loopback Zaobao, hostile posts are added, and
Debian's Jekyll (with its packaged plugins) and Pagefind build it."""

from __future__ import annotations

import dataclasses
import functools
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from conftest import Project, clean_env
from loopback_site import CA_BUNDLE
from newsfixtures import Story, make_story, zaobao_article, zaobao_listing
from selectolax.lexbor import LexborHTMLParser
from servicetools import missing, require

from scraper.archive import Archive
from scraper.render import relpath_for, render
from scraper.site import (
    JEKYLL_PACKAGES,
    PAGEFIND_PACKAGE,
    build_env,
    jekyll_command,
    pagefind_binary,
)
from scraper.types import Article

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SECTIONS = ("china", "world", "singapore", "finance")
ZONE = "Asia/Singapore"  # the scaffold's timezone
# In the middle of a clause of one post's body: the plain Pagefind does not find it.
SEARCH_PHRASE = "胡姬花展览"
SEARCH_PARAGRAPH = "记者周五下午在现场看到，滨海湾花园今年的胡姬花展览吸引了大批游客排队入场。"
SEARCH_STORY = 21  # the first story of the singapore section

Expected = list[Article | tuple[str, str]]


def scrape(
    project: Project, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``scrape ARGS`` in the project's folder, without the project's ``--config``
    (the site's own, or none, as ``init`` and ``site build`` are run)."""
    return subprocess.run(
        [*project.command()[:3], *args],
        capture_output=True,
        text=True,
        env=env or clean_env(),
        cwd=project.root,
        timeout=300,
        check=False,
    )


def init(project: Project, folder: Path) -> subprocess.CompletedProcess[str]:
    return scrape(project, "init", str(folder))


def require_jekyll() -> str:
    """Debian's Jekyll with the plugins the scaffold's _config.yml names."""
    jekyll = require("jekyll", JEKYLL_PACKAGES)
    plugins = subprocess.run(
        ["ruby", "-e", 'require "jekyll"; require "jekyll-paginate"; require "jekyll-archives"'],
        capture_output=True,
        text=True,
        check=False,
    )
    if plugins.returncode != 0:
        missing(f"Jekyll's plugins not installed (apt-get install {JEKYLL_PACKAGES})")
    return jekyll


def require_pagefind() -> str:
    found = pagefind_binary()
    if found is None:
        missing(f"pagefind not installed ({PAGEFIND_PACKAGE})")
    return found or ""


def jekyll_build(site: Path) -> subprocess.CompletedProcess[str]:
    """A plain ``jekyll build`` of ``site``, run as ``scrape site build`` runs it."""
    return subprocess.run(
        jekyll_command(require_jekyll(), site),
        capture_output=True,
        text=True,
        cwd=site,
        timeout=300,
        check=False,
        env=build_env(clean_env()),
    )


def site_build(
    project: Project, folder: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``scrape site build FOLDER``, as a user runs it."""
    return scrape(project, "site", "build", str(folder), env=env)


def hostile_articles() -> list[Article]:
    """Front matter and bodies that have broken Jekyll sites: YAML indicators, Liquid,
    quotes, a date ahead of the clock, no author, no date, very old dates."""
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def article(n: int, title: str, published: datetime | None, body: str, **kw: object) -> Article:
        return Article(
            id=f"https://hostile.example.test/{n}",
            url=f"https://hostile.example.test/{n}",
            title=title,
            body=f"<p>Marker H{n}: {body}</p>\n<p>Second paragraph of H{n}.</p>",
            published=published,
            fetched=now,
            **kw,  # type: ignore[arg-type]
        )

    return [
        article(1, "--- \"quoted\": [a] {b} #c & <d> 'e'", now, "YAML indicators everywhere"),
        article(2, "{{ site.title }} {% include nope.html %} {% raw %}", now, "{{ x }} {% if %}"),
        article(3, "未来的日期：明天发表", now + timedelta(days=400), "A date ahead of the clock"),
        article(4, "No publication date", None, "first-seen time is the date", author=None),
        # 23:59 UTC on New Year's Eve is the next morning, and the next year, in Singapore.
        article(5, "Y2K: 1999 story", datetime(1999, 12, 31, 23, 59, tzinfo=UTC), "old"),
        article(
            6, "emoji 📰 and العربية and\nnew\tlines", now, "mixed scripts", tags=("a: b", "[x]")
        ),
        article(7, "null", now, "a title YAML could read as null", categories=("yes", "no")),
    ]


def fill_site(project: Project) -> tuple[Path, Expected]:
    """A site from ``scrape init``, filled by ``scrape --once`` through the scaffold's own
    config (Zaobao sections, served by the loopback site), plus hostile posts. Returns
    the folder and, for each post, its Article (hostile) or (URL, last paragraph)."""
    site = project.root / "site"
    laid = init(project, site)
    assert laid.returncode == 0, laid.stderr
    config = yaml.safe_load((site / "config.yaml").read_text(encoding="utf-8"))
    config.update(
        allow_private_networks=True,
        proxy=project.site.url,
        http={**config["http"], "ca_bundle": str(CA_BUNDLE), "timeout": "5s"},
    )
    (site / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    expected: Expected = []
    for i, section in enumerate(SECTIONS):
        stories = [zaobao_story(10 * i + n) for n in (1, 2)]
        project.site.add(f"https://www.zaobao.com.sg/realtime/{section}", zaobao_listing(stories))
        for s in stories:
            project.site.add(s.url, zaobao_article(s))
            expected.append((s.url, s.paragraphs[-1]))
    run = scrape(project, "--config", str(site / "config.yaml"), "--once")
    assert run.returncode == 0, run.stdout + run.stderr
    archive = Archive(site)
    for a in hostile_articles():
        archive.write([relpath_for(a)], render(a), a.url)
        expected.append(a)
    return site, expected


def zaobao_story(n: int) -> Story:
    """Story ``n`` of the filled site: published ``n % 10`` hours after T0; the search
    story has the search paragraph second."""
    story = make_story("https://www.zaobao.com.sg", n, T0 + timedelta(hours=n % 10), lang="zh")
    if n != SEARCH_STORY:
        return story
    first, *rest = story.paragraphs
    return dataclasses.replace(story, paragraphs=(first, SEARCH_PARAGRAPH, *rest))


def post_pages(built: Path) -> dict[str, tuple[Path, LexborHTMLParser]]:
    """``from:`` URL → (file, parsed page), for every page of the built site that
    shows a post (its source link)."""
    pages = {}
    for html in built.rglob("*.html"):
        tree = LexborHTMLParser(html.read_text(encoding="utf-8"))
        link = tree.css_first("article.post .meta a.source")
        if link is not None:
            pages[link.attributes["href"] or ""] = (html, tree)
    return pages


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """``folder`` served on 127.0.0.1 as a static host serves it; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
