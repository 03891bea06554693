"""Page metadata: title, times, author, image, language, keywords, description.

Order of trust: JSON-LD (an ``…Article`` / ``…Posting`` object), then Open Graph and
other ``<meta>`` tags, then a ``<time datetime>`` in the page, then ``<title>`` and
``<html lang>``. JSON-LD blocks are parsed one by one and leniently, since real pages
put raw control characters and trailing commas in them.

The title is the one the page's sources agree on, as a reader sees it: JSON-LD, the
``<meta>`` titles, ``<title>`` (with or without a site's name around a separator) and
the ``<h1>`` each vote, and the headline most of them give wins; the order of trust
only decides when none agrees with another. A site's own name is never the title.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.dates import parse_datetime
from scraper.extract.media import absolute_url

__all__ = [
    "BY",
    "PageMeta",
    "json_ld_objects",
    "ld_article",
    "names_in",
    "page_metadata",
    "parse_datetime",
    "title_forms",
    "title_key",
]


@dataclass(frozen=True, slots=True)
class PageMeta:
    title: str | None = None
    published: datetime | None = None  # timezone-aware
    modified: datetime | None = None
    author: str | None = None
    image: str | None = None  # absolute URL
    language: str | None = None
    keywords: tuple[str, ...] = ()
    description: str | None = None
    # The other forms of the title the page gives (JSON-LD, <meta>, <title>, <h1>), to
    # recognise the headline repeated at the top of the body.
    headlines: tuple[str, ...] = ()


_META_KEYS: dict[str, tuple[str, ...]] = {
    "title": (
        "dc:title", "dc.title", "dcterms.title", "og:title", "twitter:title", "headline",
        "sailthru.title", "title", "parsely-title",
    ),
    "published": (
        "article:published_time", "og:article:published_time", "og:published_time",
        "datepublished", "published_time", "article.published", "pubdate", "publishdate",
        "publish-date", "publish_date", "date", "dc.date", "dc.date.issued", "dcterms.created",
        "dcterms.issued", "sailthru.date", "parsely-pub-date", "article_date_original",
        "originalpublicationdate", "og:regdate", "datecreated", "release_date",
    ),
    "modified": (
        "article:modified_time", "og:updated_time", "datemodified", "dcterms.modified",
        "last-modified", "lastmod",
    ),
    "author": (
        "dc:creator", "author", "article:author", "dc.creator", "dcterms.creator", "byl",
        "parsely-author", "sailthru.author", "article:author_name", "og:article:author",
        "twitter:creator",
    ),
    "image": ("og:image", "og:image:url", "og:image:secure_url", "twitter:image",
              "twitter:image:src", "image", "thumbnailurl"),
    "keywords": ("keywords", "news_keywords", "article:tag", "sailthru.tags", "parsely-tags"),
    "description": ("og:description", "description", "twitter:description", "dc.description"),
    "language": ("content-language", "dc.language", "og:locale", "language"),
}  # fmt: skip

_LD_JSON = 'script[type*="ld+json" i]'
_TIMES = "time[itemprop=datePublished], time[pubdate], time[datetime]"
_SOURCES = f"meta[content], {_LD_JSON}, title, {_TIMES}"
_SPACE = re.compile(r"\s+")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—»·]\s+|\s*\|\s*|_+|\s+::\s+")
_SEPARATOR_CHARS = frozenset("|-–—»·_:")
_NOT_ALNUM = re.compile(r"[\W_]+")
_TITLE_WORD = re.compile(r"[^\W_]+")
_ASCII_NOT_ALNUM = {c: None for c in range(128) if not chr(c).isalnum()}  # the common case, faster
_GENERIC_HOST_LABELS = frozenset({"www", "com", "co", "org", "net", "gov", "edu", "ac", "news"})
_SITE_TYPES = ("WebSite", "Organization", "NewsMediaOrganization")
_MAX_HEADINGS = 10

BY = re.compile(  # a byline's "By"
    r"^(?:(?:written|posted|reported|story|text|words|report|reporting)\s+)?"
    r"(?:by|par|por|von|di)\s*[:：]?\s+(?=\S)",
    re.I,
)
# Where the name in a byline ends: a separator, a date, a time, "updated".
_NAME_END = re.compile(
    r"\s[|•·—–-]\s|[|•·—–]|\d|\b(?:updated|published|posted|last)\b|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d|"
    r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b",
    re.I,
)
_NOT_IN_NAMES = re.compile(r"[:?!;\"“”()\[\]]")
_CONNECTORS = frozenset({
    "and", "&", "de", "del", "della", "van", "von", "der", "den", "da", "di", "du", "la",
    "le", "y", "e", "et", "und", "bin", "ibn", "al", "el", "st.", "with", "avec", "con",
})  # fmt: skip
_NOT_NAMES = frozenset({"author", "authors", "autor", "auteur", "staff", "admin", "editor"})
_MAX_NAME = 70
_KEYWORD_SPLIT = re.compile(r"[,，、;；]")
_JSON_HEAD = re.compile(r"\s*(?:<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)")
_JSON_TAIL = re.compile(r"(?:-->|//\s*\]\]>|\]\]>)\s*$")


def page_metadata(
    tree: LexborHTMLParser,
    url: str,
    *,
    default_tz: tzinfo = UTC,
    body_sources: Sequence[LexborNode] | None = None,
) -> PageMeta:
    """Everything the page says about its article, each field from its most
    trustworthy source. ``body_sources``: the body's meta, script, time and title
    elements in page order, when the caller has walked the body already (the
    selector engine then only searches the head)."""
    if body_sources is None:
        # One pass of the selector engine finds every source.
        found = tree.css(_SOURCES)
    else:
        head = tree.head
        found = head.css(_SOURCES) if head is not None else []
        found.extend(node for node in body_sources if _is_source(node))
    scripts: list[LexborNode] = []
    metas: dict[str, list[str]] = {}
    times: list[LexborNode | None] = [None, None, None]
    title_node: LexborNode | None = None
    for node in found:
        tag = node.tag
        if tag == "meta":
            _add_meta(node.attributes, metas)
        elif tag == "script":
            scripts.append(node)
        elif tag == "title":
            title_node = title_node or node
        else:
            attrs = node.attributes
            rank = 0 if attrs.get("itemprop") == "datePublished" else 1 if "pubdate" in attrs else 2
            times[rank] = times[rank] or node
    objects = _objects_of(scripts)
    ld = ld_article(objects)

    def meta(field: str) -> str | None:
        for key in _META_KEYS[field]:
            for raw in metas.get(key, ()):
                value = _clean(raw)
                if field == "author":
                    if value.startswith(("http:", "https:", "@", "/")):
                        continue
                    value = _without_by(value)
                if value:
                    return value
        return None

    meta_titles = [
        value for key in _META_KEYS["title"] if (value := _first_meta(metas.get(key, ())))
    ]
    ld_titles = [t for t in (_text(ld.get("headline")), _text(ld.get("name"))) if t]
    sites = _site_names(objects, ld, metas, url)
    tag_title = _clean(title_node.text()) if title_node else ""
    title, headlines = _choose_title(
        ld_titles, meta_titles, tag_title, tree=tree, url=url, sites=sites
    )
    published = _first_date(
        (_text(ld.get("datePublished")), _text(ld.get("dateCreated")), meta("published"),
         _time_of(times)),
        default_tz,
    )  # fmt: skip
    modified = _first_date((_text(ld.get("dateModified")), meta("modified")), default_tz)
    author = _names(ld.get("author")) or meta("author")
    if author is None and tree.body is not None:
        author = _byline_in_page(tree.body)
    image = _image(ld.get("image")) or _image(ld.get("thumbnailUrl")) or meta("image")
    keywords = _keywords(ld.get("keywords"))
    if not keywords:
        for key in _META_KEYS["keywords"]:
            keywords = _keywords([_clean(value) for value in metas.get(key, ())])
            if keywords:
                break
    language = _language(ld.get("inLanguage")) or _html_lang(tree) or meta("language")
    if language:
        language = language.replace("_", "-")
    return PageMeta(
        title=title,
        published=published,
        modified=modified,
        author=author,
        image=absolute_url(image, url) if image else None,
        language=language,
        keywords=keywords,
        description=_text(ld.get("description")) or meta("description"),
        headlines=headlines,
    )


def _is_source(node: LexborNode) -> bool:
    """Whether the element matches ``_SOURCES``, read in Python."""
    tag = node.tag
    if tag == "title":
        return True
    attrs = node.attributes
    if tag == "meta":
        return "content" in attrs
    if tag == "script":
        return "ld+json" in (attrs.get("type") or "").lower()
    if tag == "time":
        return attrs.get("itemprop") == "datePublished" or "pubdate" in attrs or "datetime" in attrs
    return False


def json_ld_objects(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, ``@graph`` members flattened, in page order.
    Each ``<script>`` is parsed on its own; one that cannot be read is skipped."""
    return _objects_of(tree.css(_LD_JSON))


