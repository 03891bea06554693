"""The body's edges: what repeats the page's metadata at the top or bottom of the
extracted body is dropped from it. The headline (as a heading or a line equal to
any form of the title the page gives), a byline ("By Jane Doe", "Jane Doe, Reuters",
"记者 张三", a line that is only a link to an author's page) and date stamps; a byline
dropped gives the article its author when the metadata have none."""

from __future__ import annotations

import re
from dataclasses import replace

from scraper.extract.meta import BY, PageMeta, names_in, title_forms, title_key

__all__ = ["byline_name", "drop_repeats"]

_DATE_OR_TIME = re.compile(
    r"\b(?:19|20)\d\d\b|\b\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?|\d{4}年|\d{1,2}月\d{1,2}日", re.I
)
_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]+>")
_TOP_LINES = 4
_MAX_BYLINE = 120  # characters of text

_CJK_WRITER = (
    r"(?:本报|本報|本台)?(?:特约|特約)?"
    r"(?:记者|記者|作者|撰文|撰稿|编辑|編輯|责任编辑|責任編輯|责编|責編)\s*[:：/／|｜︱]?\s*"
)
_CJK_BY = re.compile(rf"^(?:[文图圖]\s*[/／|｜︱:：]\s*(?:{_CJK_WRITER})?|{_CJK_WRITER})")
_CJK_TAIL = re.compile(r"\s*(?:报道|報導|报导|摄影|攝影|摄|攝|整理|编译|編譯|撰文)\s*$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# "Jane Doe, Reuters": the wire or the writer's role after the comma.
_AGENCY_OR_ROLE = re.compile(
    r"^(?:reuters|ap|afp|associated press|bloomberg|xinhua|dpa|ansa|efe|upi|kyodo|"
    r"(?:[\w.'’-]+\s+){0,3}(?:correspondent|reporter|writer|editor|columnist|"
    r"contributor|staff))$",
    re.I,
)
_AUTHOR_LINK = re.compile(
    r'^<(p|h[2-6])>(?:[^<]{0,12}\s)?<a href="[^"]*/(?:author|authors|autor|autores|auteur|'
    r'auteurs|writers?|byline|journalist|journalists)/[^"]*"(?: title="[^"]*")?>([^<]+)</a>'
    r"[\s,.]*</\1>$",
    re.I,
)


def drop_repeats(body: str, meta: PageMeta) -> tuple[str, PageMeta]:
    """The body without what repeats the page's metadata at its edges (a heading or
    line equal to a form of the title, a byline, date stamps), and the metadata with
    the byline's name as author when they had none."""
    if not body:
        return body, meta
    lines = body.split("\n")
    headlines: frozenset[str] | None = None
    # A line longer than every title (a site's name around it aside) is no headline.
    headline_limit = max((len(t) for t in (meta.title, *meta.headlines) if t), default=-40) + 40
    author = " ".join((meta.author or "").split()).casefold()
    longest = max(headline_limit, _MAX_BYLINE, len(author) + 40)
    found: str | None = None
    kept: list[str] = []
    last = len(lines) - 1
    for index, line in enumerate(lines):
        near_top = index < _TOP_LINES and len(kept) < _TOP_LINES - 1
        # Only the edges repeat the metadata, and only in short lines (their markup
        # aside: a long paragraph is not read).
        if (not near_top and index < last - 1) or len(line) > 4 * longest:
            kept.append(line)
            continue
        text = _text(line)
        if len(text) > longest:
            kept.append(line)
            continue
        folded = text.casefold()
        if near_top and line.startswith(("<h", "<p")) and len(text) <= headline_limit:
            if headlines is None:
                headlines = _headline_keys(meta)
            if any(title_key(form) in headlines for form in title_forms(text, parts=False)):
                continue
        if near_top and author and author in folded and len(folded) < len(author) + 40:
            continue
        name = byline_name(line, text)
        if name is not None:
            found = found or name
            continue
        if line.startswith("<p") and _is_dateline(folded):
            continue
        kept.append(line)
    if found and not meta.author:
        meta = replace(meta, author=found)
    return "\n".join(kept), meta


def _text(line: str) -> str:
    return " ".join(_TAG.sub(" ", line).split())


def _headline_keys(meta: PageMeta) -> frozenset[str]:
    """The keys of every form of the title the page gives, with or without a site's
    name around a separator."""
    keys: set[str] = set()
    for title in (meta.title, *meta.headlines):
        if title:
            keys.update(title_key(form) for form in title_forms(title, parts=False))
    keys.discard("")
    return frozenset(keys)


def _is_dateline(text: str) -> bool:
    """A short line that is only a date or time stamp ("Updated 10:01 pm PST, …")."""
    if len(text) > 70 or not _DATE_OR_TIME.search(text):
        return False
    rest = _WORD.findall(_DATE_OR_TIME.sub(" ", text))
    return len(rest) <= 6 and len("".join(rest)) <= 30


def byline_name(line: str, text: str | None = None) -> str | None:
    """The author's name when a body line is a byline, else None. Bylines are short
    paragraphs, mostly names: "By 2030, …" or "By the end of the year …" are prose,
    and a heading is a byline only as a link to the author's page."""
    if not line.startswith(("<p>", "<h")):
        return None
    if text is None:
        text = _text(line)
    if not text or len(text) > _MAX_BYLINE:
        return None
    link = _AUTHOR_LINK.match(line)
    if link:
        return names_in(" ".join(link.group(2).split()))
    if not line.startswith("<p>"):
        return None
    by = BY.match(text)
    if by:
        return names_in(text[by.end() :])
    cjk = _CJK_BY.match(text)
    if cjk:
        name = _CJK_TAIL.sub("", text[cjk.end() :]).strip(" ，,、")
        if 2 <= len(name) <= 20 and _CJK.search(name) and not any(c.isdigit() for c in name):
            return name
        return None
    head, comma, tail = text.rpartition(",")
    if comma and _AGENCY_OR_ROLE.match(tail.strip()) and names_in(head) == head.strip():
        return text
    return None
