"""The archive as a site: ``scrape init`` lays it out, the real ``scrape --once``
fills it, the real Jekyll (Debian's) builds it, and every post comes out whole."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import feedparser
import pytest
import yaml
from conftest import Project, clean_env
from loopback_site import CA_BUNDLE
from newsfixtures import make_story, zaobao_article, zaobao_listing
from selectolax.lexbor import LexborHTMLParser
from servicetools import require

from scraper.archive import Archive
from scraper.decide import article_date
from scraper.render import fold_line, relpath_for, render
from scraper.types import Article

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SECTIONS = ("china", "world", "singapore", "finance")


def init(project: Project, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*project.command("init", str(folder))[:3], "init", str(folder)],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=project.root,
        timeout=60,
        check=False,
    )


def jekyll_build(site: Path) -> subprocess.CompletedProcess[str]:
    jekyll = require("jekyll", "jekyll ruby-jekyll-feed")
    return subprocess.run(
        [jekyll, "build", "--source", str(site), "--destination", str(site / "_site")],
        capture_output=True,
        text=True,
        cwd=site,
        timeout=300,
        check=False,
        env={**clean_env(), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
    )


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
        article(5, "Y2K: 1999 story", datetime(1999, 12, 31, 23, 59, tzinfo=UTC), "old"),
        article(
            6, "emoji 📰 and العربية and\nnew\tlines", now, "mixed scripts", tags=("a: b", "[x]")
        ),
        article(7, "null", now, "a title YAML could read as null", categories=("yes", "no")),
    ]


@pytest.fixture
def filled_site(project: Project) -> tuple[Path, list[Article | tuple[str, str]]]:
    """A site from ``scrape init``, filled by ``scrape --once`` through the scaffold's own
    config (Zaobao sections, served by the loopback site), plus hostile posts."""
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
    expected: list[Article | tuple[str, str]] = []
    for i, section in enumerate(SECTIONS):
        stories = [
            make_story("https://www.zaobao.com.sg", 10 * i + n, T0 + timedelta(hours=n), lang="zh")
            for n in (1, 2)
        ]
        project.site.add(f"https://www.zaobao.com.sg/realtime/{section}", zaobao_listing(stories))
        for s in stories:
            project.site.add(s.url, zaobao_article(s))
            expected.append((s.url, s.paragraphs[-1]))
    run = subprocess.run(
        [*project.command()[:3], "--config", str(site / "config.yaml"), "--once"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=project.root,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    archive = Archive(site)
    for a in hostile_articles():
        archive.write([relpath_for(a)], render(a), a.url)
        expected.append(a)
    return site, expected


def post_pages(built: Path) -> dict[str, LexborHTMLParser]:
    """``from:`` URL → parsed page, for every page of the built site that shows a post."""
    pages = {}
    for html in built.rglob("*.html"):
        tree = LexborHTMLParser(html.read_text(encoding="utf-8"))
        link = tree.css_first("article.post .meta a")
        if link is not None:
            pages[link.attributes["href"] or ""] = tree
    return pages


def test_scaffold_builds_at_once_and_init_keeps_existing_files(project: Project) -> None:
    site = project.root / "new-archive"
    first = init(project, site)
    assert first.returncode == 0, first.stderr
    for name in (
        "_config.yml",
        "config.yaml",
        "_layouts/default.html",
        "_layouts/post.html",
        "index.html",
        ".gitignore",
    ):
        assert (site / name).is_file(), name
        assert f"created {name}" in first.stdout
    assert (site / "_posts").is_dir()
    (site / "_config.yml").write_text("title: mine\n", encoding="utf-8")
    second = init(project, site)
    assert "kept    _config.yml (exists)" in second.stdout
    assert (site / "_config.yml").read_text(encoding="utf-8") == "title: mine\n"
    (site / "_config.yml").unlink()
    init(project, site)

    check = subprocess.run(
        [*project.command()[:3], "--config", str(site / "config.yaml"), "check"],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    assert check.returncode == 0, check.stderr
    for section in SECTIONS:
        assert f"zaobao-realtime-{section}" in check.stdout
    assert f"archive_dir: {site.resolve()}" in check.stdout

    built = jekyll_build(site)  # empty, straight from init
    assert built.returncode == 0, built.stdout + built.stderr
    assert (site / "_site" / "index.html").is_file()
    assert feedparser.parse((site / "_site" / "feed.xml").read_bytes()).bozo == 0
    assert not (site / "_site" / "config.yaml").exists()  # the scraper's config stays private


def test_jekyll_builds_every_post_with_title_date_and_body(
    filled_site: tuple[Path, list[Article | tuple[str, str]]],
) -> None:
    site, expected = filled_site
    posts = sorted((site / "_posts").glob("*.md"))
    assert len(posts) == len(expected) == 15
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", p.name)) for p in posts) >= 9

    built = jekyll_build(site)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Skipping" not in built.stdout + built.stderr
    assert "Error" not in built.stdout + built.stderr
    out = site / "_site"
    pages = post_pages(out)
    assert len(pages) == len(posts), "a post was skipped"
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", str(p))) for p in out.rglob("*.html")) >= 9

    for post in posts:
        text = post.read_text(encoding="utf-8")
        front = yaml.safe_load(text.split("\n---\n", 1)[0][4:])
        tree = pages[front["from"]]
        page_text = " ".join(tree.css_first("article.post").text().split())
        assert tree.css_first("title").text() == f"{front['title']} · 新闻存档 News archive"
        when = (
            front["date"]
            if isinstance(front["date"], datetime)
            else datetime.fromisoformat(front["date"])
        )
        stamp = tree.css_first("time").attributes["datetime"]
        assert stamp == when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"), post.name
        body = LexborHTMLParser(text.split("<div>", 1)[1]).body
        assert body is not None
        for paragraph in body.css("p"):
            assert " ".join(paragraph.text().split()) in page_text, (post.name, paragraph.text())

    for item in expected:
        if isinstance(item, Article):
            tree = pages[item.url]
            assert tree.css_first("title").text().startswith(fold_line(item.title))
            stamp = tree.css_first("time").attributes["datetime"] or ""
            assert stamp.startswith(
                article_date(item.published, item.fetched).strftime("%Y-%m-%dT%H:%M")
            )
        else:
            url, last_paragraph = item
            assert last_paragraph in pages[url].css_first("article.post").text()
    # Liquid in article text stays text.
    liquid = pages["https://hostile.example.test/2"].css_first("article.post").text()
    assert "{{ x }} {% if %}" in liquid

    feed = feedparser.parse((out / "feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception  # "&" in a post's address is escaped
    assert len(feed.entries) == len(posts)
    for entry in feed.entries:
        assert (out / unquote(entry.link).lstrip("/")).is_file(), entry.link
        assert entry.title and entry.content[0].value
