"""The body's edges: what repeats the page's metadata (the headline, a byline, a date
stamp) at the top or bottom of the extracted body is dropped from it."""

from __future__ import annotations

import re

from scraper.extract.meta import PageMeta

__all__ = ["drop_repeats"]

_DATE_OR_TIME = re.compile(
    r"\b(?:19|20)\d\d\b|\b\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?|\d{4}年|\d{1,2}月\d{1,2}日", re.I
)
_WORD = re.compile(r"\w+")


def _plain(line: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", line).split()).casefold()


def _is_dateline(text: str) -> bool:
    """A short line that is only a date or time stamp ("Updated 10:01 pm PST, …")."""
    if len(text) > 70 or not _DATE_OR_TIME.search(text):
        return False
    rest = _WORD.findall(_DATE_OR_TIME.sub(" ", text))
    return len(rest) <= 6 and len("".join(rest)) <= 30


def drop_repeats(body: str, meta: PageMeta) -> str:
    """Drop what repeats the page's metadata at the edges of the body: a heading equal
    to the title, a short byline with the author's name, date stamps."""
    if not body:
        return body
    lines = body.split("\n")
    title = " ".join((meta.title or "").split()).casefold()
    author = " ".join((meta.author or "").split()).casefold()
    kept: list[str] = []
    last = len(lines) - 1
    for index, line in enumerate(lines):
        near_top = index < 4 and len(kept) < 3
        if not near_top and index < last - 1:  # only the edges repeat the metadata
            kept.append(line)
            continue
        text = _plain(line)
        if near_top and title and text == title:
            continue
        if near_top and author and author in text and len(text) < len(author) + 40:
            continue
        if (near_top or index >= last - 1) and line.startswith("<p") and _is_dateline(text):
            continue
        kept.append(line)
    return "\n".join(kept)
