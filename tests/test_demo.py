"""``scrape demo``: the bundled pages served on 127.0.0.1, the real ``--once`` into a
new folder, the site built as ``scrape site build`` builds it (the real Jekyll,
Debian's, then Pagefind's search index) as far as the installed tools go."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import clean_env
from hostile.checks import Post, check_archive
from sitetools import require_jekyll, require_pagefind

from scraper.demo import ZAOBAO_SECTIONS, DemoServer, run_demo, site_pages
from scraper.extract import load_rules
from scraper.extract.rules import RuleTest
from scraper.site import JEKYLL_PACKAGES, PAGEFIND_PACKAGE

REPO = Path(__file__).resolve().parent.parent
DEMO_SITE = REPO / "scraper" / "demo_site"
RULE_DIR = REPO / "scraper" / "extract" / "rules"
ZAOBAO_ARTICLES = 10  # one per article layout of LAYOUTS.md
GAZETTE_ARTICLES = 3
ARTICLES = ZAOBAO_ARTICLES + GAZETTE_ARTICLES
NO_JEKYLL = f"jekyll is not installed (Debian: apt-get install {JEKYLL_PACKAGES})"
NO_PAGEFIND = f"pagefind is not installed ({PAGEFIND_PACKAGE})"
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there
NEVER = (
    "<script", "googletag", "dfp-ad", "<button", "购买此文章", "热文推荐", "astro-island",
    "innity", "bff-", "data-src", "\u200b", "\u200c", "\u200d", "\ufeff",
)  # fmt: skip


def scrape_command() -> list[str]:
    """The venv's ``scrape`` (beside this Python), else the module."""
    beside = Path(sys.executable).with_name("scrape")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "scraper"]


