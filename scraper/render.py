"""``Article`` → archive file text and relative path (see ../shared/spec/output-format.md).

Pure: no I/O, no clock. Every string that goes into the front matter is first
*folded* (control characters, line breaks and the whitespace around them become
one space; surrounding whitespace trimmed), so that any title, author or tag
parses back, with any YAML 1.1 or 1.2 reader, to exactly ``fold_line(value)``.

An article without an author gets ``author: null`` (not ``""``): it reads back as
``None``/``nil``, so ``{% if page.author %}`` in a Jekyll theme stays false.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import yaml

from scraper.decide import article_date
from scraper.types import Article

DEFAULT_TEMPLATE = "_posts/{date}-{slug}.md"
SLUG_MAX_BYTES = 120
NAME_MAX_BYTES = 255
FIXED_KEYS = ("layout", "title", "date", "author", "from", "tags", "categories")

# C0, DEL, C1, lone surrogates, line/paragraph separators and the two
# non-characters YAML forbids anywhere in a stream.
_CONTROL = "\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff"
_FOLD = re.compile(rf"\s*[{_CONTROL}][\s{_CONTROL}]*")
# Indicators that make a plain scalar unsafe at the start, in some YAML reader:
# digits/sign/dot (numbers, .inf), ':' (a Ruby symbol in Psych), '=' and '<' (value
# and merge keys), '~' (null).
_PLAIN_BAD_START = set("-?:,[]{}#&*!|>'\"%@`=<~+.0123456789")
_PLAIN_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
_FLOW_BAD = set(",[]{}:#?")  # "?": libyaml reads "a?" in a flow sequence, PyYAML does not
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# An absolute URL of printable ASCII with no space: in a block mapping value every
# YAML reader gives it back as the string it is (a letter first, so no number, date
# or special word; no space, so no ": " or " #"; a ":" at the end would be a key).
_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[!-~]*(?<!:)")

_OS_FORBIDDEN = rf'<>:"/\\|?*{_CONTROL}'
_NAME_BAD = re.compile(rf"[{_OS_FORBIDDEN}]")
# Beyond what the OSes refuse: whitespace, and invisible or direction-changing
# characters that would make two names look alike.
# Besides what file systems refuse: characters that break the post's URL when Jekyll
# makes it from the file name (#, %, &, ?, quotes, brackets).
_URL_HOSTILE = r"#%&'`^\[\]{}"
_SLUG_BAD = re.compile(
    rf"[{_OS_FORBIDDEN}{_URL_HOSTILE}\s\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_WINDOWS_RESERVED = {
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
    *(f"{p}{n}" for p in ("COM", "LPT") for n in "123456789¹²³"),
}  # fmt: skip
_TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")
_TEMPLATE_FIELDS = {"date", "year", "month", "day", "slug", "id"}
_EXTRA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_LINK_TEXT_ESCAPE = re.compile(r"([\\\[\]<>`])")
_URL_ENCODE = re.compile(rf"[\s()<>{_CONTROL}]")


def fold_line(s: str) -> str:
    """Control characters and line breaks (with the whitespace around them) → one
    space, then surrounding whitespace trimmed. What every front-matter value reads
    back as."""
    return _FOLD.sub(" ", s).strip()


def yaml_quote(s: str) -> str:
    """``s`` folded, as a YAML double-quoted scalar."""
    body = fold_line(s).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + body.replace("\ufeff", "\\ufeff") + '"'


def yaml_plain_or_quoted(s: str, *, flow: bool = False) -> str:
    """``s`` folded, as a plain scalar when every YAML reader would give back the
    same string (in a block mapping value, or a flow sequence item with ``flow``),
    double-quoted otherwise."""
    text = fold_line(s)
    if _plain_is_safe(text, flow=flow):
        return text
    return yaml_quote(text)


# libyaml's safe loader where PyYAML has it: five times the pure-Python one's speed,
# and the parser Jekyll itself reads the front matter with (Ruby's Psych).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _plain_is_safe(text: str, *, flow: bool) -> bool:
    if not text or text[0] in _PLAIN_BAD_START or text.lower() in _PLAIN_WORDS:
        return False
    if text.replace(" ", "").isalnum():
        # Letters and digits between single spaces (a folded text has no others),
        # not starting with a digit nor one of the special words: every YAML reader
        # gives such a scalar back as the string it is, in a block or a flow. Most
        # tags, authors and many titles: no YAML parse for them (a property test
        # holds this shortcut to the parse).
        return True
    if not flow and _PLAIN_URL.fullmatch(text):  # every post's "from:": no parse
        return True
    if "\ufeff" in text or (flow and not _FLOW_BAD.isdisjoint(text)):
        return False
    document = f"k: [ {text} ]" if flow else f"k: {text}"
    try:
        loaded = yaml.load(document, Loader=_LOADER)
    except yaml.YAMLError:
        return False
    return bool(loaded == {"k": [text] if flow else text})


def flow_sequence(items: Iterable[str]) -> str:
    """``[ a, b ]`` with a space inside each bracket; ``[]`` when empty."""
    parts = [yaml_plain_or_quoted(item, flow=True) for item in items]
    return f"[ {', '.join(parts)} ]" if parts else "[]"


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: article times must carry a time zone")
    return dt.astimezone(UTC)


def format_date(dt: datetime) -> str:
    """UTC ISO-8601 with milliseconds and ``Z``: ``2021-11-22T04:48:56.819Z``."""
    u = _utc(dt)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond // 1000:03d}Z"
    )


def epoch_millis(dt: datetime) -> int:
    return (_utc(dt) - _EPOCH) // timedelta(milliseconds=1)


def markdown_link(title: str, url: str) -> str:
    """``[title](url)``: title folded with ``\\ [ ] < > ` `` backslash-escaped (``<``
    so no title becomes inline HTML), URL with spaces, controls, ``( ) < >``
    percent-encoded."""
    text = _LINK_TEXT_ESCAPE.sub(r"\\\1", fold_line(title))
    href = _URL_ENCODE.sub(
        lambda m: "".join(f"%{b:02X}" for b in m[0].encode("utf-8", "surrogatepass")), url
    )
    return f"[{text}]({href})"


def body_lines(body: str) -> list[str]:
    """The body's lines, with what would end the ``<div>`` HTML block in CommonMark
    removed: empty lines, and spaces or tabs at the start of a line. Lone
    surrogates (which no UTF-8 file can hold) become U+FFFD."""
    body = re.sub("[\ud800-\udfff]", "\ufffd", body)
    lines = (line.strip(" \t") for line in re.split(r"\r\n|\r|\n", body))
    return [line for line in lines if line]


def render(article: Article) -> str:
    """The whole archive file for ``article``."""
    published_or_seen = article.fetched if article.published is None else article.published
    lines = [
        "---",
        f"layout: {yaml_plain_or_quoted(article.layout)}",
        f"title: {yaml_quote(article.title)}",
        f"date: {format_date(article_date(article.published, article.fetched))}",
        f"author: {'null' if article.author is None else yaml_plain_or_quoted(article.author)}",
        f"from: {yaml_plain_or_quoted(article.url)}",
        f"tags: {flow_sequence(article.tags)}",
        f"categories: {flow_sequence(article.categories)}",
    ]
    seen = set(FIXED_KEYS)
    for key, value in article.extra:
        if not _EXTRA_KEY.match(key) or key in seen:
            raise ValueError(f"front-matter key {key!r} is invalid or repeated")
        seen.add(key)
        lines.append(f"{key}: {yaml_plain_or_quoted(value)}")
    lines += [
        "---",
        f"<!--{epoch_millis(published_or_seen)}-->",
        markdown_link(article.title, article.url),
        "------",
        "",
        "<div>",
        *body_lines(article.body),
        "</div>",
    ]
    return "\n".join(lines) + "\n"


def text_digest(text: str) -> str:
    """The SHA-256 of a file's text as written: a post edited since differs."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def front_matter_value(text: str, key: str) -> object:
    """The value of ``key`` in the front matter of a file ``render`` made (None when
    it has none): read from that one line, not by parsing the whole head."""
    lines = text.split("\n", len(FIXED_KEYS) + 32)
    prefix = f"{key}: "
    for line in lines[1:]:
        if line == "---":
            break
        if line.startswith(prefix):
            return yaml.safe_load(line[len(prefix) :])
    return None


def with_new_content(text: str, title: str, body: str) -> str | None:
    """The file ``text`` (one ``render`` made) with a new title and body, every other
    line as it was (``date:``, the time comment, ``from:``, author, tags, extra
    keys); None when ``text`` is not laid out as ``render`` lays files out."""
    lines = text.split("\n")
    try:
        end = lines.index("---", 1)
        div = lines.index("<div>", end)
        close = len(lines) - 1 - lines[::-1].index("</div>")
    except ValueError:
        return None
    titles = [i for i in range(1, end) if lines[i].startswith("title: ")]
    froms = [lines[i][len("from: ") :] for i in range(1, end) if lines[i].startswith("from: ")]
    if (
        lines[0] != "---"
        or len(titles) != 1
        or len(froms) != 1
        or div != end + 5
        or lines[end + 3 : end + 5] != ["------", ""]
        or close < div
        or lines[close + 1 :] != [""]
    ):
        return None
    url = yaml.safe_load(froms[0])
    if not isinstance(url, str):
        return None
    head = [*lines[:end]]
    head[titles[0]] = f"title: {yaml_quote(title)}"
    rest = [lines[end], lines[end + 1], markdown_link(title, url), "------", "", "<div>"]
    return "\n".join([*head, *rest, *body_lines(body), "</div>"]) + "\n"


def identity_suffix(article_id: str) -> str:
    """8 hex characters from the article's identity: stable across runs."""
    return hashlib.sha1(article_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _cut_utf8(s: str, max_bytes: int) -> str:
    data = s.encode("utf-8")
    return s if len(data) <= max_bytes else data[:max_bytes].decode("utf-8", "ignore")


def _tidy_slug(s: str) -> str:
    return re.sub(r"-{2,}", "-", s).strip("-. ")


def slugify(title: str, max_bytes: int = SLUG_MAX_BYTES) -> str:
    """A file-name part from a title, valid on Windows, macOS and Linux: NFC, path
    separators, controls, whitespace, ``<>:"/\\|?*`` and the URL breakers
    ``#%&'`^[]{}`` → ``-``, runs of ``-``
    collapsed, no leading/trailing ``-``, ``.`` or space, at most ``max_bytes`` UTF-8
    bytes. "" when nothing is left (or a Windows device name such as ``CON``)."""
    slug = _tidy_slug(_SLUG_BAD.sub("-", unicodedata.normalize("NFC", title)))
    slug = _tidy_slug(_cut_utf8(slug, max_bytes))
    return "" if _is_reserved(slug) else slug


def _is_reserved(name: str) -> bool:
    return name.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_RESERVED


def is_portable_name(name: str) -> bool:
    """Whether ``name`` is a file or folder name every common OS accepts, and not
    hidden: no forbidden or control characters, no leading ``.``, no trailing ``.``
    or space, not a Windows device name, at most 255 bytes."""
    return (
        bool(name)
        and not _NAME_BAD.search(name)
        and not name.startswith(".")
        and not name.endswith((".", " "))
        and not _is_reserved(name)
        and len(name.encode("utf-8")) <= NAME_MAX_BYTES
        and unicodedata.is_normalized("NFC", name)
    )


def check_relpath(relpath: str) -> str:
    """``relpath`` if it is relative, without ``.``/``..``, and each part a portable
    name; ValueError otherwise."""
    if relpath.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relpath):
        raise ValueError(f"archive path {relpath!r} must be relative")
    bad = [part for part in relpath.split("/") if not is_portable_name(part)]
    if bad:
        raise ValueError(f"archive path {relpath!r} has an invalid part {bad[0]!r}")
    return relpath


def relpath_for(article: Article, *, template: str | None = None, suffix: str | None = None) -> str:
    """The file's path relative to the archive folder. ``template`` (a source's
    ``path``) may use ``{date}`` (YYYY-MM-DD), ``{year}``, ``{month}``, ``{day}``,
    ``{slug}`` and ``{id}``; ``suffix`` goes before the extension as ``-<suffix>``
    (for a clash). ValueError if the template or the result is unusable."""
    when = _utc(article_date(article.published, article.fetched))
    fields = {
        "date": f"{when.year:04d}-{when.month:02d}-{when.day:02d}",
        "year": f"{when.year:04d}",
        "month": f"{when.month:02d}",
        "day": f"{when.day:02d}",
        "slug": slugify(article.title) or identity_suffix(article.id),
        "id": identity_suffix(article.id),
    }
    pattern = DEFAULT_TEMPLATE if template is None else template

    def field(m: re.Match[str]) -> str:
        if m[1] not in _TEMPLATE_FIELDS:
            raise ValueError(f"unknown field {{{m[1]}}} in path template {pattern!r}")
        return fields[m[1]]

    if set("{}") & set(_TEMPLATE_FIELD.sub("", pattern)):
        raise ValueError(f"unbalanced braces in path template {pattern!r}")
    relpath = _TEMPLATE_FIELD.sub(field, pattern)
    if suffix:
        head, sep, name = relpath.rpartition("/")
        stem, dot, ext = name.rpartition(".")
        name = f"{stem}-{suffix}.{ext}" if dot and stem else f"{name}-{suffix}"
        relpath = head + sep + name
    return check_relpath(relpath)
