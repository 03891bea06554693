"""The archive in a browser, as a reader sees it: a real archive (the real
``scrape --once`` against the loopback Zaobao, plus the hostile posts) built by
``scrape site build`` (Debian's Jekyll, then Pagefind), served on 127.0.0.1 and
opened in headless Debian Chromium driven by Playwright (no browser download).

Screenshots at desktop and phone widths go to the test's temporary folder and, in
CI (``CI`` set), to ``artifacts/screenshots/`` of the project."""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from conftest import Project
from loopback_site import running_site
from servicetools import missing, require
from sitetools import (
    SEARCH_PHRASE,
    SEARCH_STORY,
    Expected,
    fill_site,
    post_pages,
    require_jekyll,
    require_pagefind,
    serving,
    site_build,
    zaobao_story,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei")


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:port
    site: Path
    expected: Expected
    paths: dict[str, str]  # from: URL -> the post's path on the site
    shots: Path

    def url(self, path: str) -> str:
        return self.base + quote(path)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    require_jekyll()
    require_pagefind()
    with running_site() as loopback:
        project = Project(tmp_path_factory.mktemp("browser"), loopback)
        site, expected = fill_site(project)
        built = site_build(project, site)
        assert built.returncode == 0, built.stdout + built.stderr
    out = site / "_site"
    paths = {url: "/" + str(path.relative_to(out)) for url, (path, _) in post_pages(out).items()}
    with serving(out) as base:
        yield Served(base, site, expected, paths, tmp_path_factory.mktemp("screenshots"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = require("chromium", "chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert not errors, errors  # no script on any page failed


def search_story_path(served: Served) -> str:
    return served.paths[zaobao_story(SEARCH_STORY).url]


def test_post_page_has_its_headline_local_time_and_working_neighbours(
    served: Served, page: Page
) -> None:
    story = zaobao_story(SEARCH_STORY)  # published 09:00 UTC, 17:00 in Singapore
    page.goto(served.url(search_story_path(served)))
    headline = page.locator("h1")
    assert headline.count() == 1 and headline.is_visible()
    assert headline.inner_text() == story.title
    stamp = page.locator("article.post time")
    assert stamp.get_attribute("datetime") == "2026-11-20T09:00:00Z"
    assert stamp.inner_text() == "2026-11-20 17:00 UTC+08:00"
    assert page.locator(".meta .author").inner_text() == "联合早报"
    assert page.locator(".meta a.source").get_attribute("href") == story.url
    # The format's own heading (the title as a link, then "——") is not shown.
    assert "——" not in page.locator("article.post").inner_text()
    assert page.locator(f'.post-body a[href="{story.url}"]').count() == 0
    assert page.locator("footer.terms a.term").first.inner_text() == "联合早报"

    for rel, back in (("next", "prev"), ("prev", "next")):
        link = page.locator(f'nav.prev-next a[rel="{rel}"]')
        neighbour = link.locator(".title").inner_text()
        assert neighbour != story.title
        link.click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == neighbour
        page.locator(f'nav.prev-next a[rel="{back}"]').click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == story.title


def test_search_finds_a_chinese_phrase_from_the_middle_of_a_post(
    served: Served, page: Page
) -> None:
    story = zaobao_story(SEARCH_STORY)
    # The search box is on every kind of page; search from a month's page.
    for path in ("/", "/archive/", "/2026/11/", "/tag/联合早报/", search_story_path(served)):
        page.goto(served.url(path))
        assert page.locator("#search input").is_visible(), path
    page.fill("#search input", SEARCH_PHRASE)
    results = page.locator(".pagefind-ui__result-link")
    results.first.wait_for(timeout=15_000)
    page.wait_for_timeout(300)  # the results of the last keystroke
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert hrefs == [search_story_path(served)]
    assert results.first.inner_text() == story.title
    results.first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == story.title

    # Asked through Pagefind's own API: the phrase is in that post alone, and a phrase
    # of every Zaobao story (mid-clause too) is in all eight of them.
    assert search(page, SEARCH_PHRASE) == [search_story_path(served)]
    everywhere = search(page, "持续上升的需求")
    zaobao = {served.paths[url] for url, _ in (e for e in served.expected if isinstance(e, tuple))}
    assert sorted(everywhere) == sorted(zaobao) and len(zaobao) == 8


def search(page: Page, phrase: str) -> list[str]:
    """The addresses Pagefind's API finds ``phrase`` in, from the page open in ``page``."""
    return list(
        page.evaluate(
            """async (phrase) => {
                const pagefind = await import("/pagefind/pagefind.js");
                const found = await pagefind.search(phrase);
                const data = await Promise.all(found.results.map((r) => r.data()));
                return data.map((d) => decodeURI(d.url));
            }""",
            phrase,
        )
    )


def png_width(path: Path) -> int:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return int(struct.unpack(">I", header[16:20])[0])


def test_screenshots_at_desktop_and_phone_widths(served: Served, browser: Browser) -> None:
    pages = {
        "index": "/",
        "post": search_story_path(served),
        "month": "/2026/11/",
    }
    written = []
    for width_name, (width, height) in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        tab = context.new_page()
        for name, path in pages.items():
            tab.goto(served.url(path))
            tab.wait_for_load_state("networkidle")
            assert tab.locator('meta[name="viewport"]').count() == 1
            # Readable on a phone: nothing wider than the screen.
            scroll_width = tab.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width, (name, width_name, scroll_width)
            fonts = tab.evaluate("getComputedStyle(document.body).fontFamily")
            assert all(font in fonts for font in CJK_FONTS)
            assert fonts.index(CJK_FONTS[-1]) < fonts.index("sans-serif")
            shot = served.shots / f"{name}-{width_name}.png"
            tab.screenshot(path=str(shot), full_page=True)
            written.append(shot)
        tab.goto(served.url("/"))
        tab.fill("#search input", SEARCH_PHRASE)
        tab.locator(".pagefind-ui__result-link").first.wait_for(timeout=15_000)
        shot = served.shots / f"search-{width_name}.png"
        tab.screenshot(path=str(shot))
        written.append(shot)
        context.close()
    for shot in written:
        expected_width = WIDTHS[shot.stem.rsplit("-", 1)[1]][0]
        assert png_width(shot) == expected_width, shot
    if os.environ.get("CI"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for shot in written:
            shutil.copy2(shot, ARTIFACTS / shot.name)
