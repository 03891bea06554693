"""bench/extract.py's site keys and halves, on made-up cases: a readability case's site
joins its numbered siblings, the cases whose names extend its name, and the cases
whose canonical address is on the same registered domain; a site is in one half."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from extract import half_of, page_hosts, readability_sites, readability_split


def _canonical(url: str) -> str:
    return f'<html><head><link rel="canonical" href="{url}"></head><body></body></html>'


CASES = {
    "gazette-1": _canonical("https://www.gazette.example.com/a"),
    "gazette-2": "<p>no address</p>",
    "widget": "<p>a hand-made case</p>",
    "widget-with-frames": "<p>a variant of it</p>",
    "lazy-pictures": _canonical("https://news.gazette.example.com/b"),
    "hand-made": _canonical("http://fakehost/test/page.html"),
    "other": "<meta property='og:url' content='https://other.example.org/x'>",
}


def test_page_hosts_reads_canonical_and_og_url_only() -> None:
    html = (
        '<link href="https://A.example.net/x" rel="alternate canonical">'
        "<meta content='//b.example.net/y' property='og:url'>"
        '<link rel="alternate" href="https://c.example.net/feed">'
        '<meta name="twitter:url" content="https://d.example.net/">'
        '<link rel="canonical" href="/relative">'
    )
    assert page_hosts(html) == {"a.example.net", "b.example.net"}


def test_a_site_groups_numbered_and_extended_names_and_shared_domains() -> None:
    sites = readability_sites(CASES)
    assert sites["gazette-1"] == sites["gazette-2"] == sites["lazy-pictures"]
    assert sites["widget"] == sites["widget-with-frames"] == "widget"
    assert sites["hand-made"] == "hand-made"  # fakehost joins nothing
    assert len(set(sites.values())) == 4


def test_the_halves_part_the_cases_by_site() -> None:
    sites = readability_sites(CASES)
    a, b = readability_split(CASES, "a"), readability_split(CASES, "b")
    assert sorted(a + b) == sorted(CASES)
    for case in a:
        assert half_of(sites[case]) == "a"
    assert not {sites[c] for c in a} & {sites[c] for c in b}


def test_the_adapter_returns_the_body() -> None:
    from bench_adapter import _aeb

    from scraper.extract.generic import extract_generic

    html = "<html><body><article>" + "<p>A paragraph long enough to count, twice.</p>" * 5
    html += "</article></body></html>"
    assert (
        _aeb(html, "https://news.example/a") == extract_generic(html, "https://news.example/a").body
    )
    assert _aeb("", "https://news.example/a") == ""