def _objects_of(scripts: list[LexborNode]) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for script in scripts:
        for data in _lenient_json(script.text() or ""):
            _flatten(data, objects, 0)
    return objects


def _lenient_json(text: str) -> list[Any]:
    text = _unwrapped(text.strip()).strip()
    if not text:
        return []
    for attempt in (text, _TRAILING_COMMA.sub(r"\1", text)):
        try:
            return [json.loads(attempt, strict=False)]
        except ValueError:
            pass
        values = _concatenated(attempt)
        if values:
            return values
    return []


def _unwrapped(text: str) -> str:
    """The JSON inside an HTML comment or CDATA section (searched for at the ends
    only: a pattern anchored at the end would be tried at every position)."""
    head = _JSON_HEAD.match(text)
    if head:
        text = text[head.end() :]
    if text.endswith(("-->", "]]>")):
        cut = max(0, len(text) - 200)
        text = text[:cut] + _JSON_TAIL.sub("", text[cut:], count=1)
    return text


def _concatenated(text: str) -> list[Any]:
    """Several JSON values one after another (``{…}{…}`` or ``{…};``)."""
    decoder = json.JSONDecoder(strict=False)
    values: list[Any] = []
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos] in " \t\r\n;,":
            pos += 1
        if pos >= len(text):
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError:
            return values
        values.append(value)
    return values


