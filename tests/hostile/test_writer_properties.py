"""Property tests for the writer, end to end on disk: for any title, author, tags
and body, the file the archive writes sits under a valid name inside the archive,
parses back to the same values, and holds no executable HTML; any two articles
get two files, even when their titles differ only in case.

tests/test_render.py holds the same properties for ``render`` alone (two YAML
readers, the CommonMark structure); these go through ``clean_body`` (the
sanitiser) and ``Archive.write`` as the pipeline does, and check the result with
the independent rules of ``hostile.checks``.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile.checks import check_archive, executable_html, fold, name_problem
from hostile.world import SCRIPT_BODIES
from scraper.archive import Archive
from scraper.extract.clean import clean_body
from scraper.render import identity_suffix, relpath_for, render
from scraper.types import Article

# Text that goes for YAML, Markdown, paths and the OSes: every kind of character,
# with the troublemakers over-represented.
TROUBLE = [
    *"-:#\"'\\[]{}|>&*!%@`,?~=<./\n\r\t\x00\x01\x1b\x7f\x85\u2028\u2029\u200b\u200d",
    *"\u200e\u200f\u202e\ufeff\ufffe\U0001f600長é",
    *["---", ": ", "..", "../", "CON", "nul", " ", "null", "yes", "\r\n", "e\u0301"],
]
nasty = st.lists(st.one_of(st.sampled_from(TROUBLE), st.text(max_size=6)), max_size=24).map("".join)

# HTML fragments: good paragraphs, hostile markup, and raw text in between.
fragment = st.lists(
    st.one_of(
        st.sampled_from(SCRIPT_BODIES),
        st.sampled_from(["<p>", "</p>", "<div>", "</div>", "<pre>", "\n\n    ", "<!--", "-->"]),
        nasty,
    ),
    max_size=10,
).map("".join)

BASE = "https://writer.example.test/a/1.html"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def write(archive: Archive, article: Article) -> str:
    candidates = [relpath_for(article), relpath_for(article, suffix=identity_suffix(article.id))]
    return archive.write(candidates, render(article), article.url)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=nasty,
    author=st.one_of(st.none(), nasty),
    tags=st.lists(nasty, max_size=4),
    body=fragment,
    minutes=st.integers(-60 * 24 * 365 * 80, 60 * 24 * 365 * 80),
)
def test_any_article_is_written_whole_safe_and_gives_back_its_values(
    title: str, author: str | None, tags: list[str], body: str, minutes: int
) -> None:
    article = Article(
        id=f"id:{title}",
        url=BASE,
        title=title,
        body=clean_body(body, BASE),
        published=T0 + timedelta(minutes=minutes),
        fetched=T0,
        author=author,
        tags=tuple(tags),
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "archive"
        relpath = write(Archive(root), article)
        (post,) = check_archive(root).values()  # names, format, no executable HTML
        assert post.path == root / relpath
        assert all(name_problem(part) is None for part in relpath.split("/")), relpath
        assert post.meta["title"] == fold(title)
        assert post.meta["author"] == (None if author is None else fold(author))
        assert post.meta["tags"] == [fold(t) for t in tags]
        assert post.meta["from"] == BASE
        assert post.meta["date"] == min(article.published, T0)  # type: ignore[type-var]
        assert post.body.split("\n")[:-1] == [
            line.strip(" \t") for line in article.body.split("\n") if line.strip(" \t")
        ]


@settings(max_examples=150, deadline=None)
@given(fragment)
def test_the_sanitiser_leaves_nothing_executable(body: str) -> None:
    cleaned = clean_body(body, BASE)
    text = render(Article(id="x", url=BASE, title="t", body=cleaned, published=None, fetched=T0))
    assert not executable_html(text), cleaned


@settings(max_examples=50, deadline=None)
@given(st.lists(nasty, min_size=2, max_size=5))
def test_every_article_gets_its_own_file(titles: list[str]) -> None:
    """Same day, titles as alike as hypothesis can make them (case included):
    never one file for two articles, never two names a case-blind disk merges."""
    titles += [t.upper() for t in titles] + [t.lower() for t in titles]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "archive"
        archive = Archive(root)
        for n, title in enumerate(titles):
            url = f"{BASE}?n={n}"
            article = Article(
                id=url, url=url, title=title, body="<p>x</p>", published=None, fetched=T0
            )
            write(archive, article)
        assert len(check_archive(root)) == len(titles)
