"""Feed bytes made safe and predictable before any XML parser sees them.

Two jobs:

* Encoding. The text is decoded here and handed on as UTF-8 with a matching
  declaration. GB2312 and GBK are read as GB18030 (their superset: GBK feeds
  often declare gb2312 and use characters outside it), Big5 as Big5-HKSCS,
  EUC-KR as Windows-949, Shift_JIS as Windows-31J and Latin-1 as Windows-1252,
  as browsers do. A few broken byte sequences in otherwise good text are
  replaced rather than letting feedparser re-read the whole feed as
  Windows-1252 (which turns Chinese into mojibake).
* Entities. A DOCTYPE that declares entities is removed. feedparser 6 already
  turns off external entities in its SAX parser and drops most declarations, but
  its filter is line-based: a one-line internal subset reaches expat, and a
  one-line "billion laughs" costs seconds and tens of MB before expat's own
  amplification guard (expat ≥ 2.4 only) stops it. Real feeds do not need
  entity declarations, so they go, and the removal is reported as a problem.

Removed text is replaced by as many newlines as it held, so line numbers in
the parser's error messages still point into the original document.

And one bound: items past the first ``MAX_ENTRIES`` are cut out before parsing
(feedparser spends about half a millisecond on each, and they would be dropped
anyway), keeping what follows the last item, so the document still closes.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from scraper.sources.common import MAX_ENTRIES

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_UNMARKED = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)
# Labels seen on Chinese sites that Python's codec registry does not know.
_ALIASES = {
    "x-gbk": "gbk",
    "gb_2312-80": "gb2312",
    "gb_2312": "gb2312",
    "x-gb2312": "gb2312",
    "csgb2312": "gb2312",
    "x-euc-cn": "gb2312",
    "windows-936": "gbk",
    "x-big5": "big5",
}
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
}
_UNSUITABLE = frozenset(("utf-7", "unicode-escape", "raw-unicode-escape", "punycode", "idna"))
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_XML_DECL = re.compile(r"^<\?xml[^>]*>")
_UTF8_DECL = '<?xml version="1.0" encoding="utf-8"?>'
_DOCTYPE_MARK = re.compile(r"""[\[\]>"']|<!--""")
_ENTITY_DECL = re.compile(r"<!ENTITY", re.I)
_ITEM_END = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>")
# Accept a damaged text if it is mostly good: at least this many good
# non-ASCII characters for each replaced sequence.
_GOOD_PER_BAD = 10


@dataclass(frozen=True, slots=True)
class PreparedXml:
    data: bytes
    problems: tuple[str, ...] = ()


def prepare_xml(
    content: bytes, max_items: int = MAX_ENTRIES, *, encoding: str | None = None
) -> PreparedXml:
    """UTF-8 bytes with a UTF-8 declaration, no entity declarations, and at most
    ``max_items`` items (or entries). ``encoding`` (what the HTTP charset or
    detection said) reads a document that has neither a BOM nor a declaration."""
    problems: list[str] = []
    decoded = _decode(content, problems, encoding)
    text = _strip_entity_doctypes(_utf8_declaration(decoded), problems)
    return PreparedXml(_first_items(text, max_items).encode("utf-8"), tuple(problems))


def _first_items(text: str, max_items: int) -> str:
    """``text`` without the items between the ``max_items``-th and the last."""
    if text.count("</") < max_items:
        return text
    cut = last = None
    for n, m in enumerate(_ITEM_END.finditer(text), start=1):
        if n == max_items:
            cut = m.end()
        last = m.end()
    if cut is None or last is None or last == cut:
        return text
    return text[:cut] + text[last:]


def _decode(content: bytes, problems: list[str], undeclared: str | None = None) -> str:
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return _decode_as(content[len(bom) :], codec, codec, problems)
    for prefix, codec in _UNMARKED:
        if content.startswith(prefix):
            return _decode_as(content, codec, codec, problems)
    m = _DECLARED.match(content[:1024])
    declared = m.group(1).decode("ascii").lower() if m else (undeclared or "utf-8").lower()
    known = _codec(declared)
    if known is None:
        problems.append(f"unknown encoding {declared}, read as utf-8")
    codec = known or "utf-8"
    return _decode_as(content, _SUPERSETS.get(codec, codec), declared, problems)


def _codec(label: str) -> str | None:
    """Python's name for an encoding label; None for unknown or unsuitable ones."""
    try:
        info = codecs.lookup(_ALIASES.get(label, label))
    except LookupError:
        return None
    # bytes.decode refuses transforms (hex, rot13); escapes and utf-7 are not feeds.
    if not getattr(info, "_is_text_encoding", True) or info.name in _UNSUITABLE:
        return None
    return info.name


def _decode_as(data: bytes, codec: str, declared: str, problems: list[str]) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        pass
    text = data.decode(codec, "replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad
    if good >= _GOOD_PER_BAD * bad:
        problems.append(f"{bad} invalid byte sequence(s) for {codec} replaced")
        return text
    for other in ("utf-8", "cp1252"):
        if other == codec:
            continue
        try:
            text = data.decode(other)
        except UnicodeDecodeError:
            continue
        problems.append(f"declared as {declared} but read as {other}")
        return text
    problems.append(f"{bad} invalid byte sequence(s) for {codec} replaced")
    return text


def _utf8_declaration(text: str) -> str:
    """``text`` starting with a UTF-8 declaration, on the lines the old one held."""
    body = text.lstrip("\ufeff \t\r\n")
    skipped = text[: len(text) - len(body)]
    m = _XML_DECL.match(body)
    if m:
        skipped += m.group(0)
        body = body[m.end() :]
    return _UTF8_DECL + "\n" * skipped.count("\n") + body


def _strip_entity_doctypes(text: str, problems: list[str]) -> str:
    """Walks the prolog (comments, processing instructions, DOCTYPEs) up to the root."""
    pos = 0
    while (lt := text.find("<", pos)) >= 0:
        if text.startswith("<!--", lt):
            pos = _after(text, "-->", lt + 4)
        elif text.startswith("<?", lt):
            pos = _after(text, "?>", lt + 2)
        elif text[lt : lt + 9].upper() == "<!DOCTYPE":
            end = _doctype_end(text, lt + 9)
            declaration = text[lt:end]
            if _ENTITY_DECL.search(declaration):
                text = text[:lt] + "\n" * declaration.count("\n") + text[end:]
                problems.append("removed a DOCTYPE that declares entities (not expanded)")
                pos = lt
            else:
                pos = end
        else:
            break  # the root element (or junk the parser will report)
        if pos < 0:
            break
    return text


def _after(text: str, mark: str, start: int) -> int:
    found = text.find(mark, start)
    return found + len(mark) if found >= 0 else -1


def _doctype_end(text: str, start: int) -> int:
    """Index just past the ``>`` closing a DOCTYPE, skipping its internal subset."""
    depth = 0
    pos = start
    while m := _DOCTYPE_MARK.search(text, pos):
        mark = m.group(0)
        if mark in ('"', "'", "<!--"):
            pos = _after(text, "-->" if mark == "<!--" else mark, m.end())
            if pos < 0:
                break
            continue
        pos = m.end()
        if mark == "[":
            depth += 1
        elif mark == "]":
            depth = max(depth - 1, 0)
        elif depth == 0:
            return pos
    return len(text)
