"""Mangled pages for fuzzing the extractors, each made from a seed (and so
reproducible): tests/test_extract_fuzz.py runs a few thousand, stress/fuzz_extract.py
as many as asked.

The base pages are our own (tests/data/generic, the Zaobao rule's test pages) and,
when ../shared is present, the aeb-dev corpus pages, read from there at run time
(never copied). Each case applies one to three mutations to one base page.
"""

from __future__ import annotations

import gzip
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from scraper.extract import Rule, extract_article, load_rules
from scraper.extract.generic import extract_generic

REPO = Path(__file__).resolve().parent.parent
OWN_PAGES = [
    *sorted((REPO / "tests" / "data" / "generic").glob("*.html")),
    *sorted((REPO / "scraper" / "extract" / "rules" / "tests" / "zaobao").glob("*.html")),
]
CORPUS = REPO.parent / "shared" / "corpus" / "aeb-dev" / "html"
LIMIT_S = 1.0
ZAOBAO_URL = "https://www.zaobao.com.sg/realtime/world/story20250101-1"
OTHER_URL = "https://news.example.com/2025/01/01/story.html"

_TAG = re.compile(r"<[^<>]{0,200}>")
_RULE = load_rules().by_name("zaobao")


@dataclass(frozen=True)
class Base:
    name: str
    html: str
    url: str = OTHER_URL


@dataclass(frozen=True)
class Case:
    seed: int
    base: str
    mutations: tuple[str, ...]
    html: str
    url: str
    feed_content: str | None


def own_pages() -> list[Base]:
    return [
        Base(
            p.name, p.read_text(encoding="utf-8"), ZAOBAO_URL if "zaobao" in p.parts else OTHER_URL
        )
        for p in OWN_PAGES
    ]


