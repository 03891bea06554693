"""Article pages for ``bench/e2e.py``, made at run time from pages nobody copies.

Three kinds of base page:

* ``aeb``: the 90 real news pages of ``../shared/corpus/aeb-dev`` (read from there,
  never copied; average 167 KB), extracted by the generic extractor;
* ``zaobao``: the real Zaobao page in ``../shared/corpus/zaobao`` and the seven
  synthetic layout pages the Zaobao rule ships with, each padded to about 170 KB
  with an inline data script (real pages carry that much script); their sources
  name ``rule: zaobao`` (the rule matches by host name, ours are addresses);
* ``synthetic``: generated pages for when speed matters more than realism (tests).

Every article gets its own title (the base page's title with ``(feed-item)``
added wherever the page spells it), so that each becomes its own post. A base
page is used only when the extractor finds that new title in it, checked once.
"""

from __future__ import annotations

import gzip
import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from scraper.extract import Rule, extract_article, load_rules

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
AEB_DIR = SHARED / "corpus" / "aeb-dev" / "html"
ZAOBAO_REAL = SHARED / "corpus" / "zaobao"
ZAOBAO_LAYOUTS = REPO / "scraper" / "extract" / "rules" / "tests" / "zaobao"
ZAOBAO_SIZE = 170_000


@dataclass(frozen=True)
class BasePage:
    name: str
    title: str
    parts: tuple[bytes, ...]  # the page split where its title was
    zaobao: bool

    @property
    def size(self) -> int:
        return sum(map(len, self.parts)) + len(self.title.encode()) * (len(self.parts) - 1)


def _marker(feed: int, item: int) -> str:
    return f" ({feed}-{item})"


def _split(page: str, title: str) -> list[str] | None:
    for spelling in dict.fromkeys((title, html.escape(title, quote=False), html.escape(title))):
        parts = page.split(spelling)
        if len(parts) > 1:
            return parts
    escaped = json.dumps(title, ensure_ascii=True)[1:-1]
    parts = page.split(escaped)
    return parts if len(parts) > 1 else None


def _padded(page: str, size: int) -> str:
    """``page`` with an inline data script before ``</body>`` making it ``size`` bytes."""
    missing = size - len(page.encode())
    if missing <= 0:
        return page
    row = '{"id":%d,"headline":"相关新闻 related story","href":"/realtime/world/story%d"},'
    rows, total, n = [], 0, 0
    while total < missing:
        rows.append(row % (n, n))
        total += len(rows[-1].encode())
        n += 1
    script = f'<script type="application/json" id="page-data">[{"".join(rows)}{{}}]</script>'
    at = page.rfind("</body>")
    return page[:at] + script + page[at:] if at >= 0 else page + script


def _synthetic(n: int) -> str:
    paragraphs = "".join(
        f"<p>Paragraph {i} of synthetic story {n}: the council met on Tuesday and voted on "
        f"the budget, the roads and the new library; residents spoke for an hour.</p>"
        for i in range(12)
    )
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(30))
    return (
        f"<!doctype html><html><head><title>Synthetic story {n}</title>"
        f'<meta property="og:title" content="Synthetic story {n}"></head><body>'
        f"<nav><ul>{nav}</ul></nav><article><h1>Synthetic story {n}</h1>{paragraphs}</article>"
        f"<footer>Copyright the synthetic news</footer></body></html>"
    )


def _checked(name: str, page: str, rule: Rule | None, zaobao: bool) -> BasePage | None:
    """The base page, if the extractor finds its title and a changed title too."""
    url = "http://127.0.1.1/a/0/0.html"
    found = extract_article(
        page, url, rule=rule, feed_content=None, feed_title=None, default_tz=UTC
    )
    if not found.title or not found.body:
        return None
    parts = _split(page, found.title)
    if parts is None:
        return None
    variant = (found.title + _marker(0, 0)).join(parts)
    again = extract_article(
        variant, url, rule=rule, feed_content=None, feed_title=None, default_tz=UTC
    )
    if not again.title or _marker(0, 0) not in again.title:
        return None
    return BasePage(name, found.title, tuple(p.encode() for p in parts), zaobao)


def base_pages(kind: str) -> tuple[list[BasePage], list[str]]:
    """The usable base pages of ``kind`` (aeb, zaobao, synthetic) and those left out."""
    pages: list[tuple[str, str]] = []
    rule = None
    if kind == "aeb":
        pages = [
            (p.name, gzip.decompress(p.read_bytes()).decode("utf-8", "replace"))
            for p in sorted(AEB_DIR.glob("*.html.gz"))
        ]
    elif kind == "zaobao":
        rule = load_rules(None).by_name("zaobao")
        files = sorted(ZAOBAO_REAL.glob("*.html")) + sorted(ZAOBAO_LAYOUTS.glob("*.html"))
        pages = [(p.name, _padded(p.read_text("utf-8"), ZAOBAO_SIZE)) for p in files]
    else:
        pages = [(f"synthetic-{n}", _synthetic(n)) for n in range(8)]
    usable, left_out = [], []
    for name, page in pages:
        base = _checked(name, page, rule, kind == "zaobao")
        if base is None:
            left_out.append(name)
        else:
            usable.append(base)
    return usable, left_out


class Content:
    """Article ``item`` of feed ``feed``: a base page under its own title."""

    def __init__(
        self,
        kinds: tuple[str, ...] = ("aeb", "zaobao"),
        is_zaobao: Callable[[int], bool] = lambda feed: False,
    ) -> None:
        self.plain: list[BasePage] = []
        self.zaobao: list[BasePage] = []
        self.left_out: list[str] = []
        for kind in kinds:
            usable, left_out = base_pages(kind)
            (self.zaobao if kind == "zaobao" else self.plain).extend(usable)
            self.left_out += left_out
        if not self.plain:
            self.plain = self.zaobao
        self.is_zaobao = is_zaobao if self.zaobao else (lambda feed: False)

    def base(self, feed: int, item: int) -> BasePage:
        pool = self.zaobao if self.is_zaobao(feed) else self.plain
        return pool[(feed * 7 + item) % len(pool)]

    def title(self, feed: int, item: int) -> str:
        return self.base(feed, item).title + _marker(feed, item)

    def page(self, feed: int, item: int) -> bytes:
        return self.title(feed, item).encode().join(self.base(feed, item).parts)

    def describe(self) -> str:
        def avg(pages: list[BasePage]) -> str:
            return f"{sum(p.size for p in pages) / max(1, len(pages)) / 1000:.0f} KB"

        text = f"{len(self.plain)} base pages ({avg(self.plain)} average)"
        if self.zaobao and self.zaobao is not self.plain:
            text += f", {len(self.zaobao)} Zaobao-layout pages ({avg(self.zaobao)} average)"
        if self.left_out:
            text += f"; {len(self.left_out)} left out (title not found again after the change)"
        return text
