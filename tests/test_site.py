"""The archive as a site: ``scrape init`` lays it out, the real ``scrape --once``
fills it, the real Jekyll (Debian's, with its packaged plugins) builds it, and every
post comes out whole: its title the page's heading, its time in the archive's zone,
its neighbours, months, categories and tags linked; ``scrape site build`` adds the
search index."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo

import feedparser
import pytest
import yaml
from conftest import Project, clean_env, front_matter
from selectolax.lexbor import LexborHTMLParser, LexborNode
from sitetools import (
    ZONE,
    Expected,
    fill_site,
    init,
    jekyll_build,
    post_pages,
    require_jekyll,
    require_pagefind,
    site_build,
)

from scraper.archive import Archive
from scraper.decide import article_date
from scraper.render import fold_line, relpath_for, render
from scraper.site import missing_plugin_hint
from scraper.types import Article

SCAFFOLD = (
    "_config.yml",
    "config.yaml",
    "_layouts/default.html",
    "_layouts/post.html",
    "_layouts/archive-month.html",
    "_layouts/archive-year.html",
    "_layouts/archive-term.html",
    "_includes/post-body.html",
    "_includes/post-list.html",
    "_includes/utc.html",
    "assets/site.css",
    "index.html",
    "archive.html",
    "categories.html",
    "tags.html",
    "feed.xml",
    ".gitignore",
)


@pytest.fixture
def filled_site(project: Project) -> tuple[Path, Expected]:
    return fill_site(project)


def built_file(built: Path, href: str, page: Path | None = None) -> Path:
    """The file of ``_site`` that a link (absolute path, or relative to ``page``) opens,
    as a static host serves it."""
    base = "/" + str(page.relative_to(built)) if page else "/"
    path = unquote(urlsplit(urljoin(base, href)).path).lstrip("/")
    target = built / path
    return target / "index.html" if path.endswith("/") or not path else target


def text_of(tree: LexborHTMLParser, selector: str) -> str:
    node = tree.css_first(selector)
    assert node is not None, selector
    return " ".join(node.text().split())


def build_ok(site: Path) -> Path:
    built = jekyll_build(site)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Error" not in built.stdout + built.stderr
    assert "Conflict" not in built.stdout + built.stderr
    return site / "_site"


def set_config(site: Path, **values: object) -> None:
    config = site / "_config.yml"
    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    doc.update(values)
    config.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def local(when: datetime, zone: str = ZONE) -> str:
    """``YYYY-MM-DD HH:MM UTC±HH:MM``, as the post page shows ``when``."""
    there = when.astimezone(ZoneInfo(zone))
    offset = there.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{there:%Y-%m-%d %H:%M} UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def post_date(front: dict[str, Any]) -> datetime:
    date = front["date"]
    return date if isinstance(date, datetime) else datetime.fromisoformat(str(date))


def test_scaffold_builds_at_once_and_init_keeps_existing_files(project: Project) -> None:
    site = project.root / "new-archive"
    first = init(project, site)
    assert first.returncode == 0, first.stderr
    for name in SCAFFOLD:
        assert (site / name).is_file(), name
        assert f"created {name}" in first.stdout
    assert (site / "_posts").is_dir()
    (site / "_config.yml").write_text("title: mine\n", encoding="utf-8")
    second = init(project, site)
    assert "kept    _config.yml (exists)" in second.stdout
    assert (site / "_config.yml").read_text(encoding="utf-8") == "title: mine\n"
    (site / "_config.yml").unlink()
    init(project, site)

    check = project.scrape("--config", str(site / "config.yaml"), "check")
    assert check.returncode == 0, check.stderr
    for section in ("china", "world", "singapore", "finance"):
        assert f"zaobao-realtime-{section}" in check.stdout
    assert f"archive_dir: {site.resolve()}" in check.stdout

    out = build_ok(site)  # empty, straight from init
    index = LexborHTMLParser((out / "index.html").read_text(encoding="utf-8"))
    assert text_of(index, "h1") == "新闻存档 News archive"
    assert feedparser.parse((out / "feed.xml").read_bytes()).bozo == 0
    for page in ("archive", "categories", "tags"):
        assert (out / page / "index.html").is_file(), page
    assert (out / "assets" / "site.css").is_file()
    assert not (out / "config.yaml").exists()  # the scraper's config stays private


def test_jekyll_builds_every_post_with_title_date_and_body(
    filled_site: tuple[Path, Expected],
) -> None:
    site, expected = filled_site
    posts = sorted((site / "_posts").glob("*.md"))
    assert len(posts) == len(expected) == 15
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", p.name)) for p in posts) >= 9

    out = build_ok(site)
    pages = post_pages(out)
    assert len(pages) == len(posts), "a post was skipped"
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", str(p))) for p in out.rglob("*.html")) >= 9

    for post in posts:
        text = post.read_text(encoding="utf-8")
        front = front_matter(text)
        _, tree = pages[front["from"]]
        article = tree.css_first("article.post")
        page_text = " ".join(article.text().split())
        assert tree.css_first("title").text() == f"{front['title']} · 新闻存档 News archive"
        assert text_of(tree, "article.post h1") == front["title"]
        assert len(tree.css("h1")) == 1
        when = post_date(front)
        stamp = tree.css_first("article.post time")
        assert stamp.attributes["datetime"] == f"{when.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"
        assert " ".join(stamp.text().split()) == local(when), post.name
        if front.get("author"):
            assert text_of(tree, ".meta .author") == front["author"]
        source = tree.css_first(".meta a.source")
        assert source.attributes["href"] == front["from"]
        assert urlsplit(front["from"]).hostname in source.text()
        # The format's own heading stays in the file and out of the page.
        assert "\n------\n" in text
        assert "——" not in page_text and "<!--" not in article.html
        assert not [a for a in article.css(".post-body a") if a.attributes["href"] == front["from"]]
        body = LexborHTMLParser(text.split("<div>", 1)[1]).body
        assert body is not None
        for paragraph in body.css("p"):
            assert " ".join(paragraph.text().split()) in page_text, (post.name, paragraph.text())
        for kind, names in (("category", front["categories"]), ("tag", front["tags"])):
            links = tree.css(f"footer.terms .{'categories' if kind == 'category' else 'tags'} a")
            assert [a.text() for a in links] == names
            for link in links:
                listed = linked_posts(out, listing(out, link.attributes["href"] or ""), pages)
                assert front["from"] in listed, (kind, link.attributes["href"])

    for item in expected:
        if isinstance(item, Article):
            _, tree = pages[item.url]
            assert tree.css_first("title").text().startswith(fold_line(item.title))
            stamp = tree.css_first("article.post time").attributes["datetime"] or ""
            assert stamp.startswith(
                article_date(item.published, item.fetched).strftime("%Y-%m-%dT%H:%M")
            )
        else:
            url, last_paragraph = item
            assert last_paragraph in pages[url][1].css_first("article.post").text()
    # Liquid in article text stays text.
    liquid = pages["https://hostile.example.test/2"][1].css_first("article.post").text()
    assert "{{ x }} {% if %}" in liquid

    index = LexborHTMLParser((out / "index.html").read_text(encoding="utf-8"))
    feed_link = index.css_first('head link[rel="alternate"][type="application/atom+xml"]')
    assert feed_link.attributes["href"] == "/feed.xml"
    assert index.css_first("nav a.feed").attributes["href"] == "/feed.xml"
    feed = feedparser.parse((out / "feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception  # "&" in a post's address is escaped
    assert len(feed.entries) == len(posts)
    for entry in feed.entries:
        assert (out / unquote(entry.link).lstrip("/")).is_file(), entry.link
        assert entry.title and entry.content[0].value
        assert "——" not in entry.content[0].value  # the body, not the format's heading


Pages = dict[str, tuple[Path, LexborHTMLParser]]


def linked_posts(built: Path, node: LexborHTMLParser | LexborNode, pages: Pages) -> set[str]:
    """The ``from:`` URLs of the posts a listing (a page, or a part of one) links to."""
    by_file = {path: url for url, (path, _) in pages.items()}
    linked = {built_file(built, a.attributes["href"] or "") for a in node.css("ul.posts a")}
    return {by_file[f] for f in linked if f in by_file}


def listing(built: Path, href: str) -> LexborHTMLParser:
    page = built_file(built, href)
    assert page.is_file(), href
    return LexborHTMLParser(page.read_text(encoding="utf-8"))


def test_previous_and_next_walk_the_whole_archive_in_date_order(
    filled_site: tuple[Path, Expected],
) -> None:
    site, _ = filled_site
    out = build_ok(site)
    pages = post_pages(out)
    by_file = dict(pages.values())

    def neighbour(path: Path, rel: str) -> Path | None:
        link = by_file[path].css_first(f'nav.prev-next a[rel="{rel}"]')
        if link is None:
            return None
        target = built_file(out, link.attributes["href"] or "", path)
        assert target in by_file, (path, rel, link.attributes["href"])
        assert " ".join(link.css_first(".title").text().split()) == text_of(
            by_file[target], "article.post h1"
        )
        return target

    oldest = [p for p in by_file if neighbour(p, "prev") is None]
    assert len(oldest) == 1
    walk = [oldest[0]]
    while (following := neighbour(walk[-1], "next")) is not None:
        assert neighbour(following, "prev") == walk[-1]
        walk.append(following)
    assert sorted(walk) == sorted(by_file), "next does not reach every post once"
    stamps = [by_file[p].css_first("article.post time").attributes["datetime"] for p in walk]
    assert stamps == sorted(stamps)  # oldest to newest ("Z" times sort as text)
    assert stamps[0] == "1999-12-31T23:59:00Z"


def test_front_page_in_pages_by_day_and_a_page_per_month_category_and_tag(
    filled_site: tuple[Path, Expected],
) -> None:
    site, _ = filled_site
    set_config(site, paginate=4)
    out = build_ok(site)
    pages = post_pages(out)
    dates = {url: _page_time(tree) for url, (_, tree) in pages.items()}

    # The front page and /page2/ … hold every post once, newest first, under its day.
    seen: list[str] = []
    page: Path | None = out / "index.html"
    numbers = []
    while page is not None:
        tree = LexborHTMLParser(page.read_text(encoding="utf-8"))
        numbers.append(text_of(tree, ".pager .page-number"))
        for day in tree.css("section.day"):
            heading = day.css_first("h2 time").attributes["datetime"]
            for url in linked_posts(out, day, pages):
                assert f"{dates[url].astimezone(ZoneInfo(ZONE)):%Y-%m-%d}" == heading, url
        listed = [built_file(out, a.attributes["href"] or "") for a in tree.css("ul.posts a")]
        assert 0 < len(listed) <= 4
        seen += [url for f in listed for url, (path, _) in pages.items() if path == f]
        older = tree.css_first(".pager a.older")
        page = built_file(out, older.attributes["href"] or "") if older else None
    assert numbers == ["1 / 4", "2 / 4", "3 / 4", "4 / 4"]
    assert sorted(seen) == sorted(pages)
    assert [dates[u] for u in seen] == sorted((dates[u] for u in seen), reverse=True)

    # Months, in the archive's zone: 1999-12-31 23:59 UTC is January 2000 in Singapore.
    archive = LexborHTMLParser((out / "archive" / "index.html").read_text(encoding="utf-8"))
    months = {a.text(): a.attributes["href"] or "" for a in archive.css("ul.months a")}
    by_month: dict[str, set[str]] = {}
    for url, when in dates.items():
        by_month.setdefault(f"{when.astimezone(ZoneInfo(ZONE)):%Y-%m}", set()).add(url)
    assert set(months) == set(by_month) and "2000-01" in months
    for month, href in months.items():
        assert linked_posts(out, listing(out, href), pages) == by_month[month], month
    years = {a.text() for a in archive.css("section.year h2 a")}
    assert years == {m[:4] for m in by_month}
    for year in years:
        assert (out / year / "index.html").is_file()

    # A page per category and per tag, listing exactly the posts that carry it.
    for kind, index in (("categories", "categories"), ("tags", "tags")):
        terms: dict[str, set[str]] = {}
        for post in (site / "_posts").glob("*.md"):
            front = front_matter(post.read_text(encoding="utf-8"))
            for name in front[kind]:
                terms.setdefault(name, set()).add(front["from"])
        tree = LexborHTMLParser((out / index / "index.html").read_text(encoding="utf-8"))
        listed_terms = {a.text(): a.attributes["href"] or "" for a in tree.css("ul.terms-index a")}
        assert set(listed_terms) == set(terms), kind
        for name, href in listed_terms.items():
            assert linked_posts(out, listing(out, href), pages) == terms[name], name


def _page_time(tree: LexborHTMLParser) -> datetime:
    stamp = tree.css_first("article.post time").attributes["datetime"] or ""
    return datetime.fromisoformat(stamp)


def small_site(project: Project, articles: list[Article]) -> Path:
    """A site from ``scrape init`` with ``articles`` written as the writer writes them."""
    site = project.root / "small"
    assert init(project, site).returncode == 0
    archive = Archive(site)
    for a in articles:
        archive.write([relpath_for(a)], render(a), a.url)
    return site


def dated(n: int, when: datetime) -> Article:
    return Article(
        id=f"https://dates.example.test/{n}",
        url=f"https://dates.example.test/{n}",
        title=f"Dated {n}",
        body=f"<p>Dated body {n}.</p>",
        published=when,
        fetched=when,
    )


# Either side of New York's clock changes, leap days, the Unix epoch and before it,
# and 2**31 seconds.
TIMES = [
    datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 8, 7, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 30, tzinfo=UTC),
    datetime(2000, 2, 29, 12, 0, 1, tzinfo=UTC),
    datetime(2100, 3, 1, 0, 0, tzinfo=UTC),
    datetime(1970, 1, 1, 0, 0, tzinfo=UTC),
    datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC),
    datetime(1960, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC),
]


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Singapore", "UTC"])
def test_post_shows_the_archive_zones_time_with_utc_in_the_markup(
    project: Project, zone: str
) -> None:
    site = small_site(project, [dated(n, when) for n, when in enumerate(TIMES)])
    set_config(site, timezone=zone)
    pages = post_pages(build_ok(site))
    for n, when in enumerate(TIMES):
        _, tree = pages[f"https://dates.example.test/{n}"]
        stamp = tree.css_first("article.post time")
        assert stamp.attributes["datetime"] == f"{when:%Y-%m-%dT%H:%M:%S}Z", when
        assert " ".join(stamp.text().split()) == local(when, zone), when


def test_a_post_not_in_the_format_is_shown_whole(project: Project) -> None:
    site = small_site(project, [dated(1, datetime(2026, 5, 1, tzinfo=UTC))])
    (site / "_posts" / "2026-05-02-by-hand.md").write_text(
        "---\ntitle: By hand\ndate: 2026-05-02T00:00:00Z\nfrom: https://hand.example.test/\n"
        "---\n<!-- a note -->\n[A link of its own](https://hand.example.test/other)\n\n"
        "An opening paragraph.\n\n<div>\n<p>The rest.</p>\n</div>\n",
        encoding="utf-8",
    )
    pages = post_pages(build_ok(site))
    whole = text_of(pages["https://hand.example.test/"][1], "article.post .post-body")
    assert "A link of its own" in whole and "An opening paragraph." in whole
    assert "The rest." in whole
    cut = text_of(pages["https://dates.example.test/1"][1], "article.post .post-body")
    assert cut == "Dated body 1."


def test_scrape_site_build_builds_and_indexes_the_site(project: Project) -> None:
    require_jekyll()
    require_pagefind()
    site = small_site(project, [dated(n, when) for n, when in enumerate(TIMES[:4])])
    first = site_build(project, site)
    assert first.returncode == 0, first.stdout + first.stderr
    bundle = site / "_site" / "pagefind"
    assert (bundle / "pagefind-ui.js").is_file() and (bundle / "pagefind.js").is_file()
    assert f"search index in {bundle} (4 pages)" in first.stdout
    assert "Running Pagefind" in first.stdout and "(Extended)" in first.stdout
    index = (site / "_site" / "index.html").read_text(encoding="utf-8")
    assert 'src="/pagefind/pagefind-ui.js"' in index and 'id="search"' in index

    # A plain `jekyll build` keeps the index (keep_files); the next site build makes
    # a new one rather than adding to the old.
    stale = bundle / "fragment" / "stale.pf_fragment"
    stale.write_bytes(b"old")
    build_ok(site)
    assert stale.is_file()
    again = site_build(project, site)
    assert again.returncode == 0, again.stdout + again.stderr
    assert not stale.exists() and (bundle / "pagefind-ui.js").is_file()


def test_scrape_site_build_says_what_is_missing(project: Project, tmp_path: Path) -> None:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    site = small_site(project, [])
    no_tools = {**clean_env(), "PATH": str(empty_path), "PAGEFIND_BINARY_PATH": "/nonexistent"}
    run = site_build(project, site, env=no_tools)
    assert run.returncode == 1
    assert "jekyll is not installed (Debian: apt-get install jekyll ruby-jekyll-paginate" in (
        run.stderr
    )
    assert "pagefind is not installed (pip install 'scraper[site]'" in run.stderr
    assert not (site / "_site").exists()

    require_jekyll()
    require_pagefind()
    nowhere = site_build(project, tmp_path / "not-a-site")
    assert nowhere.returncode == 1
    assert "not a Jekyll site (no _config.yml): make one with `scrape init" in nowhere.stderr

    set_config(site, plugins=["jekyll-paginate", "jekyll-archivez"])
    broken = site_build(project, site)
    assert broken.returncode == 1
    assert "jekyll-archivez" in broken.stdout  # Jekyll's own words, passed on
    assert "scrape site build: jekyll build failed (exit 1)" in broken.stderr


def test_missing_plugin_hint_names_the_debian_package() -> None:
    said = (
        "Dependency Error: Yikes! It looks like you don't have jekyll-archives or one of "
        "its dependencies installed. In order to use Jekyll as currently configured, …"
    )
    assert missing_plugin_hint(said) == (
        "a Jekyll plugin the site uses is missing: apt-get install ruby-jekyll-archives"
    )
    assert missing_plugin_hint(said.replace("archives", "archivez")) is None
    assert missing_plugin_hint("done in 0.1 seconds") is None
