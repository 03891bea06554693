"""The aeb-dev corpus is for evaluation only: no code, rule or test may name one of
its sites or pages (a rule or special case for them would overfit the benchmark).

The site names are read from ../shared/corpus/aeb-dev/ground-truth.json at run
time, so this file names none of them either.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
GROUND_TRUTH = REPO.parent / "shared" / "corpus" / "aeb-dev" / "ground-truth.json"
SEARCHED = ("scraper", "tests", "bench", "stress")
SKIPPED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def _corpus() -> dict[str, dict[str, str]]:
    if not GROUND_TRUTH.is_file():
        pytest.skip("../shared/corpus/aeb-dev is absent")
    data = json.loads(GROUND_TRUTH.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data
    return data


def _files() -> list[Path]:
    me = Path(__file__).resolve()
    found = []
    for top in SEARCHED:
        for path in sorted((REPO / top).rglob("*")):
            if path.is_file() and not SKIPPED_DIRS & set(path.parts) and path.resolve() != me:
                found.append(path)
    return found


_NAME = re.compile(r"[\w.-]+")


class _Names:
    """Finds a corpus host (www. dropped; also as the end of a longer host) or page
    id in text; a host inside a longer name (old-site.example) is not one."""

    def __init__(self, corpus: dict[str, dict[str, str]]) -> None:
        hosts = {urlsplit(row["url"]).hostname or "" for row in corpus.values()}
        self.hosts = {h.lower().removeprefix("www.") for h in hosts} - {""}
        self.ids = {i.lower() for i in corpus}

    def find(self, text: str) -> list[tuple[int, str]]:
        hits = []
        for m in _NAME.finditer(text):
            labels = m.group(0).lower().strip(".-").split(".")
            suffixes = {".".join(labels[i:]) for i in range(len(labels))}
            if suffixes & self.hosts or set(labels) & self.ids:
                hits.append((m.start(), m.group(0)))
        return hits


def test_the_pattern_catches_a_host_and_spares_longer_names() -> None:
    corpus = {"0" * 64: {"url": "https://www.news-site.example/a/b"}}
    names = _Names(corpus)
    assert names.find("see https://news-site.example/x") == [(12, "news-site.example")]
    assert names.find("hosts: [www.NEWS-SITE.example]")
    assert names.find("m.news-site.example.")
    assert names.find("0" * 64 + ".html.gz")
    assert not names.find("old-news-site.example and news-site.examples, news-site")


def test_no_file_names_a_corpus_site_or_page() -> None:
    names = _Names(_corpus())
    hits = []
    for path in _files():
        text = path.read_bytes().decode("utf-8", "ignore")
        for at, name in names.find(text):
            line = text.count("\n", 0, at) + 1
            hits.append(f"{path.relative_to(REPO)}:{line}: {name}")
    assert not hits, "corpus names in the project:\n" + "\n".join(hits)
