"""Images and links for the body cleaner: lazy images made plain, URLs absolute.

Kept apart from clean.py so that the block logic there stays readable.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.measure import collapsed

__all__ = [
    "absolute_href",
    "absolute_url",
    "image_html",
    "largest_candidate",
    "noscript_images_in_place",
    "picture_image",
]

LAZY_SRC_ATTRS = (
    "data-src",
    "data-original",
    "data-lazy-src",
    "data-original-src",
    "data-actualsrc",
    "data-lazyload",
    "data-echo",
    "data-full-src",
)
SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "srcset")
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"http", "https"})

_PLACEHOLDER_SCHEMES = ("data:", "about:", "blob:", "javascript:")
# Searched in the lowercased address: a pattern without re.I lets the engine skip
# every position whose character starts none of the words.
_PLACEHOLDER = re.compile(
    r"blank\.(?:gif|png|jpe?g)|placeholder|spacer\.gif|pixel\.(?:gif|png)|"
    r"transparent\.(?:gif|png)|1x1|(?:grey|gray|loading)\.(?:gif|png|svg)|"
    r"lazy[-_]?load[^/]*\.(?:gif|png|svg)$"
)
_URL_NOISE = re.compile(r"[\t\n\r\x00-\x1f]")
_DESCRIPTOR = re.compile(r"^\s*([\d.]+)\s*([wxh])\s*$", re.I)


def _esc(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;")


def absolute_url(value: str | None, base_url: str) -> str | None:
    """``value`` resolved against ``base_url``; ``//host/x`` becomes ``https://host/x``."""
    if not value:
        return None
    url = (value if value.isprintable() else _URL_NOISE.sub("", value)).strip()
    if not url:
        return None
    if url.startswith("//"):
        return "https:" + url
    if _plainly_absolute(url):
        return url
    if base_url:
        joined = _joined(url, base_url)
        if joined is not None:
            return joined
    try:
        resolved = urljoin(base_url, url) if base_url else url
    except ValueError:
        return None
    if resolved.startswith("//"):
        resolved = "https:" + resolved
    return resolved


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return "invalid"


def _plainly_absolute(url: str) -> bool:
    """An http(s) URL that resolving and checking would return unchanged (no
    spaces or control characters, a host, nothing urlunparse would drop)."""
    if url.startswith("https://"):
        first = url[8:9]
    elif url.startswith("http://"):
        first = url[7:8]
    else:
        return False
    return (
        first not in "/?#"
        and url.isprintable()
        and " " not in url
        and "[" not in url
        and "]" not in url
        and "?#" not in url
        and not url.endswith(("?", "#"))
    )


@lru_cache(maxsize=16)
def _base_parts(base_url: str) -> tuple[str, str, str] | None:
    """(origin, directory, document without fragment) of a plainly absolute base
    URL, for joining the commonest relative links without ``urljoin``; None for
    any other base."""
    if not _plainly_absolute(base_url) or "\\" in base_url:
        return None
    document = base_url.split("#", 1)[0]
    before_query = document.split("?", 1)[0]
    host_start = before_query.index("://") + 3
    if "/." in before_query[host_start:] or "//" in before_query[host_start:]:
        return None  # urljoin drops dot segments and, joining, empty ones
    slash = before_query.find("/", host_start)
    if slash < 0:
        return before_query, before_query + "/", document
    return before_query[:slash], before_query[: before_query.rfind("/") + 1], document


def _joined(href: str, base_url: str) -> str | None:
    """``urljoin(base_url, href)`` for a root-relative path, a fragment or a plain
    relative path with no dot segments, when ``href`` needs no clean-up; None when
    ``urljoin`` must decide."""
    first = href[:1]
    if (
        first in ("", ".", "?", "\\")
        or href.startswith("//")
        or not href.isprintable()
        or " " in href
        or "\\" in href
        or "[" in href
        or "]" in href
        or "?#" in href
        or href.endswith(("?", "#"))
    ):
        return None
    parts = _base_parts(base_url)
    if parts is None:
        return None
    origin, directory, document = parts
    if first == "#":
        return document + href
    path = href.split("?", 1)[0].split("#", 1)[0]
    if "/." in path:  # "." and ".." segments: urljoin removes them
        return None
    if first == "/":
        return origin + href
    if ":" in path.split("/", 1)[0] or "//" in path:  # a scheme; an empty segment
        return None
    return directory + href


def absolute_href(href: str | None, base_url: str) -> str | None:
    """An absolute link target, or None for an unusable one (javascript:, data:…)."""
    if href and _plainly_absolute(href):
        return href
    if href and base_url:
        # The commonest relative links, joined as absolute_url joins them; the result
        # is an http(s) URL that needs no check (the base and the link passed them).
        joined = _joined(href, base_url)
        if joined is not None:
            return joined
    url = absolute_url(href, base_url)
    if url is None:
        return None
    if _plainly_absolute(url):  # joined onto an http(s) page: no need to split it
        return url
    scheme = _scheme(url)
    return url if scheme in LINK_SCHEMES or (scheme == "" and not base_url) else None


