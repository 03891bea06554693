"""``scrape demo [DIR]``: the whole path on this machine, without the internet.

Serves the pages bundled in ``scraper/demo_site/`` on 127.0.0.1 (a Zaobao-like
site with a section page in each listing layout and an article page in each
article layout, and a plain RSS site, each on an ephemeral port), lays out
``DIR`` as ``scrape init`` does but with a ``config.yaml`` polling them, runs
``scrape --once``'s own code into it, builds the site with ``scrape site build``'s
own code (``jekyll build``, then the Pagefind search index) as far as the installed
tools go, and says where to look and what to install for the rest.

Exit status: 0 every article archived and the site built (or skipped where Jekyll
or Pagefind is missing); 1 something failed; 2 ``DIR`` exists and is not empty
(nothing was done).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import TracebackType
from typing import TextIO, cast
from urllib.parse import urlsplit

from scraper import site
from scraper.config import load_settings
from scraper.extract.rules import load_rule_files
from scraper.once import run_once_command
from scraper.scaffold import scaffold

DEFAULT_DIR = Path("scrape-demo")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
BASE_MARK = b"@BASE@"  # in a bundled file: the address of the server serving it
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/rss+xml; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Section:
    """A section page of the Zaobao-like site: a listing source of the demo."""

    source: str
    path: str
    layout: str  # the listing layout it is written in (LAYOUTS.md's era)


ZAOBAO_SECTIONS = (
    Section("zaobao-realtime-world", "/realtime/world", "2019 .sg"),
    Section("zaobao-realtime-china", "/realtime/china", "2022-23"),
    Section("zaobao-realtime-singapore", "/realtime/singapore", "2024 .sg"),
    Section("zaobao-news-singapore", "/news/singapore", "2024-26 .sg cards"),
    Section("zaobao-news-china", "/news/china", "2025-26 .com"),
)
GAZETTE_FEED = "/feed.xml"


@dataclass(frozen=True, slots=True)
class Page:
    body: bytes
    content_type: str


def site_pages(folder: Traversable, base: str) -> dict[str, Page]:
    """A bundled site's files by URL path: ``a/b.html`` at ``/a/b`` (Zaobao's
    addresses have no suffix) and at ``/a/b.html``, any other file at its name;
    ``@BASE@`` in a file becomes ``base`` (a feed's links are absolute)."""
    pages: dict[str, Page] = {}
    for relpath, item in _files_under(folder):
        suffix = Path(relpath).suffix
        page = Page(
            item.read_bytes().replace(BASE_MARK, base.encode()),
            _TYPES.get(suffix, "application/octet-stream"),
        )
        pages[f"/{relpath}"] = page
        if suffix == ".html":
            pages[f"/{relpath.removesuffix(suffix)}"] = page
    return pages


def rule_test_pages(rule_name: str) -> dict[str, Page]:
    """A shipped rule's own test pages, each at its test URL's path: the demo's
    article pages are the pages the rule is tested on, one per layout."""
    pages: dict[str, Page] = {}
    for found in load_rule_files():
        if found.shipped and found.rule.name == rule_name:
            for case in found.rule.tests:
                body = found.folder.joinpath(*case.file.split("/")).read_bytes()
                pages[urlsplit(case.url).path] = Page(body, _TYPES[".html"])
    return pages


def _files_under(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.is_dir():
            yield from _files_under(item, f"{prefix}{item.name}/")
        elif not item.name.startswith("."):
            yield prefix + item.name, item


class _PagesServer(ThreadingHTTPServer):
    daemon_threads = True
    pages: dict[str, Page]


class _PagesHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        pages = cast(_PagesServer, self.server).pages
        page = pages.get(urlsplit(self.path).path)
        if page is None:
            page = Page(b"not found", "text/plain; charset=utf-8")
            self.send_response(404)
        else:
            self.send_response(200)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        self.end_headers()
        self.wfile.write(page.body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the run's own log says what was fetched


class DemoServer:
    """One bundled site (a folder of ``scraper/demo_site/``) on 127.0.0.1, at an
    ephemeral port, served from a thread while the ``with`` block runs."""

    def __init__(self, site: str) -> None:
        self.site = site
        self._server = _PagesServer(("127.0.0.1", 0), _PagesHandler)
        port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{port}"
        self._server.pages = site_pages(files("scraper") / "demo_site" / site, self.base)
        if site == "zaobao":
            self._server.pages.update(rule_test_pages("zaobao"))

    @property
    def pages(self) -> dict[str, Page]:
        return self._server.pages

    @property
    def page_count(self) -> int:
        return len({id(page) for page in self._server.pages.values()})

    def __enter__(self) -> DemoServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def demo_config(zaobao: str, gazette: str) -> str:
    """The demo folder's ``config.yaml``: ``scrape init``'s, polling the demo's servers."""
    sections = "".join(
        f"""  - name: {s.source}            # its section page: the {s.layout} listing layout
    url: {zaobao}{s.path}
    kind: listing
    rule: zaobao       # the shipped Zaobao rule, by name: by host it applies to zaobao.com
    author: 联合早报
    tags: [联合早报]
    categories: [联合早报]
"""
        for s in ZAOBAO_SECTIONS
    )
    return f"""# made by `scrape demo`: polls the demo's own pages, served on this machine while
# the demo ran (their server has stopped since). `scrape init DIR` lays out a folder
# for the real Zaobao. Paths are relative to this file's folder, the Jekyll site.
archive_dir: .
state_path: state/scraper.sqlite3
allow_private_networks: true   # the demo's servers are on 127.0.0.1

http:
  timeout: 10s
  retries: 1

captures: warc

sources:
{sections}  - name: lakeside-gazette                 # a plain RSS site
    url: {gazette}{GAZETTE_FEED}
    kind: feed
    categories: [Lakeside Gazette]
"""


def refusal(target: Path) -> str | None:
    """Why the demo may not write into ``target``, None when it may (absent or empty)."""
    if not target.exists():
        return None
    if not target.is_dir():
        return f"{target} exists and is not a folder: give a new folder (scrape demo DIR)"
    if any(target.iterdir()):
        return (
            f"{target} exists and is not empty: the demo writes only into a new or empty "
            "folder (scrape demo DIR)"
        )
    return None


@contextmanager
def _direct_connections() -> Iterator[None]:
    """No proxy for the run: the proxy variables of the caller's environment would
    send the requests for 127.0.0.1 to a proxy, which cannot reach this machine's."""
    saved = {name: os.environ.get(name) for name in ("no_proxy", "NO_PROXY")}
    os.environ.update(dict.fromkeys(saved, "*"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True, slots=True)
class DemoSite:
    """What became of the demo's site: built by ``scrape site build``'s own code
    (``index``: its search index, None when Pagefind is missing), not built (Jekyll
    missing), or failed (``failure``). ``missing``: each tool not installed, and how
    to install it."""

    built: bool
    index: site.Built | None = None
    missing: tuple[str, ...] = ()
    failure: str = ""


def build_demo_site(
    target: Path, jekyll: str | None, pagefind: str | None, echo: Callable[[str], None]
) -> DemoSite:
    """The site of ``target`` as ``scrape site build`` makes it, or as much of it as the
    installed tools make: without Pagefind, the site with no search index."""
    missing = tuple(site.missing_tools(jekyll, pagefind))
    if jekyll is None:
        return DemoSite(built=False, missing=missing)
    try:
        if pagefind is None:
            site.jekyll_site(target, jekyll, echo)
            return DemoSite(built=True, missing=missing)
        return DemoSite(
            built=True, index=site.build_site(target, site.Tools(jekyll, pagefind), echo)
        )
    except (site.SiteError, OSError) as exc:
        return DemoSite(built=False, missing=missing, failure=str(exc))


def summary_lines(target: Path, posts: int, result: DemoSite) -> list[str]:
    """Where to look: the posts, the site, how to look at it; what was skipped and
    how to install what it needs."""
    built = target / "_site"
    then = f"then: scrape site build {target}"
    lines = [
        "",
        f"Demo archive in {target}/: {posts} article{'' if posts == 1 else 's'}",
        f"  posts:  {target / '_posts'}/",
    ]
    if result.failure:
        lines.append(f"  site:   failed: {result.failure}")
    elif not result.built:
        lines.append(f"  site:   not built: {'; '.join(result.missing)}; {then}")
    else:
        lines.append(f"  site:   {built}/ (built by jekyll build)")
        if result.index is None:
            lines.append(f"  search: not built: {'; '.join(result.missing)}; {then}")
        else:
            pages = result.index.indexed
            counted = f", {pages} pages indexed" if pages is not None else ""
            lines.append(f"  search: {built / 'pagefind'}/ (Pagefind's index{counted})")
            lines += [f"  warning: {w}" for w in result.index.warnings]
        lines.append(f"  look:   {site.serve_command(built)}")
    lines.append(f"  config: {target / 'config.yaml'} (the demo's sources)")
    return lines


def run_demo(
    target: Path | None,
    *,
    stdout: TextIO,
    stderr: TextIO,
    jekyll: str | None,
    pagefind: str | None,
) -> int:
    """``scrape demo``; ``jekyll``, ``pagefind``: the programs that build the site and
    its search index (None: not installed, that part skipped)."""
    target = target or DEFAULT_DIR
    if problem := refusal(target):
        print(f"scrape demo: {problem}", file=stderr)
        return EXIT_USAGE
    with DemoServer("zaobao") as zaobao, DemoServer("gazette") as gazette:
        print(
            f"Serving a Zaobao-like site ({zaobao.page_count} pages, every layout) at "
            f"{zaobao.base}\n    and an RSS site ({gazette.page_count} pages) at {gazette.base}\n"
            f"Polling them once into {target}/ (as scrape --once does):",
            file=stdout,
            flush=True,
        )
        target.mkdir(parents=True, exist_ok=True)
        (target / "config.yaml").write_text(
            demo_config(zaobao.base, gazette.base), encoding="utf-8"
        )
        scaffold(target)  # the rest of `scrape init`'s folder; the config is kept
        settings = load_settings(target / "config.yaml")
        with _direct_connections():
            status = run_once_command(settings, (), stdout=stdout, stderr=stderr)
    posts = sum(1 for _ in (settings.archive_dir / "_posts").rglob("*.md"))
    if jekyll is not None:
        print(f"\nBuilding the site (as scrape site build {target} does):", file=stdout)

    def echo(line: str) -> None:
        print(f"    {line}", file=stdout, flush=True)

    result = build_demo_site(target, jekyll, pagefind, echo)
    print("\n".join(summary_lines(target, posts, result)), file=stdout)
    return EXIT_FAILED if status != EXIT_OK or result.failure else EXIT_OK
