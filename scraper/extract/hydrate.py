"""Articles that pages ship as JSON in a ``<script>`` rather than as HTML.

Client-rendered sites embed their data as ``window.X = {…}`` or as
``window.X = JSON.parse("…")``: a JavaScript string literal whose value is JSON, so
it is decoded twice. A rule's ``HydrationSource`` says where the value starts, how
it is written, the path to the article and the article's field names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from scraper.extract.meta import parse_datetime

if TYPE_CHECKING:
    from scraper.extract.rules import HydrationSource

__all__ = ["Hydrated", "decode_js_string", "find_hydrated", "parse_path", "resolve"]

PathKey = str | int

_PATH_PART = re.compile(
    r"""\s*(?:(\.)?\s*([A-Za-z_$][\w$-]*)|\[\s*"((?:[^"\\]|\\.)*)"\s*\]"""
    r"""|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*(-?\d+)\s*\])\s*"""
)
_JS_STRING = {
    '"': re.compile(r'"((?:[^"\\\n]|\\.)*)"', re.S),
    "'": re.compile(r"'((?:[^'\\\n]|\\.)*)'", re.S),
}
_JS_ESCAPE = re.compile(
    r"\\(u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{1,3}|\r\n|.)", re.S
)
_SIMPLE_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\n": "",
    "\r": "",
    "\r\n": "",
    "\u2028": "",
    "\u2029": "",
}
_MS_THRESHOLD = 100_000_000_000  # larger epoch numbers are milliseconds (year 5138+)


@dataclass(frozen=True, slots=True)
class Hydrated:
    title: str | None = None
    published: datetime | None = None
    body: str | None = None
    tags: tuple[str, ...] = ()
    images: tuple[tuple[str, str], ...] = ()  # (url, caption)


def parse_path(path: str) -> tuple[PathKey, ...]:
    """``loaderData["0-0"].context.items[0]`` → ("loaderData", "0-0", "context", "items", 0)."""
    keys: list[PathKey] = []
    pos, path = 0, path.strip()
    while pos < len(path):
        m = _PATH_PART.match(path, pos)
        if not m or m.end() == pos or (m.group(2) and pos and not m.group(1)):
            raise ValueError(f"cannot read the path {path!r} at {path[pos:]!r}")
        _, name, dq, sq, index = m.groups()
        if index is not None:
            keys.append(int(index))
        else:
            keys.append(
                name if name is not None else decode_js_string(dq if dq is not None else sq)
            )
        pos = m.end()
    return tuple(keys)


def resolve(value: Any, path: str) -> Any:
    """The value at ``path`` inside ``value``; None when any step is missing."""
    for key in parse_path(path):
        if isinstance(key, int) and isinstance(value, list) and -len(value) <= key < len(value):
            value = value[key]
        elif isinstance(value, dict) and str(key) in value:
            value = value[str(key)]
        else:
            return None
    return value


def decode_js_string(body: str) -> str:
    """The value of a JS string literal's inside (without its quotes)."""

    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc[0] == "u" and len(esc) > 1:  # a bare \u (no hex after it) is just "u"
            return chr(int(esc[2:-1] if esc[1] == "{" else esc[1:], 16))
        if esc[0] == "x" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        if esc[0] in "01234567":
            return chr(int(esc, 8))
        return _SIMPLE_ESCAPES.get(esc, esc)

    text = _JS_ESCAPE.sub(one, body)
    # \ud83d\ude00 arrives as two halves of a surrogate pair: join them.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def read_value(text: str, start: int, encoding: str) -> Any:
    """The JSON value written at ``text[start:]``; ValueError when there is none."""
    while start < len(text) and text[start].isspace():
        start += 1
    if encoding == "json":
        return json.JSONDecoder(strict=False).raw_decode(text, start)[0]
    quote = text[start : start + 1]
    if quote not in _JS_STRING:
        raise ValueError("no string literal")
    m = _JS_STRING[quote].match(text, start)
    if not m:
        raise ValueError("unterminated string literal")
    return json.loads(decode_js_string(m.group(1)), strict=False)


def find_hydrated(
    sources: Sequence[HydrationSource], scripts: Iterable[str], tz: tzinfo
) -> Hydrated | None:
    """The first source that finds an article in one of the scripts' texts."""
    texts = list(scripts)
    for source in sources:
        pattern = re.compile(source.after)
        for text in texts:
            m = pattern.search(text)
            if not m:
                continue
            try:
                data = read_value(text, m.end(), source.encoding)
            except (ValueError, RecursionError):
                continue
            article = resolve(data, source.path) if source.path else data
            if isinstance(article, dict):
                return _fields(source, article, tz)
    return None


def _fields(source: HydrationSource, article: dict[str, Any], tz: tzinfo) -> Hydrated:
    def get(path: str | None) -> Any:
        return resolve(article, path) if path else None

    title, body = get(source.title), get(source.body)
    images = []
    for item in get(source.images) or ():
        url = resolve(item, source.image_url) if isinstance(item, dict) else item
        cap = resolve(item, source.image_caption) if isinstance(item, dict) else None
        if isinstance(url, str) and url.strip():
            images.append((url.strip(), cap.strip() if isinstance(cap, str) else ""))
    return Hydrated(
        title=title.strip() or None if isinstance(title, str) else None,
        published=_time(get(source.published), tz),
        body=body if isinstance(body, str) and body.strip() else None,
        tags=_names(get(source.tags)),
        images=tuple(images),
    )


def _time(value: Any, tz: tzinfo) -> datetime | None:
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", value):
        value = float(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        seconds = value / 1000 if value >= _MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        return parse_datetime(value.strip(), tz)
    return None


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    names = []
    for item in value:
        name = item
        if isinstance(item, dict):
            name = next(
                (item[k] for k in ("name", "title", "label") if isinstance(item.get(k), str)), None
            )
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    return tuple(dict.fromkeys(names))
