"""Bytes → text, the way a careful browser would, but never into mojibake.

The clues, in order: a byte-order mark; the Content-Type charset; a ``<meta>``
or XML declaration in the first 4 KB; then, with no usable declaration, a
valid UTF-8 body, a body that reads as everyday Chinese, Japanese or Korean
(see ``_east_asian``), windows-1252 (the browsers' default) unless that reads
as mojibake, and charset-normalizer's guess. A declared charset that does not
decode strictly is distrusted and the next clue is tried. Labels follow the
WHATWG Encoding Standard, so GB2312/GBK decode as GB18030, Big5 as
Big5-HKSCS and ISO-8859-1/US-ASCII as windows-1252.

A declared *single-byte* charset is weak evidence: servers send
``charset=iso-8859-1`` by default, and every byte string decodes in it. So it
loses to a ``<meta>`` naming another charset that decodes, to a body that is
valid UTF-8, and to a body that reads as Chinese, Japanese or Korean; browsers
would show those pages as mojibake."""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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
# What a reading must show to count as Chinese, Japanese or Korean (_east_asian).
_MIN_SCRIPT_CHARS = 2
_MIN_SHARE = 0.75  # of everyday characters; real text: 0.95+ (0.8 in a short line with a name)
_MIN_KOREAN_SHARE = 0.9  # real Korean has next to no Hanja; Chinese read as Korean 20–50%
_MIN_KOREAN_GAPS = 0.1  # Korean spaces its words, a gap about every third syllable
_MIN_KANA_SHARE = 0.1  # of kana among kana and kanji: Japanese prose 0.3+, headlines 0.15+
# For a Japanese or Korean reading to outrank a Chinese one. A Chinese character
# lands in EUC-KR's Hangul rows a little over half the time, so a short Chinese
# line can read as Korean; all of 8 characters do about one time in a hundred.
_MIN_NATIVE_CHARS = 8
_SAMPLE_CHARS = 32_768  # scoring more of a page costs time and changes no decision
_HANZI_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
_KANA_CLASS = "\u3041-\u3096\u30a1-\u30fa\u30fc"  # full-width hiragana, katakana and ー
_HANGUL_CLASS = "\uac00-\ud7a3"  # precomposed syllables
# Letters a misreading produces besides those: half-width katakana, lone jamo, and
# Latin, Greek and Cyrillic letters from the charsets' symbol rows or GB18030's four bytes.
_OTHER_LETTER_CLASS = "\uff66-\uff9f\u3131-\u318e\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_HANZI = re.compile(f"[{_HANZI_CLASS}]")
_KANA = re.compile(f"[{_KANA_CLASS}]")
_LETTER = re.compile(f"[{_HANZI_CLASS}{_KANA_CLASS}{_HANGUL_CLASS}{_OTHER_LETTER_CLASS}]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
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

    for attempt in (_utf8, _east_asian, _plain_western, _guess):
        if (reading := attempt(content)) is not None:
            return reading
    return _least_damaged(content, (*declared, "utf-8"))


def _contradiction(content: bytes, codec: str, from_markup: str | None) -> tuple[str, str] | None:
    """A better reading than the declared single-byte ``codec``, if the body contradicts it.
    Only windows-1252 (what ISO-8859-1 and US-ASCII mean) is a server default worth
    second-guessing as Chinese, Japanese or Korean: koi8-r or windows-874 were chosen
    on purpose."""
    if from_markup and from_markup != codec and (markup := _strict(content, from_markup)):
        return markup, from_markup
    return _utf8(content) or (_east_asian(content) if codec == "cp1252" else None)


def _utf8(content: bytes) -> tuple[str, str] | None:
    text = _strict(content, "utf-8")
    return None if text is None else (text, "utf-8")


@dataclass(frozen=True, slots=True)
class _Language:
    """What a charset's reading must look like: ``script`` the characters the
    language is written in, ``everyday`` those of them in everyday use, and at
    least ``min_share`` of the reading's letters everyday ones."""

    script: re.Pattern[str]
    everyday: Callable[[], frozenset[str]]
    min_share: float
    native: bool = False  # written in kana or Hangul, which misread Chinese can't fake
    min_kana: float = 0.0  # share of the script's characters that are kana
    min_gaps: float = 0.0  # share of neighbouring characters that have a space between


def _east_asian(content: bytes) -> tuple[str, str] | None:
    """The reading of the body as everyday Chinese, Japanese or Korean, if one holds.

    Each double-byte charset is read as the language it is used for and scored
    by the share of the reading's letters that are that language's everyday
    characters (GB2312 level 1, Big5's common set, kana with JIS level-1 kanji,
    KS X 1001's Hangul); all the letters a misreading yields (rare characters,
    half-width kana, lone jamo, Latin or Greek from symbol rows) count against it.
    Most of a reading's characters must stand next to another, so a Western text
    whose accented letters pair into one character at a time ("AÇÃO" → "A敲O")
    fails. A Japanese reading needs kana, a Korean one spaces between words. A few
    broken bytes are tolerated.

    A Japanese or Korean reading that holds on enough characters wins over a
    Chinese one: GB2312 has the same kana rows as EUC-JP, and its level-1 rows
    are where EUC-KR keeps its Hangul, so Japanese and Korean bytes read as
    GB18030 come out as plausible Chinese; but Chinese read as EUC-JP has no
    kana, and read as EUC-KR has Hanja and no spaces between words. What stays
    ambiguous is a few characters with no kana or no space: "大規模緩和" or
    "대중교통" alone read as Chinese.
    """
    best: tuple[bool, float, str, str] | None = None
    for codec, language in _CANDIDATES:
        text = content.decode(codec, "replace")
        if text.count("\ufffd") > len(text) // 100 + 1:
            continue
        share, in_script = _plausibility(_sample(text), language)
        if share < language.min_share:
            continue
        key = (language.native and in_script >= _MIN_NATIVE_CHARS, share)
        if best is None or key > best[:2]:
            best = (*key, text, codec)
    return None if best is None else (best[2], best[3])


def _plausibility(text: str, language: _Language) -> tuple[float, int]:
    """The share of ``text``'s letters that are everyday characters of ``language``
    (0 if too few characters of its script, too few of them next to another, or,
    for Japanese, too few kana), and how many characters of the script it has.
    Counted with ``subn``: no Python loop over the characters."""
    in_script = _count(language.script, text)
    if in_script < _MIN_SCRIPT_CHARS:
        return 0.0, in_script
    in_words = len(text) - len(_runs(language.script).sub("", text))
    if in_words < in_script / 2:
        return 0.0, in_script
    if language.min_kana and _count(_KANA, text) < language.min_kana * in_script:
        return 0.0, in_script
    if language.min_gaps and _word_gaps(text, language.script) < language.min_gaps:
        return 0.0, in_script
    everyday = _count(_char_class(language.everyday()), text)
    return everyday / max(_count(_LETTER, text), 1), in_script


def _sample(text: str) -> str:
    """The part of a long page worth scoring: from its first non-ASCII character
    (past the scripts and styles of the head), enough to judge the language by."""
    first = _NON_ASCII.search(text)
    start = first.start() if first else len(text)
    return text[start : start + _SAMPLE_CHARS]


def _count(pattern: re.Pattern[str], text: str) -> int:
    return pattern.subn("", text)[1]


def _word_gaps(text: str, script: re.Pattern[str]) -> float:
    """Of the script's characters followed by another (or by a space and another),
    the share with the space: Korean puts one between words, about every third
    syllable; Chinese and Japanese put none."""
    gaps = _count(_between(script, " "), text)
    joins = _count(_between(script, ""), text)
    return gaps / (gaps + joins) if gaps + joins else 0.0


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


@functools.cache
def _common_japanese() -> frozenset[str]:
    """Hiragana, katakana and the 2,965 level-1 kanji of JIS X 0208 (rows 16–47)."""
    kana = _decode_region("euc_jp", (0xA4, 0xA5), range(0xA1, 0xFF))
    return kana | _decode_region("euc_jp", range(0xB0, 0xD0), range(0xA1, 0xFF))


@functools.cache
def _common_hangul() -> frozenset[str]:
    """The 2,350 Hangul syllables of KS X 1001, the ones EUC-KR can write."""
    return _decode_region("euc_kr", range(0xB0, 0xC9), range(0xA1, 0xFF))


@functools.cache
def _runs(script: re.Pattern[str]) -> re.Pattern[str]:
    """Two or more characters of ``script`` in a row."""
    return re.compile(f"(?:{script.pattern}){{2,}}")


@functools.cache
def _between(script: re.Pattern[str], gap: str) -> re.Pattern[str]:
    """A character of ``script`` with ``gap`` after it and another character of it next."""
    return re.compile(f"{script.pattern}{gap}(?={script.pattern})")


@functools.cache
def _char_class(chars: frozenset[str]) -> re.Pattern[str]:
    """A pattern matching any one of ``chars`` (so ``subn`` counts them at C speed)."""
    return re.compile("[" + "".join(sorted(re.escape(ch) for ch in chars)) + "]")


_JAPANESE = _Language(
    re.compile(f"[{_HANZI_CLASS}{_KANA_CLASS}]"),
    _common_japanese,
    _MIN_SHARE,
    native=True,
    min_kana=_MIN_KANA_SHARE,
)
_KOREAN = _Language(
    re.compile(f"[{_HANGUL_CLASS}]"),
    _common_hangul,
    _MIN_KOREAN_SHARE,
    native=True,
    min_gaps=_MIN_KOREAN_GAPS,
)
_CANDIDATES = (
    ("gb18030", _Language(_HANZI, _common_gb, _MIN_SHARE)),
    ("big5hkscs", _Language(_HANZI, _common_big5, _MIN_SHARE)),
    ("cp949", _KOREAN),
    ("euc_jp", _JAPANESE),
    ("cp932", _JAPANESE),
)


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
