"""The nesting bound: the C-speed proof that a page is shallow must never pass a
page whose estimated nesting (the tag-by-tag walk) goes deeper than the limit, and
must pass ordinary pages, so that the walk runs only where a cut may be needed."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.extract.limits import _cut_at, _openings, _shallow, _shallow_by_counts, bounded_html

_PIECES = ["<div>", "</div>", "<p>", "</p>", "<br>", "<BR/>", "<bR >", "<li>", "<col>",
           "<colgroup>", "<p1>", "</ ", "< a", "<!-- x -->", "</x>", "<span a='<'>", "text",
           "<Td>", "</ p>", "<img src=x>", "<imgx>"]  # fmt: skip


@settings(max_examples=1500)
@given(st.lists(st.sampled_from(_PIECES), max_size=120), st.integers(1, 12), st.integers(1, 9))
def test_proof_of_shallow_nesting_is_sound(pieces: list[str], max_depth: int, stretch: int) -> None:
    data = "".join(pieces).encode()
    if _shallow(data, max_depth, stretch):
        assert _cut_at(data, max_depth) == len(data)


@settings(max_examples=1500)
@given(st.lists(st.sampled_from(_PIECES), max_size=120), st.integers(1, 12), st.integers(1, 40))
def test_proof_by_counts_is_sound(pieces: list[str], max_depth: int, span: int) -> None:
    data = "".join(pieces).encode()
    if _shallow_by_counts(data, max_depth, span):
        assert _cut_at(data, max_depth) == len(data)


@given(st.lists(st.sampled_from(["<", "/", "</", "x", "<a>"]), max_size=60), st.integers(1, 8))
def test_openings_bound_the_start_tags(pieces: list[str], chunk: int) -> None:
    data = "".join(pieces).encode()
    exact = data.count(b"<") - data.count(b"</")
    assert _openings(data) == exact  # one chunk
    # a "<" at a chunk's end may count, never one less
    assert exact <= _openings(data, chunk) <= exact + len(data) // chunk


def test_deep_pages_cut_where_the_nesting_passes_the_limit() -> None:
    assert bounded_html("<div>" * 5000, max_depth=2000) == b"<div>" * 2000
    assert bounded_html("<p>" * 5000 + "<b>x</b>") == b"<p>" * 5000 + b"<b>x</b>"
    # void and end-tag-optional elements in any case never nest; "</ " is no end tag
    assert bounded_html("<DIV><Br>" * 10, max_depth=5) == b"<DIV><Br>" * 5
    fake_closes = "<div></ " * 10
    assert bounded_html(fake_closes, max_depth=5) == ("<div></ " * 5).encode()


def test_long_ordinary_pages_proved_shallow() -> None:
    row = "<div class=r><span>a</span><a href=x>b</a><img src=y><br><p>t</div>\n"
    page = ("<html><body>" + row * 5000 + "</body></html>").encode()
    assert page.count(b"<") - page.count(b"</") > 2000  # the cheap proofs fail
    assert _shallow(page, 2000)


def test_readability_pages_proved_shallow() -> None:
    folder = Path(__file__).resolve().parents[2] / "shared/corpus/readability-pages"
    if not folder.exists():
        pytest.skip("shared corpus not present")
    for source in sorted(folder.glob("*/source.html.gz")):
        data = gzip.decompress(source.read_bytes())
        assert _shallow(data, 2000), source.parent.name
        assert _shallow_by_counts(data, 2000), source.parent.name