def _flatten(data: Any, out: list[dict[str, Any]], depth: int) -> None:
    if depth > 5:
        return
    if isinstance(data, list):
        for item in data:
            _flatten(item, out, depth + 1)
    elif isinstance(data, dict):
        graph = data.get("@graph")
        if "@type" in data or not graph:
            out.append(data)
        if graph:
            _flatten(graph, out, depth + 1)


def _types(obj: dict[str, Any]) -> list[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return [k.rsplit(":", 1)[-1].rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)]


def is_article(obj: dict[str, Any]) -> bool:
    return any(k.endswith(("Article", "Posting")) for k in _types(obj))


def ld_article(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Which JSON-LD object is the article: the first of an article type (``…Article``,
    ``…Posting``, a ``mainEntity`` too), else the first with a headline; {} if none."""
    candidates = []
    for obj in objects:
        candidates.append(obj)
        main = obj.get("mainEntity")
        if isinstance(main, dict):
            candidates.append(main)
    for obj in candidates:
        if is_article(obj):
            return obj
    for obj in candidates:
        if "headline" in obj:
            return obj
    return {}


def _add_meta(attrs: dict[str, str | None], metas: dict[str, list[str]]) -> None:
    content = attrs.get("content")  # cleaned when used: most are never read
    if content is None:
        return
    for attr in ("property", "name", "itemprop", "http-equiv"):
        key = attrs.get(attr)
        if not key:
            continue
        if attr in {"name", "http-equiv"}:
            metas.setdefault(key.strip().lower(), []).append(content)
        else:  # RDFa and microdata: a space-separated list of names
            for name in key.lower().split():
                metas.setdefault(name, []).append(content)


def _clean(value: str) -> str:
    return _SPACE.sub(" ", html.unescape(value)).strip()


def _text(value: Any) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return _clean(value) or None


def _names(value: Any) -> str | None:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = _text(item.get("name")) if isinstance(item, dict) else _text(item)
        if name and not name.startswith(("http:", "https:")):
            name = _without_by(name)
            if name not in names:
                names.append(name)
    return ", ".join(names) or None


def _image(value: Any) -> str | None:
    if isinstance(value, list):
        return next((found for item in value if (found := _image(item))), None)
    if isinstance(value, dict):
        return _text(value.get("url")) or _text(value.get("contentUrl"))
    return _text(value)


def _language(value: Any) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("alternateName")) or _text(value.get("name"))
    return _text(value)


def _keywords(value: Any) -> tuple[str, ...]:
    raw = value if isinstance(value, list) else [value]
    words: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            continue
        for part in _KEYWORD_SPLIT.split(item):
            word = _clean(part)
            if word and word not in words:
                words.append(word)
    return tuple(words)


def _first_date(values: tuple[str | None, ...], default_tz: tzinfo) -> datetime | None:
    for value in values:
        if value:
            parsed = parse_datetime(value, default_tz)
            if parsed is not None:
                return parsed
    return None


def _time_of(times: list[LexborNode | None]) -> str | None:
    """The first of ``time[itemprop=datePublished]``, ``time[pubdate]``,
    ``time[datetime]`` (each the first in the page) that has a value."""
    for node in times:
        if node is not None:
            value = node.attributes.get("datetime") or node.text()
            if value and value.strip():
                return value
    return None


# ---- the title ------------------------------------------------------------------------


def title_key(text: str) -> str:
    """What two statements of a title share: letters and digits, case folded (quotes,
    punctuation, "¶" and "#" anchors and spacing differ from one to another)."""
    text = text.casefold()
    return text.translate(_ASCII_NOT_ALNUM) if text.isascii() else _NOT_ALNUM.sub("", text)


def title_forms(title: str, *, parts: bool = True) -> list[str]:
    """The title, then what is left of it without its last or first part around a
    separator ("Headline | Site", "Site - Headline"), then (``parts``) each part."""
    if _SEPARATOR_CHARS.isdisjoint(title):  # most lines of a body: no regex search
        return [title]
    separators = list(_TITLE_SEPARATORS.finditer(title))
    if not separators:
        return [title]
    forms = [title]
    pieces = [title[: separators[-1].start()], title[separators[0].end() :]]
    if parts:
        pieces.extend(_TITLE_SEPARATORS.split(title))
    for piece in pieces:
        form = piece.strip()
        if form and form not in forms:
            forms.append(form)
    return forms


def _first_meta(values: Sequence[str]) -> str | None:
    for raw in values:
        value = _clean(raw)
        if value:
            return value
    return None


def _choose_title(
    ld_titles: list[str],
    meta_titles: list[str],
    tag_title: str,
    *,
    tree: LexborHTMLParser,
    url: str,
    sites: list[str],
) -> tuple[str | None, tuple[str, ...]]:
    """The title most of the page's sources agree on (see the module's docstring), and
    the other forms of it they give. Only the first ``<h1>`` is looked up unless it is
    not enough to decide."""
    keys: dict[str, str] = {}
    voters = [
        _keyed(ld_titles, sites, keys),
        _keyed(meta_titles, sites, keys),
        _keyed(title_forms(tag_title) if tag_title else [], sites, keys),
    ]
    best, backers = _most_agreed(voters)
    body = tree.body
    # (JSON-LD, <meta> and <title> agreeing, an <h1> could not outvote them)
    first = body.css_first("h1") if body is not None and len(backers) < 3 else None
    headings = _headings([first]) if first is not None else []
    if headings:
        best, backers = _most_agreed([*voters, _keyed(headings, sites, keys)])
    metadata = backers - {3}
    if body and first and len(metadata) < 2 and not (metadata & {0, 1} and 3 in backers):
        # Neither two of the metadata nor the first <h1> and JSON-LD or <meta> agree
        # (or that h1 is the site's logo): every h1 votes, then the h2.
        found = body.css("h1, h2")
        headings = _headings([n for n in found if n.tag == "h1"])
        h1 = _keyed(headings, sites, keys)
        best, backers = _most_agreed([*voters, h1])
        if len(backers) < 2:
            h2 = _keyed(_headings([n for n in found if n.tag == "h2"]), sites, keys)
            best, backers = _most_agreed([*voters, h1, h2])
    if len(backers) < 2:
        best = next(iter(ld_titles + meta_titles), None) or _longest_part(tag_title)
        best = best or next(iter(headings), None) or (_clean(first.text()) if first else None)
    if best is None:
        return None, ()
    seen = {keys.get(best) or title_key(best)}
    headlines = []
    # An <h1> that is not the title may be a chapter's or a section's name: it is a
    # headline only when it says much the same as the title.
    similar = [h for h in headings[:3] if _mostly_in(h, best)]
    for key, text in (*voters[0], *voters[1], *voters[2][:3], *_keyed(similar, sites, keys)):
        if key not in seen:
            seen.add(key)
            headlines.append(text)
    return best, tuple(headlines)


def _mostly_in(text: str, title: str) -> bool:
    """Whether three quarters of ``text`` (in characters of words) are words of ``title``."""
    words = _TITLE_WORD.findall(text.casefold())
    known = set(_TITLE_WORD.findall(title.casefold()))
    total = sum(len(w) for w in words)
    return total > 0 and sum(len(w) for w in words if w in known) >= 0.75 * total


def _keyed(forms: list[str], sites: list[str], keys: dict[str, str]) -> list[tuple[str, str]]:
    """Each form with its ``title_key`` (``keys``: those known, as most forms repeat);
    a site's own name is no title."""
    keyed = []
    for form in forms:
        key = keys.get(form)
        if key is None:
            key = keys[form] = title_key(form)
            if _is_site(key, sites):
                key = keys[form] = ""
        if key:
            keyed.append((key, form))
    return keyed