def _candidates(srcset: str) -> list[tuple[str, str]]:
    """Split a srcset into (url, descriptor) pairs; URLs may hold commas. (The
    HTML standard's walk, each run found by a regular expression, not character by
    character in Python: a srcset of a dozen sizes is a thousand characters.)"""
    result = []
    pos, n = 0, len(srcset)
    while pos < n:
        found = _SRCSET_URL.match(srcset, pos)  # (it matches anywhere, maybe empty)
        if found is None or not found.group(1):
            break
        url, pos = found.group(1), found.end()
        if url.endswith(","):
            result.append((url.rstrip(","), ""))
            continue
        comma = srcset.find(",", pos)
        if comma < 0:
            comma = n
        result.append((url, srcset[pos:comma]))
        pos = comma + 1
    return result


# Whitespace and commas before a candidate, then its URL (a run of non-whitespace).
_SRCSET_URL = re.compile(r"[\s,]*(\S*)")


def largest_candidate(srcset: str | None) -> str | None:
    """The srcset candidate with the largest width (or density) descriptor."""
    best, best_size = None, -1.0
    for url, descriptor in _candidates(srcset or ""):
        match = _DESCRIPTOR.match(descriptor)
        try:
            size = float(match.group(1)) if match else 1.0
        except ValueError:
            size = 1.0
        if size > best_size:
            best, best_size = url, size
    return best


def _usable(src: str | None) -> bool:
    address = (src or "").strip().lower()
    return bool(address) and not (
        address.startswith(_PLACEHOLDER_SCHEMES) or _PLACEHOLDER.search(address)
    )


def _lazy_src(attrs: dict[str, str | None]) -> str | None:
    for name in LAZY_SRC_ATTRS:
        value = attrs.get(name)
        if _usable(value):
            return value
    return None


def _srcset_src(attrs: dict[str, str | None]) -> str | None:
    for name in SRCSET_ATTRS:
        best = largest_candidate(attrs.get(name))
        if _usable(best):
            return best
    return None


def choose_src(attrs: dict[str, str | None]) -> str | None:
    """The real image of an <img>: a lazy attribute, else src, else srcset."""
    src = attrs.get("src")
    return _lazy_src(attrs) or (src if _usable(src) else None) or _srcset_src(attrs)


def _is_pixel(attrs: dict[str, str | None]) -> bool:
    return any((attrs.get(name) or "").strip() in ("0", "1") for name in ("width", "height"))


def image_html(attrs: dict[str, str | None], base_url: str) -> str | None:
    """A plain ``<img src alt …>`` for an image element's attributes, or None when it
    has no usable http(s) source or is a tracking pixel."""
    url = absolute_url(choose_src(attrs), base_url)
    if url is None or _scheme(url) not in IMAGE_SCHEMES or _is_pixel(attrs):
        return None
    alt = collapsed(attrs.get("alt") or "")
    html = f'<img src="{_esc(url)}" alt="{_esc(alt)}"'
    title = collapsed(attrs.get("title") or "")
    if title:
        html += f' title="{_esc(title)}"'
    for name in ("width", "height"):
        value = (attrs.get(name) or "").strip()
        if value.isdigit():
            html += f' {name}="{value}"'
    return html + ">"


def picture_image(picture: LexborNode, base_url: str) -> str | None:
    """One plain image for a <picture>: its <img>, else its best <source>."""
    img = picture.css_first("img")
    attrs: dict[str, str | None] = dict(img.attributes) if img is not None else {}
    if choose_src(attrs) is None:
        for source in picture.css("source"):
            best = _srcset_src(source.attributes) or _lazy_src(source.attributes)
            if best:
                attrs = {**attrs, "src": best}
                break
    return image_html(attrs, base_url)


def _looks_lazy(img: LexborNode) -> bool:
    attrs = img.attributes
    plain = attrs.get("src")
    return (
        not _usable(plain)
        or any(attrs.get(name) for name in LAZY_SRC_ATTRS + SRCSET_ATTRS[:2])
        or "lazy" in (attrs.get("class") or "").lower()
    )


def _sibling_element(node: LexborNode, forward: bool) -> LexborNode | None:
    sibling = node.next if forward else node.prev
    while sibling is not None and not sibling.is_element_node:
        if sibling.is_text_node and (sibling.text_content or "").strip():
            return None
        sibling = sibling.next if forward else sibling.prev
    return sibling


def _neighbour_image(noscript: LexborNode) -> LexborNode | None:
    for forward in (False, True):
        sibling = _sibling_element(noscript, forward)
        if sibling is None or sibling.tag == "noscript":
            continue
        if sibling.tag == "img":
            return sibling
        images = sibling.css("img")
        if len(images) == 1 and len(sibling.text(strip=True)) < 200:
            return images[0]
    return None


def noscript_images_in_place(tree: LexborHTMLParser | LexborNode) -> None:
    """A <noscript> copy of an image replaces the lazy placeholder next to it, or
    stands in for it when there is none. Other noscript content is left alone."""
    for noscript in tree.css("noscript"):
        img = noscript.css_first("img")
        if img is None or choose_src(img.attributes) is None or _is_pixel(img.attributes):
            continue
        neighbour = _neighbour_image(noscript)
        if neighbour is None:
            noscript.replace_with(img)
        elif _looks_lazy(neighbour):
            for name in ("alt", "title", "width", "height"):
                value = neighbour.attributes.get(name)
                if value and not img.attributes.get(name):
                    img.attrs[name] = value
            neighbour.replace_with(img)
