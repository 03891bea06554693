"""``scrape demo [DIR]``: the whole path on this machine, without the internet.

Serves the pages bundled in ``scraper/demo_site/`` on 127.0.0.1 (a Zaobao-like
site with a section page in each listing layout and an article page in each
article layout, and a plain RSS site, each on an ephemeral port), lays out
``DIR`` as ``scrape init`` does but with a ``config.yaml`` polling them, runs
``scrape --once``'s own code into it, builds the site with ``jekyll build`` when
Jekyll is installed, and says where to look.

Exit status: 0 every article archived (and the site built, or Jekyll absent);
1 something failed; 2 ``DIR`` exists and is not empty (nothing was done).
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import TracebackType
from typing import Literal, TextIO, cast
from urllib.parse import urlsplit

import yaml

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
class Built:
    """What became of the site: built, skipped (no Jekyll), or failed with a reason."""

    state: Literal["built", "skipped", "failed"]
    reason: str = ""


def build_site(target: Path, jekyll: str | None) -> Built:
    if jekyll is None:
        return Built("skipped")
    site = target.resolve()
    try:
        run = subprocess.run(
            [jekyll, "build", "--source", str(site), "--destination", str(site / "_site")],
            cwd=site,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            # Ruby reads files in the locale's encoding: in a C locale the posts'
            # Chinese stops the build ("invalid byte sequence in US-ASCII").
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Built("failed", str(exc))
    if run.returncode != 0:
        said = (run.stderr.strip() or run.stdout.strip()).splitlines()[-5:]
        return Built("failed", f"jekyll build exited {run.returncode}: " + " / ".join(said))
    return Built("built")


def jekyll_packages(site_config: str) -> list[str]:
    """The Debian (and Ubuntu) packages that build a site of this ``_config.yml``:
    Jekyll, and ``ruby-<plugin>`` for each of its plugins."""
    try:
        doc = yaml.safe_load(site_config)
    except yaml.YAMLError:
        doc = None
    plugins = doc.get("plugins") if isinstance(doc, dict) else None
    names = [p for p in plugins if isinstance(p, str)] if isinstance(plugins, list) else []
    return ["jekyll", *(f"ruby-{name}" for name in names)]


def summary_lines(target: Path, posts: int, built: Built, packages: list[str]) -> list[str]:
    """Where to look: the posts, the site, how to serve it (``packages``: what to
    install when Jekyll is missing)."""
    site = target / "_site"
    lines = [
        "",
        f"Demo archive in {target}/: {posts} article{'' if posts == 1 else 's'}",
        f"  posts:  {target / '_posts'}/",
    ]
    build = f"jekyll build --source {target} --destination {site}"
    if built.state == "built":
        lines += [
            f"  site:   {site}/ (built by jekyll build)",
            f"  serve:  jekyll serve --source {target} --destination {site}",
            f"      or  python3 -m http.server -d {site}",
        ]
    elif built.state == "skipped":
        lines += [
            "  site:   not built: jekyll is not installed "
            f"(Debian, Ubuntu: apt-get install {' '.join(packages)}); then: {build}",
        ]
    else:
        lines += [f"  site:   not built: {built.reason}"]
    lines.append(f"  config: {target / 'config.yaml'} (the demo's sources)")
    return lines


def run_demo(
    target: Path | None,
    *,
    stdout: TextIO,
    stderr: TextIO,
    jekyll: str | None,
) -> int:
    """``scrape demo``; ``jekyll``: the program that builds the site (None: skip it)."""
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
    built = build_site(target, jekyll)
    packages = jekyll_packages((target / "_config.yml").read_text(encoding="utf-8"))
    print("\n".join(summary_lines(target, posts, built, packages)), file=stdout)
    return EXIT_FAILED if status != EXIT_OK or built.state == "failed" else EXIT_OK