def _most_agreed(voters: list[list[tuple[str, str]]]) -> tuple[str | None, set[int]]:
    """The form most voters give (ties: the most trusted voter's, then its first), and
    which voters give it."""
    support: dict[str, set[int]] = {}
    first: dict[str, tuple[int, int, str]] = {}
    for voter, forms in enumerate(voters):
        for rank, (key, form) in enumerate(forms):
            support.setdefault(key, set()).add(voter)
            first.setdefault(key, (voter, rank, form))
    if not support:
        return None, set()
    best = max(support, key=lambda k: (len(support[k]), -first[k][0], -first[k][1]))
    return first[best][2], support[best]


def _headings(nodes: list[LexborNode]) -> list[str]:
    """The headings' texts, but a site's logo (a heading linking to the home page)."""
    texts = []
    for node in nodes[: _MAX_HEADINGS + 2]:
        # (a heading holds a few elements: walked here, not matched by a selector)
        links = (n for n in node.traverse() if n.tag == "a")
        href = next((h for link in links if (h := link.attributes.get("href"))), None)
        if href is None or not _is_home(href):
            text = _clean(node.text())
            if text:
                texts.append(text)
    return texts[:_MAX_HEADINGS]


def _is_home(href: str) -> bool:
    """Whether a link leads to a site's home page ("/", "https://host/")."""
    href = href.strip().split("#", 1)[0].split("?", 1)[0]
    if href.startswith("//") or "://" in href:
        return "/" not in href.split("//", 1)[1].rstrip("/")
    return href == "/"