def scrape(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Proxy variables pointing nowhere: the demo's requests must not follow them.
    env = {**clean_env(), "http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY}
    return subprocess.run(
        [*scrape_command(), *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=600, check=False,
    )  # fmt: skip


@dataclass(frozen=True)
class Demo:
    cwd: Path
    folder: Path
    run: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """``scrape demo`` with no folder named, run once for the module."""
    cwd = tmp_path_factory.mktemp("demo")
    run = scrape(cwd, "demo")
    return Demo(cwd, cwd / "scrape-demo", run)


def zaobao_cases() -> dict[str, RuleTest]:
    """The Zaobao rule's own tests by their page's path (the demo serves each page
    at its test URL's path)."""
    rule = load_rules().by_name("zaobao")
    assert rule is not None
    return {urlsplit(case.url).path: case for case in rule.tests}


def posts_by_site(demo: Demo) -> dict[str, list[Post]]:
    posts = check_archive(demo.folder / "_posts")  # every file valid per the format
    by_port: dict[str, list[Post]] = {}
    for post in posts.values():
        by_port.setdefault(urlsplit(post.url).netloc, []).append(post)
    return by_port


def test_the_demo_archives_every_article_and_says_where(demo: Demo) -> None:
    assert demo.run.returncode == 0, demo.run.stderr + demo.run.stdout
    out = demo.run.stdout
    assert f"6 sources, {ARTICLES} new articles, 0 with failures" in out
    assert f"Demo archive in scrape-demo/: {ARTICLES} articles" in out
    assert "posts:  scrape-demo/_posts/" in out
    for section in ZAOBAO_SECTIONS:
        assert section.source in out
    # laid out as `scrape init` does, with the demo's config
    for name in ("_config.yml", "_layouts/post.html", "index.html", ".gitignore", "config.yaml"):
        assert (demo.folder / name).is_file(), name
    config = (demo.folder / "config.yaml").read_text(encoding="utf-8")
    assert "allow_private_networks: true" in config
    assert config.count("rule: zaobao") == len(ZAOBAO_SECTIONS)


def test_every_post_is_valid_and_each_site_gave_its_articles(demo: Demo) -> None:
    by_site = posts_by_site(demo)
    assert sorted(len(posts) for posts in by_site.values()) == [GAZETTE_ARTICLES, ZAOBAO_ARTICLES]
    for posts in by_site.values():
        for post in posts:
            assert urlsplit(post.url).hostname == "127.0.0.1"


def test_the_zaobao_layout_posts_are_what_the_rule_makes_and_clean(demo: Demo) -> None:
    cases = zaobao_cases()
    zaobao = [p for posts in posts_by_site(demo).values() for p in posts if "/story" in p.url]
    assert {urlsplit(p.url).path for p in zaobao} == set(cases)
    for post in zaobao:
        case = cases[urlsplit(post.url).path]
        assert post.meta["title"] == case.title, post.path
        assert post.meta["author"] == "联合早报"
        assert case.published is not None
        assert _utc(post.meta["date"]) == case.published.astimezone(UTC)
        for wanted in case.must_contain:
            assert wanted in post.body, (post.path, wanted)
        for junk in (*NEVER, *case.must_not_contain):
            assert junk not in post.body, (post.path, junk)


def test_the_rss_site_posts_are_the_stories_without_the_page_around_them(demo: Demo) -> None:
    gazette = [p for posts in posts_by_site(demo).values() for p in posts if "/story" not in p.url]
    assert len(gazette) == GAZETTE_ARTICLES
    for post in gazette:
        page = (DEMO_SITE / "gazette" / urlsplit(post.url).path.lstrip("/")).read_text("utf-8")
        paragraphs = [line for line in page.split("\n") if line.startswith("<p>")]
        assert len(paragraphs) == 4
        assert post.body.splitlines() == paragraphs
        assert post.meta["categories"] == ["Lakeside Gazette"]


def test_with_jekyll_and_pagefind_the_site_is_built_with_its_search_index(demo: Demo) -> None:
    require_jekyll()
    require_pagefind()
    site = demo.folder / "_site"
    out = demo.run.stdout
    assert "Building the site (as scrape site build scrape-demo does):" in out
    assert "site:   scrape-demo/_site/ (built by jekyll build)" in out
    assert (
        f"search: scrape-demo/_site/pagefind/ (Pagefind's index, {ARTICLES} pages indexed)" in out
    )
    assert "look:   python3 -m http.server --directory scrape-demo/_site 8000" in out
    assert "Running Pagefind" in out  # its own words, passed on
    for name in ("pagefind.js", "pagefind-ui.js", "pagefind-entry.json"):
        assert (site / "pagefind" / name).is_file(), name
    assert list((site / "pagefind" / "fragment").iterdir())
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'src="/pagefind/pagefind-ui.js"' in index and 'id="search"' in index
    pages = [p.read_text(encoding="utf-8") for p in site.rglob("*.html") if p.name != "index.html"]
    for post in check_archive(demo.folder / "_posts").values():
        assert any(post.meta["title"] in page for page in pages), post.meta["title"]


def test_a_second_run_into_the_now_full_folder_is_refused(demo: Demo) -> None:
    before = sorted(demo.folder.rglob("*"))
    for args in (("demo",), ("demo", "scrape-demo")):
        again = scrape(demo.cwd, *args)
        assert again.returncode == 2, again.stderr
        assert "scrape demo: scrape-demo exists and is not empty" in again.stderr
        assert "new or empty folder" in again.stderr
        assert again.stdout == ""
    assert sorted(demo.folder.rglob("*")) == before


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("mine", encoding="utf-8")
    run = scrape(tmp_path, "demo", "taken")
    assert run.returncode == 2
    assert "scrape demo: taken exists and is not a folder" in run.stderr
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "mine"


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every address a socket of this process connects to, and every name looked up."""
    seen: list[Any] = []
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def recording_connect(self: socket.socket, address: Any) -> None:
        seen.append(address)
        connect(self, address)

    def recording_getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        seen.append((host, "lookup"))
        return getaddrinfo(host, *args, **kw)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    monkeypatch.setenv("https_proxy", DEAD_PROXY)
    monkeypatch.setenv("http_proxy", DEAD_PROXY)
    yield seen


def test_in_process_into_an_empty_folder_without_jekyll_and_no_network(
    tmp_path: Path, connections: list[Any]
) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    out, err = io.StringIO(), io.StringIO()
    status = run_demo(folder, stdout=out, stderr=err, jekyll=None, pagefind=None)
    assert status == 0, err.getvalue() + out.getvalue()
    assert len(list((folder / "_posts").glob("*.md"))) == ARTICLES
    assert f"Demo archive in {folder}/: {ARTICLES} articles" in out.getvalue()
    assert (
        f"site:   not built: {NO_JEKYLL}; {NO_PAGEFIND}; then: scrape site build {folder}\n"
    ) in out.getvalue()
    assert "Building the site" not in out.getvalue()
    assert not (folder / "_site").exists()
    assert connections, "nothing was fetched"
    for address in connections:
        assert address[0] == "127.0.0.1", address
    assert os.environ["http_proxy"] == DEAD_PROXY and "no_proxy" not in os.environ


def test_with_jekyll_but_no_pagefind_the_site_is_built_without_search(tmp_path: Path) -> None:
    jekyll = require_jekyll()
    folder = tmp_path / "demo"
    out, err = io.StringIO(), io.StringIO()
    status = run_demo(folder, stdout=out, stderr=err, jekyll=jekyll, pagefind=None)
    assert status == 0, err.getvalue() + out.getvalue()
    said = out.getvalue()
    assert f"site:   {folder}/_site/ (built by jekyll build)\n" in said
    assert f"search: not built: {NO_PAGEFIND}; then: scrape site build {folder}\n" in said
    assert "    Generating..." in said  # Jekyll's own words, passed on
    assert (folder / "_site" / "index.html").is_file()
    assert not (folder / "_site" / "pagefind").exists()


def test_a_site_build_that_fails_is_said_and_fails_the_demo(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    out, err = io.StringIO(), io.StringIO()
    # a `jekyll` that exits 1, as Jekyll does on a broken site
    status = run_demo(folder, stdout=out, stderr=err, jekyll="false", pagefind="false")
    assert status == 1
    assert "site:   failed: jekyll build failed (exit 1)\n" in out.getvalue()
    assert f"Demo archive in {folder}/: {ARTICLES} articles" in out.getvalue()
    assert not (folder / "_site" / "pagefind").exists()


def test_site_pages_serve_html_with_and_without_suffix_and_fill_in_the_address(
    tmp_path: Path,
) -> None:
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "story1.html").write_bytes(b"<p>one</p>")
    (tmp_path / "feed.xml").write_bytes(b"<link>@BASE@/news/story1.html</link>")
    pages = site_pages(tmp_path, "http://127.0.0.1:8123")
    assert set(pages) == {"/news/story1", "/news/story1.html", "/feed.xml"}
    assert pages["/news/story1"] == pages["/news/story1.html"]
    assert pages["/news/story1"].content_type == "text/html; charset=utf-8"
    assert pages["/feed.xml"].body == b"<link>http://127.0.0.1:8123/news/story1.html</link>"
    assert pages["/feed.xml"].content_type.startswith("application/rss+xml")


def test_the_packages_said_to_install_are_those_the_scaffolds_plugins_need() -> None:
    """What a missing Jekyll's message says to install builds the site ``scrape init``
    lays out: Jekyll and ``ruby-<plugin>`` for each plugin its _config.yml names."""
    config = yaml.safe_load((REPO / "scraper/templates/site/_config.yml").read_text("utf-8"))
    assert config["plugins"]
    assert JEKYLL_PACKAGES.split() == ["jekyll", *(f"ruby-{p}" for p in config["plugins"])]


def test_the_demo_serves_every_zaobao_layout_page_the_rule_is_tested_on() -> None:
    """A layout added to the rule's tests is one the demo must show too."""
    with DemoServer("zaobao") as served:
        for path, case in zaobao_cases().items():
            assert served.pages[path].body == (RULE_DIR / case.file).read_bytes(), path
    assert len(zaobao_cases()) == ZAOBAO_ARTICLES
    assert not list((DEMO_SITE / "zaobao").rglob("story*.html"))  # served, not copied


def _utc(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
