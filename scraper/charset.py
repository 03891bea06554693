"""Bytes → text, the way a careful browser would, but never into mojibake.

The clues, in order: a byte-order mark; the Content-Type charset; a ``<meta>``
or XML declaration in the first 4 KB; then, with no usable declaration, a
valid UTF-8 body, a body that reads as everyday Chinese in GB18030 or
Big5-HKSCS, windows-1252 (the browsers' default) unless that reads as
mojibake, and charset-normalizer's guess. A declared charset that does not
decode strictly is distrusted and the next clue is tried. Labels follow the
WHATWG Encoding Standard, so GB2312/GBK decode as GB18030, Big5 as
Big5-HKSCS and ISO-8859-1/US-ASCII as windows-1252.

A declared *single-byte* charset is weak evidence: servers send
``charset=iso-8859-1`` by default, and every byte string decodes in it. So it
loses to a ``<meta>`` naming another charset that decodes, to a body that is
valid UTF-8, and to a body that reads as Chinese; browsers would show those
pages as mojibake."""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Iterable

# WHATWG labels Python does not know, mapped to a label it does.
_LABELS = {
    "x-gbk": "gbk",
    "windows-936": "gbk",
    "iso-ir-58": "gb2312",
    "csgb2312": "gb2312",
    "csiso58gb231280": "gb2312",
    "x-x-big5": "big5",
    "cn-big5": "big5",
    "csbig5": "big5",
    "x-sjis": "shift_jis",
    "csshiftjis": "shift_jis",
    "windows-31j": "cp932",
    "windows-949": "cp949",
    "csisolatin1": "latin-1",
    "x-cp1252": "cp1252",
    "windows-874": "cp874",
    "dos-874": "cp874",
    "iso-8859-8-i": "iso8859-8",
    "x-euc-jp": "euc_jp",
    "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
}
# Python's codec names mapped to the superset browsers use for them.
_SUPERSETS = {
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "big5": "big5hkscs",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "utf-16": "utf-16-le",
}
# Codecs a page must not be able to choose (UTF-7 is an XSS vector; the rest aren't charsets).
_REFUSED = {"utf-7", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SNIFF_BYTES = 4096
_COMMENT = re.compile(rb"<!--.*?(?:-->|$)", re.S)
_META = re.compile(rb"<meta\b[^>]*?\bcharset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_XML_DECL = re.compile(rb"^\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([\w.:-]+)", re.I)
_CHARSET_PARAM = re.compile(r";\s*charset\s*=\s*[\"']?\s*([^\s;\"']+)", re.I)
_MAX_CHAOS = 10.0  # charset-normalizer's mess percentage above which we don't trust a guess
_MIN_HANZI = 2
_MIN_COMMON_SHARE = 0.75  # real Chinese: 0.98+ (0.8 in a short line with a name)
_HANZI_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
_HANZI = re.compile(f"[{_HANZI_CLASS}]")
_HANZI_WORD = re.compile(f"[{_HANZI_CLASS}]{{2,}}")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{3,}")
_MOJIBAKE_RUNS = 0.5  # share of non-ASCII characters in runs of 3+: multi-byte text misread


def codec_for(label: str | None) -> str | None:
    """The Python codec for a charset label, as browsers read it; None if unusable."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _LABELS.get(label, label)
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return _SUPERSETS.get(info.name, info.name)


def header_charset(content_type_header: str | None) -> str | None:
    """The raw ``charset`` parameter of a Content-Type header."""
    match = _CHARSET_PARAM.search(content_type_header or "")
    return match.group(1) if match else None


def declared_charset(content: bytes) -> str | None:
    """The charset a ``<meta>`` tag or XML declaration names in the first 4 KB."""
    head = content[:_SNIFF_BYTES]
    match = _XML_DECL.match(head) or _META.search(_COMMENT.sub(b"", head))
    return match.group(1).decode("ascii") if match else None


def decode_body(content: bytes, content_type_header: str | None) -> tuple[str, str]:
    """Decode a body; returns the text and the Python codec that decoded it.

    ``content.decode(codec, "replace")`` gives back the same text.
    """
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return content.decode(codec, "replace"), codec

    from_header = codec_for(header_charset(content_type_header))
    from_markup = codec_for(declared_charset(content))
    if from_markup in ("utf-16-le", "utf-16-be", "utf-32"):
        from_markup = "utf-8"  # the <meta> was readable as ASCII, so it can't be UTF-16
    declared = tuple(dict.fromkeys(c for c in (from_header, from_markup) if c))

    for codec in declared:
        text = _strict(content, codec)
        if text is None:
            continue
        if _is_single_byte(codec) and not content.isascii():
            better = _contradiction(content, codec, from_markup)
            if better is not None:
                return better
        return text, codec

    for attempt in (_utf8, _chinese, _plain_western, _guess):
        if (reading := attempt(content)) is not None:
            return reading
    return _least_damaged(content, (*declared, "utf-8"))


def _contradiction(content: bytes, codec: str, from_markup: str | None) -> tuple[str, str] | None:
    """A better reading than the declared single-byte ``codec``, if the body contradicts it.
    Only windows-1252 (what ISO-8859-1 and US-ASCII mean) is a server default worth
    second-guessing as Chinese: koi8-r or windows-874 were chosen on purpose."""
    if from_markup and from_markup != codec and (markup := _strict(content, from_markup)):
        return markup, from_markup
    return _utf8(content) or (_chinese(content) if codec == "cp1252" else None)


def _utf8(content: bytes) -> tuple[str, str] | None:
    text = _strict(content, "utf-8")
    return None if text is None else (text, "utf-8")


def _chinese(content: bytes) -> tuple[str, str] | None:
    """GB18030 or Big5-HKSCS, if one of them reads the body as everyday Chinese.

    Real Chinese text is almost all common characters (GB2312 level 1, Big5's
    common set), most of them next to another; other text read as Chinese, or
    Chinese read in the wrong one of the two, gives rare characters, or lone
    ones between Latin letters ("AÇÃO" → "A敲O"). A few broken bytes are tolerated.
    """
    best: tuple[float, str, str] | None = None
    for codec, common in (("gb18030", _common_gb()), ("big5hkscs", _common_big5())):
        text = content.decode(codec, "replace")
        if text.count("\ufffd") > len(text) // 100 + 1:
            continue
        hanzi = _HANZI.findall(text)
        if len(hanzi) < _MIN_HANZI:
            continue
        share = sum(ch in common for ch in hanzi) / len(hanzi)
        in_words = sum(len(word) for word in _HANZI_WORD.findall(text)) / len(hanzi)
        if share >= _MIN_COMMON_SHARE and in_words >= 0.5 and (best is None or share > best[0]):
            best = (share, text, codec)
    return None if best is None else (best[1], best[2])


def _plain_western(content: bytes) -> tuple[str, str] | None:
    """windows-1252, the browsers' default, unless the reading looks like mojibake.
    (Before charset-normalizer, which guesses Baltic or DOS code pages for short
    French or English.)"""
    text = _strict(content, "cp1252")
    if text is None or _looks_like_mojibake(text):
        return None
    return text, "cp1252"


def _guess(content: bytes) -> tuple[str, str] | None:
    """charset-normalizer's best reading, if it decodes strictly and isn't a mess."""
    import charset_normalizer  # noqa: PLC0415  (rarely needed; slow to import)

    best = charset_normalizer.from_bytes(content).best()
    if best is None or best.percent_chaos > _MAX_CHAOS:
        return None
    codec = codec_for(best.encoding)
    if codec is None or (text := _strict(content, codec)) is None:
        return None
    return text, codec


def _least_damaged(content: bytes, candidates: tuple[str, ...]) -> tuple[str, str]:
    """The candidate that needs the fewest replacement characters; ties go to the earlier."""
    best: tuple[int, str, str] | None = None
    for codec in dict.fromkeys(candidates):
        text = content.decode(codec, "replace")
        damage = text.count("\ufffd")
        if best is None or damage < best[0]:
            best = (damage, text, codec)
    assert best is not None  # "utf-8" is always a candidate
    return best[1], best[2]


def _strict(content: bytes, codec: str) -> str | None:
    try:
        return content.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _is_single_byte(codec: str) -> bool:
    return codec.startswith(("cp12", "iso8859", "koi8", "mac-", "cp874", "cp437", "cp85", "cp86"))


def _looks_like_mojibake(text: str) -> bool:
    """Multi-byte text read as a single-byte charset comes out as long runs of
    accented letters and symbols ("ÖÐ¹úÐÂÎÅ", "Ïðèâåò"); Western text has them
    one or two at a time ("população")."""
    non_ascii = sum(ord(ch) >= 0x80 for ch in text)
    in_long_runs = sum(len(run) for run in _NON_ASCII_RUN.findall(text))
    return non_ascii > 0 and in_long_runs / non_ascii >= _MOJIBAKE_RUNS


@functools.cache
def _common_gb() -> frozenset[str]:
    """The 3,755 level-1 characters of GB2312."""
    return _decode_region("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF))


@functools.cache
def _common_big5() -> frozenset[str]:
    """The 5,401 common characters of Big5 (0xA440–0xC67E)."""
    region = _decode_region("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])
    return frozenset(ch for ch in region if _HANZI.fullmatch(ch))


def _decode_region(codec: str, leads: Iterable[int], trails: Iterable[int]) -> frozenset[str]:
    chars = set()
    trail_bytes = list(trails)
    for lead in leads:
        for trail in trail_bytes:
            try:
                chars.add(bytes((lead, trail)).decode(codec))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)