def _longest_part(title: str) -> str | None:
    parts = [p.strip() for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    return max(parts, key=len) if parts else title or None


def _site_names(
    objects: list[dict[str, Any]], ld: dict[str, Any], metas: dict[str, list[str]], url: str
) -> list[str]:
    """The site's own name as the page gives it (title keys), and its host's name."""
    names = [_first_meta(metas.get("og:site_name", ())) or ""]
    publisher = ld.get("publisher")
    if isinstance(publisher, dict):
        names.append(_text(publisher.get("name")) or "")
    for obj in objects:
        if obj.get("@type") in _SITE_TYPES:
            names.append(_text(obj.get("name")) or "")
    host = url.partition("//")[2].partition("/")[0].rpartition("@")[2].partition(":")[0]
    labels = host.lower().split(".")[:-1]
    labels = [label for label in labels if label not in _GENERIC_HOST_LABELS]
    if labels:
        names.append(labels[-1])
    keys = []
    for name in names:
        key = title_key(name)
        if len(key) >= 3 and key not in keys:
            keys.append(key)
    return keys


def _is_site(key: str, sites: list[str]) -> bool:
    """Whether a title key is a site's name: the same, or but for a few letters at one
    end ("The Example", "Example.com" for "example")."""
    for site in sites:
        short, long = (key, site) if len(key) <= len(site) else (site, key)
        if short == long or (
            len(short) >= 5
            and len(long) - len(short) <= 3
            and (long.startswith(short) or long.endswith(short))
        ):
            return True
    return False


def names_in(rest: str) -> str | None:
    """The name(s) a byline's text starts with ("Jane Doe and John Roe | May 3, 2024"),
    or None when it does not start with names."""
    end = _NAME_END.search(rest)
    name = (rest[: end.start()] if end else rest).strip(" ,;:-–—|")
    if not name or len(name) > _MAX_NAME or _NOT_IN_NAMES.search(name):
        return None
    if BY.match(name + " X") or name.casefold() in _NOT_NAMES:  # "By" alone
        return None
    words = name.replace(",", " ").split()
    if not words or len(words) > 10:
        return None
    capitalised = 0
    for word in words:
        if word.casefold() in _CONNECTORS:
            continue
        if not word[0].isupper():
            return None
        capitalised += 1
    return name if capitalised else None


# ---- the author in the page ------------------------------------------------------------

# Elements that may hold the byline, the most telling first: what the page marks as
# the author, then by class or id. One selector: the page is walked once.
_BYLINE_SELECTOR = "[rel~=author], [itemprop~=author], [class*=byline i], [class*=author i]"
_NOT_BYLINE_TAGS = frozenset({
    "meta", "link", "img", "input", "form", "script", "style", "button", "select",
    "textarea", "body", "html", "head", "svg", "label", "iframe", "noscript", "template",
})  # fmt: skip
_NOT_BYLINE_NAMES = re.compile(
    r"comment|follow|bio\b|biog|note|thumb|avatar|photo|image|img|more|about|related|"
    r"social|share|desc|profile|tooltip|popup|modal|signup|login|sign-in|subscribe"
)
_AUTHOR_NAME = re.compile(r"author(?!ity|iz|ing)")
_MAX_CANDIDATES = 20
_MAX_BYLINE_TEXT = 100


def _byline_in_page(body: LexborNode) -> str | None:
    """The author's name from the page's byline element: one the page marks as the
    author (``rel``, ``itemprop``), else one named "byline", else "author" (not in
    the comments, not an author's bio or photo)."""
    best: str | None = None
    best_rank = 3
    best_node: LexborNode | None = None
    for node in body.css(_BYLINE_SELECTOR)[:_MAX_CANDIDATES]:
        rank = _byline_rank(node)
        if rank is None or rank > best_rank:
            continue
        # Of the same kind, one inside the best so far is the more precise.
        if rank == best_rank and not _inside(node, best_node):
            continue
        name = _byline_text(node, rank)
        if name is not None and not _in_comments(node):
            best, best_rank, best_node = name, rank, node
    return best


def _inside(node: LexborNode, ancestor: LexborNode | None) -> bool:
    if ancestor is None:
        return False
    key = ancestor.mem_id
    parent = node.parent
    for _ in range(8):
        if parent is None:
            return False
        if parent.mem_id == key:
            return True
        parent = parent.parent
    return False


def _byline_rank(node: LexborNode) -> int | None:
    if node.tag in _NOT_BYLINE_TAGS:
        return None
    attrs = node.attributes
    if (
        "author" in (attrs.get("rel") or "").lower().split()
        or "author" in (attrs.get("itemprop") or "").lower().split()
    ):
        return 0
    names = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()
    if _NOT_BYLINE_NAMES.search(names):
        return None
    if "byline" in names:
        return 1
    return 2 if _AUTHOR_NAME.search(names) else None


def _byline_text(node: LexborNode, rank: int) -> str | None:
    # Microdata: the author's name is its own property.
    named = node.css_first("[itemprop~=name]") if rank == 0 else None
    text = _clean((named or node).text(separator=" "))
    if not text or len(text) > _MAX_BYLINE_TEXT:
        return None
    by = BY.match(text)
    return names_in(text[by.end() :] if by else text)


def _in_comments(node: LexborNode) -> bool:
    parent = node.parent
    for _ in range(20):
        if parent is None:
            return False
        attrs = parent.attributes
        if parent.tag in ("footer", "aside") or "comment" in (
            f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()
        ):
            return True
        parent = parent.parent
    return False


def _without_by(name: str) -> str:
    """An author's name without the "By " some metadata put before it."""
    by = BY.match(name)
    return name[by.end() :] if by and name[by.end() :][:1].isupper() else name


def _html_lang(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("html")
    return _text(node.attributes.get("lang")) if node is not None else None
