"""Link resolution: the fast path for common relative links must give exactly
what ``urljoin`` gives, on every base and link. Srcset splitting: the regex walk
must give what the character walk gave."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.extract.media import (
    LINK_SCHEMES,
    _candidates,
    _scheme,
    absolute_href,
    absolute_url,
)


def _absolute_by_urljoin(value: str | None, base_url: str) -> str | None:
    """absolute_url as it was before the fast paths: always through urljoin."""
    if not value:
        return None
    url = re.sub(r"[\t\n\r\x00-\x1f]", "", value).strip()
    if not url:
        return None
    if url.startswith("//"):
        return "https:" + url
    try:
        resolved = urljoin(base_url, url) if base_url else url
    except ValueError:
        return None
    return "https:" + resolved if resolved.startswith("//") else resolved


def _by_urljoin(href: str | None, base_url: str) -> str | None:
    """absolute_href as it was before the fast paths."""
    url = _absolute_by_urljoin(href, base_url)
    if url is None:
        return None
    scheme = _scheme(url)
    return url if scheme in LINK_SCHEMES or (scheme == "" and not base_url) else None


BASES = [
    "https://example.com",
    "https://example.com/",
    "https://example.com/news/a.html",
    "https://example.com/news/",
    "https://example.com/news/a.html?x=1#top",
    "https://example.com/a/./b/c",
    "https://example.com/a/../b",
    "http://example.com:8080/x/y?q",
    "https://example.com/a b/c",
    "https://例子.com/新闻/一.html",
    "ftp://example.com/x/",
    "",
]
HREFS = [
    "/",
    "/x",
    "/x/y?q=1#f",
    "#",
    "#frag",
    "x",
    "x/y.html",
    "x?y",
    "x#y",
    "?q",
    ".",
    "./x",
    "../x",
    "x/../y",
    "x/./y",
    "x/..",
    "//other.org/x",
    "mailto:a@b.c",
    "javascript:void(0)",
    "a:b/c",
    "x:y",
    "c/d:e",
    "x?",
    "x#",
    "x?#",
    "x y",
    "x\ty",
    "x\\y",
    "[x]",
    "/新闻/二.html",
    "%E4%B8%80",
    "x?a=/../b",
    "x#/../b",
    "",
]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("href", HREFS)
def test_common_links_resolve_as_urljoin_does(href: str, base: str) -> None:
    assert absolute_href(href, base) == _by_urljoin(href, base)
    assert absolute_url(href, base) == _absolute_by_urljoin(href, base)


_PIECES = st.sampled_from(
    ["a", "b", "/", ".", "..", "?", "#", ":", "=", "&", " ", "\\", "[", "%2e", "é", "新", "\n"]
)


@settings(max_examples=400, deadline=None)
@given(
    href=st.lists(_PIECES, max_size=8).map("".join),
    base=st.sampled_from(BASES),
    tail=st.lists(_PIECES, max_size=6).map("".join),
)
def test_any_link_resolves_as_urljoin_does(href: str, base: str, tail: str) -> None:
    if base:
        base = base + tail if "#" not in base else base
    assert absolute_href(href, base) == _by_urljoin(href, base)
    assert absolute_url(href, base) == _absolute_by_urljoin(href, base)


def _candidates_by_characters(srcset: str) -> list[tuple[str, str]]:
    """The srcset split as it was: the HTML standard's walk, character by character."""
    result = []
    pos, n = 0, len(srcset)
    while pos < n:
        while pos < n and (srcset[pos].isspace() or srcset[pos] == ","):
            pos += 1
        start = pos
        while pos < n and not srcset[pos].isspace():
            pos += 1
        url = srcset[start:pos]
        if not url:
            break
        if url.endswith(","):
            result.append((url.rstrip(","), ""))
            continue
        start = pos
        while pos < n and srcset[pos] != ",":
            pos += 1
        result.append((url, srcset[start:pos]))
        pos += 1
    return result


# Srcsets as pages write them and as they break: URLs holding commas, descriptors
# or none, every whitespace str.isspace knows, stray and trailing commas.
_SRCSET_PIECES = st.sampled_from(
    ["a.jpg", "https://cdn.example/i,w_300.jpg", "b.png,", ",", ",,", " ", "  ", "\t", "\n",
     "\x0c", "\xa0", "\u3000", "\x1c", "100w", "2x", "1.5x", "640w 480h", "é.jpg", "x"]
)  # fmt: skip


@settings(max_examples=3000)
@given(st.lists(_SRCSET_PIECES, max_size=12).map("".join))
def test_srcset_split_as_by_the_character_walk(srcset: str) -> None:
    assert _candidates(srcset) == _candidates_by_characters(srcset)