def corpus_pages() -> list[Base]:
    """The aeb-dev pages under their hash names; [] when ../shared is absent."""
    pages = []
    for path in sorted(CORPUS.glob("*.html.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            pages.append(Base(path.name[:12], f.read()))
    return pages


# -- mutations: (html, rng) -> html ------------------------------------------------


def _at(html: str, rng: random.Random) -> int:
    return rng.randrange(len(html) + 1)


def _insert(html: str, rng: random.Random, piece: str) -> str:
    at = _at(html, rng)
    return html[:at] + piece + html[at:]


def truncate(html: str, rng: random.Random) -> str:
    return html[: _at(html, rng)]


def flip_bytes(html: str, rng: random.Random) -> str:
    data = bytearray(html.encode("utf-8"))
    for _ in range(rng.randint(1, max(1, len(data) // 50))):
        if data:
            data[rng.randrange(len(data))] ^= rng.randint(1, 255)
    return data.decode(rng.choice(["utf-8", "latin-1", "gb18030"]), "replace")


def delete_tags(html: str, rng: random.Random) -> str:
    share = rng.random()
    return _TAG.sub(lambda m: "" if rng.random() < share else m.group(0), html)


def duplicate_tags(html: str, rng: random.Random) -> str:
    tags = _TAG.findall(html) or ["<div>"]
    pieces = "".join(rng.choice(tags) * rng.randint(2, 300) for _ in range(rng.randint(1, 5)))
    return _insert(html, rng, pieces)


def nest_deep(html: str, rng: random.Random) -> str:
    opener = rng.choice(["<div>", "<span>", "<table><tr><td>", "<ul><li>", "<b><i>", "<font>"])
    depth = 20_000 if rng.random() < 0.1 else rng.choice([50, 500, 2_000])
    closer = "" if rng.random() < 0.5 else re.sub(r"<(\w+)>", r"</\1>", opener) * depth
    at = _at(html, rng)
    return html[:at] + opener * depth + html[at : at + 2000] + closer + html[at + 2000 :]


def random_binary(html: str, rng: random.Random) -> str:
    junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 20_000))).decode("latin-1")
    at = _at(html, rng)
    return html[:at] + junk + html[at + rng.randint(0, len(junk)) :]


def huge_attribute(html: str, rng: random.Random) -> str:
    size = 1_000_000 if rng.random() < 0.05 else rng.choice([1_000, 10_000, 100_000])
    value = rng.choice(["a", "中", "&amp;", " ", '"', "\x00"]) * size
    quote = rng.choice(['"', "'", ""])
    name = rng.choice(["class", "style", "data-src", "href", "srcset", "x"])
    return _insert(html, rng, f"<p {name}={quote}{value}{quote}>text</p>")


def unclosed(html: str, rng: random.Random) -> str:
    opener = rng.choice(
        ["<!--", "<script>", "<style>", "<textarea>", "<![CDATA[", "<svg>", "<math>",
         "<template>", "<plaintext>", "<title>", "<noscript>", "<iframe>", "<xmp>", "<select>",
         "<table>", "<frameset>", "<", "</", "<!DOCTYPE", "<?xml "]
    )  # fmt: skip
    return _insert(html, rng, opener)


def entities(html: str, rng: random.Random) -> str:
    noise = rng.choice(
        ["&#x110000;", "&#0;", "&#99999999999;", "&amp", "&nbsp;" * 1000, "&#xD800;",
         "&unknown;", "&#x200b;" * 50, "\u200b\ufeff\u00ad" * 100, "\r\n\r" * 100]
    )  # fmt: skip
    return _insert(html, rng, noise)


def shuffle_lines(html: str, rng: random.Random) -> str:
    lines = html.split("\n")
    rng.shuffle(lines)
    return "\n".join(lines)


def splice(html: str, rng: random.Random) -> str:
    piece = html[_at(html, rng) :][: rng.randint(1, 5000)]
    return _insert(html, rng, piece * rng.randint(1, 20))


def mangle_hydration(html: str, rng: random.Random) -> str:
    junk = rng.choice(
        ['\\"', "\\u12", "[" * 5000, '{"loaderData":{"0-0":{"context":{"payload":', "\\", '")']
    )
    start = html.find("JSON.parse(")
    if start < 0:
        return _insert(
            html, rng, f'<script>window.__staticRouterHydrationData = JSON.parse("{junk}'
        )
    at = rng.randrange(start, len(html))
    return html[:at] + junk + html[at + rng.randint(0, 200) :]


MUTATIONS: dict[str, Callable[[str, random.Random], str]] = {
    f.__name__: f
    for f in (
        truncate, flip_bytes, delete_tags, duplicate_tags, nest_deep, random_binary,
        huge_attribute, unclosed, entities, shuffle_lines, splice, mangle_hydration,
    )
}  # fmt: skip


def make_case(seed: int, bases: list[Base]) -> Case:
    rng = random.Random(seed)
    base = rng.choice(bases)
    names = tuple(rng.choice(list(MUTATIONS)) for _ in range(rng.randint(1, 3)))
    html = base.html
    for name in names:
        html = MUTATIONS[name](html, rng)
    feed = None
    if rng.random() < 0.5:
        at = _at(html, rng)
        feed = html[at : at + rng.randint(0, 20_000)]
    return Case(seed, base.name, names, html, base.url, feed)


# -- running ---------------------------------------------------------------------


def _calls(case: Case) -> dict[str, Callable[[], object]]:
    def article(rule: Rule | None) -> Callable[[], object]:
        return lambda: extract_article(
            case.html,
            case.url,
            rule=rule,
            feed_content=case.feed_content,
            feed_title="feed title",
            default_tz=UTC,
        )

    calls = {
        "extract_generic": lambda: extract_generic(case.html, case.url),
        "extract_article(rule=zaobao)": article(_RULE),
    }
    if case.feed_content is not None:  # without it, this is extract_generic again
        calls["extract_article(rule=None)"] = article(None)
    return calls


def check(case: Case, limit: float = LIMIT_S, tries: int = 3) -> list[str]:
    """Problems running the extractors on ``case``: an exception, or a call over
    ``limit`` seconds each of ``tries`` times. The wall clock (perf_counter) is
    what we bound, but a run whose CPU time stayed under the limit counts as in
    time: then the machine was busy, not our code (extraction is pure CPU work)."""
    problems = []
    for name, call in _calls(case).items():
        runs = []
        for _ in range(tries):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                call()
            except Exception as exc:  # the failure the test is looking for
                problems.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
                break
            runs.append((time.perf_counter() - wall, time.process_time() - cpu))
            if min(runs[-1]) < limit:
                break
        else:
            wall_s, cpu_s = min(runs, key=lambda r: r[1])
            problems.append(f"{name}: {wall_s:.2f} s, CPU {cpu_s:.2f} s (limit {limit} s)")
    where = (
        f"seed {case.seed} (base {case.base}, {'+'.join(case.mutations)}, {len(case.html)} chars)"
    )
    return [f"{where}: {p}" for p in problems]
