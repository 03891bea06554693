"""The development sets are for evaluation only: no code, rule or test may name one
of their sites or pages (a rule or special case for them would overfit the benchmark).

aeb-dev: its sites and page ids are read from ../shared/corpus/aeb-dev/ground-truth.json
at run time. readability-pages: its case folder names that are distinctive (with a
hyphen, or a word ending in digits; not the single words, which are common ones) and
the hosts of each case's canonical / og:url address (not a reference or social site,
nor a reserved name like fakehost) are read from ../shared/corpus/readability-pages
at run time. So this file names none of them either.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import extract as bench_extract  # bench/extract.py: the readability cases and their hosts

REPO = Path(__file__).resolve().parent.parent
GROUND_TRUTH = REPO.parent / "shared" / "corpus" / "aeb-dev" / "ground-truth.json"
PAGES = bench_extract.PAGES
SEARCHED = ("scraper", "tests", "bench", "stress")
SKIPPED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def _corpus() -> dict[str, dict[str, str]]:
    if not GROUND_TRUTH.is_file():
        pytest.skip("../shared/corpus/aeb-dev is absent")
    data = json.loads(GROUND_TRUTH.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data
    return data


def _readability_cases() -> dict[str, str]:
    """Case folder name → its source page."""
    if not PAGES.is_dir():
        pytest.skip("../shared/corpus/readability-pages is absent")
    cases = {case.name: bench_extract.read_source(case) for case in bench_extract.case_dirs(PAGES)}
    assert cases
    return cases


def _files() -> list[Path]:
    me = Path(__file__).resolve()
    found = []
    for top in SEARCHED:
        for path in sorted((REPO / top).rglob("*")):
            if path.is_file() and not SKIPPED_DIRS & set(path.parts) and path.resolve() != me:
                found.append(path)
    return found


_NAME = re.compile(r"[\w.-]+")


# A case name is distinctive with a hyphen in it, or as a word ending in digits.
_DISTINCTIVE = re.compile(r".*-.*|[a-z]+\d+")
# Sites every page links to, or reference works: a page's canonical address there
# is not a site of the corpus.
_GENERIC_SITES = frozenset(
    {
        "example.com", "example.org", "example.net", "w3.org", "whatwg.org", "ietf.org",
        "schema.org", "ogp.me", "creativecommons.org", "wikipedia.org", "mozilla.org",
        "twitter.com", "x.com", "facebook.com", "google.com", "youtube.com", "github.com",
        "instagram.com", "linkedin.com", "pinterest.com", "reddit.com", "gravatar.com",
    }
)  # fmt: skip
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost", "local"})


def _distinctive_host(host: str) -> bool:
    """A host of a corpus page's own site: not fakehost, a reserved name or a generic site."""
    host = host.lower().removeprefix("www.")
    return (
        "." in host
        and host.rsplit(".", 1)[-1] not in _RESERVED_TLDS
        and bench_extract.site_of(f"http://{host}") not in _GENERIC_SITES
    )


class _Names:
    """Finds a corpus host (www. dropped; also as the end of a longer host) or page
    id in text; a host inside a longer name (old-site.example) is not one, nor an id
    inside a longer word (my-page-id-2)."""

    def __init__(self, hosts: set[str], ids: set[str]) -> None:
        self.hosts = {h.lower().removeprefix("www.") for h in hosts} - {""}
        self.ids = {i.lower() for i in ids}

    @classmethod
    def of_aeb(cls, corpus: dict[str, dict[str, str]]) -> _Names:
        hosts = {urlsplit(row["url"]).hostname or "" for row in corpus.values()}
        return cls(hosts, set(corpus))

    @classmethod
    def of_readability(cls, cases: dict[str, str]) -> _Names:
        """The distinctive case names and the hosts of the cases' canonical addresses."""
        hosts = {h for html in cases.values() for h in bench_extract.page_hosts(html)}
        ids = {name for name in cases if _DISTINCTIVE.fullmatch(name.lower())}
        own = {re.sub(r"^www\d*\.", "", h) for h in hosts if _distinctive_host(h)}
        return cls(own, ids)

    def find(self, text: str) -> list[tuple[int, str]]:
        hits = []
        for m in _NAME.finditer(text):
            labels = m.group(0).lower().strip(".-").split(".")
            suffixes = {".".join(labels[i:]) for i in range(len(labels))}
            if suffixes & self.hosts or set(labels) & self.ids:
                hits.append((m.start(), m.group(0)))
        return hits


def _hits(names: _Names) -> list[str]:
    hits = []
    for path in _files():
        text = path.read_bytes().decode("utf-8", "ignore")
        for at, name in names.find(text):
            line = text.count("\n", 0, at) + 1
            hits.append(f"{path.relative_to(REPO)}:{line}: {name}")
    return hits


def test_the_pattern_catches_a_host_and_spares_longer_names() -> None:
    corpus = {"0" * 64: {"url": "https://www.news-site.example/a/b"}}
    names = _Names.of_aeb(corpus)
    assert names.find("see https://news-site.example/x") == [(12, "news-site.example")]
    assert names.find("hosts: [www.NEWS-SITE.example]")
    assert names.find("m.news-site.example.")
    assert names.find("0" * 64 + ".html.gz")
    assert not names.find("old-news-site.example and news-site.examples, news-site")


def test_the_readability_rule_forbids_distinctive_names_and_own_hosts_only() -> None:
    cases = {
        "gadget-blog-2": '<meta content="https://www.gadget-daily.com/a" property="og:url">',
        "two-words": "<link rel='canonical' href='http://fakehost/test/page.html'>",
        "widget7": '<link href="https://en.wikipedia.org/wiki/Widget" rel="canonical">',
        "tweets": '<link rel="canonical" href="https://twitter.com/someone">',
        "gazette": '<link rel="alternate" href="https://gazette-news.com/feed">',
        "042": "<p>a hand-made case</p>",
    }
    names = _Names.of_readability(cases)
    assert names.ids == {"gadget-blog-2", "two-words", "widget7"}
    assert names.hosts == {"gadget-daily.com"}
    assert names.find("cases/gadget-blog-2/source.html") == [(6, "gadget-blog-2")]
    assert names.find("name = 'TWO-WORDS'")
    assert names.find("widget7.html")
    assert names.find("see https://m.gadget-daily.com/x")
    assert not names.find(
        "two_words two-words-more my-two-words gadget-blog widget70 gazette tweets 042 "
        "gazette-news.com twitter.com en.wikipedia.org fakehost old-gadget-daily.com"
    )


def test_no_file_names_a_corpus_site_or_page() -> None:
    hits = _hits(_Names.of_aeb(_corpus()))
    assert not hits, "corpus names in the project:\n" + "\n".join(hits)


def test_no_file_names_a_readability_page() -> None:
    hits = _hits(_Names.of_readability(_readability_cases()))
    assert not hits, "readability-pages names in the project:\n" + "\n".join(hits)
