"""Applying a site rule to a page: the body it names, cleaned and trimmed, and the
title and time from the sources it lists, in its order.

Pure: html and url in, ``Extracted`` (or None) out. The rule models live in
``rules.py``; this module only reads them.
"""

from __future__ import annotations

import html as htmlmod
import re
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper.extract.clean import body_text_length, clean_body
from scraper.extract.hydrate import Hydrated, find_hydrated
from scraper.extract.limits import bounded_html
from scraper.extract.meta import json_ld_objects, ld_article, page_metadata, parse_datetime
from scraper.types import Extracted

if TYPE_CHECKING:
    from scraper.extract.rules import Rule

__all__ = ["apply_rule", "clean_with_rule", "rule_zone"]

_IMG_ATTRS = ("data-src", "data-original", "data-lazy-src", "src")
_SRCSET_ATTRS = ("data-srcset", "srcset")
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
_LINK = re.compile(r"<a\b[^>]*>.*?</a>", re.S)
_NOT_WORDS = re.compile(r"[\s\W_]+")


def rule_zone(rule: Rule, default_tz: tzinfo | None = None) -> tzinfo:
    """The rule's zone when it sets one, else ``default_tz`` (the source's)."""
    if "timezone" in rule.model_fields_set or default_tz is None:
        return ZoneInfo(rule.timezone)
    return default_tz


def apply_rule(
    rule: Rule, html: str | bytes, url: str, *, default_tz: tzinfo | None = None
) -> Extracted | None:
    """The article on ``html`` (text, or UTF-8 bytes) as ``rule`` sees it; None when
    it finds no body."""
    tz = rule_zone(rule, default_tz)
    tree = LexborHTMLParser(bounded_html(html))
    meta = page_metadata(tree, url, default_tz=tz)
    hydrated = find_hydrated(rule.hydration, _scripts(tree), tz)
    body = _body(rule, tree, hydrated, url)
    if not body:
        return None
    ld = _news_ld(tree)
    own_title = next(filter(None, (_title(s, tree, ld, hydrated, rule) for s in rule.title)), None)
    title = own_title or _strip_suffixes(meta.title or "", rule) or None
    published = next(
        filter(None, (_published(s, tree, ld, hydrated, tz) for s in rule.published)), None
    )
    parts = [("body", True)]
    if rule.title:
        parts.append(("title", own_title is not None))
    if rule.published:
        parts.append(("published", published is not None))
    tags = hydrated.tags if hydrated and hydrated.tags else _tags(meta.keywords)
    image = (hydrated.images[0][0] if hydrated and hydrated.images else None) or meta.image
    return Extracted(
        body=body,
        title=title,
        published=published or meta.published,
        author=meta.author,
        image=_rewrite(image, rule) if image else None,
        language=meta.language,
        tags=tags,
        method=f"rule:{rule.name}",
        rule=rule.name,
        rule_parts=tuple(parts),
    )


def clean_with_rule(rule: Rule, fragment_html: str, url: str) -> str:
    """``clean_body`` plus the rule's strip list, image rewrites and block drops."""
    frag = LexborHTMLParser(fragment_html, is_fragment=True)
    for node in frag.css("img, source"):
        _rewrite_node(node, rule)
    return _drop_blocks(clean_body(frag.html or "", url, strip=rule.strip), rule)


def _body(rule: Rule, tree: LexborHTMLParser, hydrated: Hydrated | None, url: str) -> str:
    found = ""
    for selector in rule.body:
        for node in tree.css(selector):
            found = clean_with_rule(rule, node.html or "", url)
            if body_text_length(found):
                break
        if body_text_length(found):
            break
    if hydrated and hydrated.body:
        from_data = clean_with_rule(rule, hydrated.body, url)
        if body_text_length(from_data) > body_text_length(found):
            found = from_data
    if not body_text_length(found):
        return ""
    figures = _lead_figures(rule, tree, hydrated, url, found)
    return "\n".join(filter(None, (figures, found)))


def _ld_images(ld: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(URL, caption) of a JSON-LD article's ``image``: a URL, an ImageObject, or a
    list of either."""
    image = ld.get("image") if ld else None
    found: list[tuple[str, str]] = []
    for item in image if isinstance(image, list) else [image]:
        if isinstance(item, str) and item.strip():
            found.append((item.strip(), ""))
        elif isinstance(item, dict):
            url = item.get("url") or item.get("contentUrl")
            caption = item.get("caption")
            if isinstance(url, str) and url.strip():
                found.append((url.strip(), caption.strip() if isinstance(caption, str) else ""))
    return found[:1]


def _lead_figures(
    rule: Rule, tree: LexborHTMLParser, hydrated: Hydrated | None, url: str, body: str
) -> str:
    pairs = list(hydrated.images) if hydrated and hydrated.images else _banner(rule, tree)
    if not pairs and rule.lead_image_from_ld:
        pairs = _ld_images(_news_ld(tree))
    parts, seen = [], set()
    for raw, caption in pairs:
        src = _rewrite(urljoin(url, raw), rule)
        name = urlsplit(src).path.rsplit("/", 1)[-1]
        if not name or name in seen or name in body:  # already in the body: not twice
            continue
        seen.add(name)
        figcaption = f"<figcaption>{htmlmod.escape(caption)}</figcaption>" if caption else ""
        parts.append(f'<figure><img src="{htmlmod.escape(src)}" alt="">{figcaption}</figure>')
    return clean_body("".join(parts), url) if parts else ""


def _banner(rule: Rule, tree: LexborHTMLParser) -> list[tuple[str, str]]:
    """(image URL, caption) of the first of the rule's lead images found on the page."""
    for lead in rule.lead_images:
        pairs = []
        for item in tree.css(lead.items):
            img = item if item.tag == "img" else item.css_first("img")
            src = _image_url(item, img) if img is not None else None
            if img is None or not src:
                continue
            cap = item.css_first(lead.caption) if lead.caption else None
            caption = (
                (cap.text(separator=" ") if cap is not None else "")
                or img.attributes.get("data-title")
                or img.attributes.get("title")
                or ""
            )
            pairs.append((src, _SPACE.sub(" ", caption).strip()))
        if pairs:
            return pairs
    return []


def _image_url(item: LexborNode, img: LexborNode) -> str | None:
    for attr in _IMG_ATTRS:
        value = (img.attributes.get(attr) or "").strip()
        if value and not value.startswith("data:"):
            return value
    for node in [img, *item.css("source")]:
        for attr in _SRCSET_ATTRS:
            if value := (node.attributes.get(attr) or "").strip():
                return value.split(",")[0].split()[0]
    return None


def _rewrite(value: str, rule: Rule) -> str:
    for rw in rule.image_host_rewrites:
        value = re.sub(rw.pattern, rw.replacement, value)
    return value


def _rewrite_node(node: LexborNode, rule: Rule) -> None:
    if not rule.image_host_rewrites:
        return
    for attr in (*_IMG_ATTRS, *_SRCSET_ATTRS):
        value = node.attributes.get(attr)
        if not value:
            continue
        if attr in _SRCSET_ATTRS:
            parts = [p.strip().split(None, 1) for p in value.split(",") if p.strip()]
            new = ", ".join(" ".join([_rewrite(p[0], rule), *p[1:]]) for p in parts)
        else:
            new = _rewrite(value.strip(), rule)
        if new != value:
            node.attrs[attr] = new


def _drop_blocks(body: str, rule: Rule) -> str:
    if not body or not (rule.drop_paragraphs_matching or rule.drop_link_lists_after):
        return body
    kept: list[str] = []
    in_list = False
    for line in body.split("\n"):
        text = _line_text(line)
        if any(re.search(p, text) for p in rule.drop_link_lists_after):
            in_list = True
            continue
        if in_list and _links_only(line):
            continue
        in_list = False
        if not any(re.search(p, text) for p in rule.drop_paragraphs_matching):
            kept.append(line)
    return "\n".join(kept)


def _line_text(line: str) -> str:
    return _SPACE.sub(" ", htmlmod.unescape(_TAG.sub("", line))).strip()


def _links_only(line: str) -> bool:
    if "<a " not in line:
        return False
    return not _NOT_WORDS.sub("", _line_text(_LINK.sub("", line)))


def _scripts(tree: LexborHTMLParser) -> list[str]:
    return [s.text() or "" for s in tree.css("script") if "src" not in s.attributes]


def _news_ld(tree: LexborHTMLParser) -> dict[str, Any] | None:
    return ld_article(json_ld_objects(tree)) or None


def _text_of(tree: LexborHTMLParser, selector: str, attrs: tuple[str, ...] = ()) -> str | None:
    node = tree.css_first(selector)
    if node is None:
        return None
    for attr in attrs:
        if value := (node.attributes.get(attr) or "").strip():
            return value
    return _SPACE.sub(" ", node.text(separator=" ")).strip() or None


def _meta(tree: LexborHTMLParser, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        for attr in ("property", "name", "itemprop"):
            node = tree.css_first(f'meta[{attr}="{key}"]')
            if node is not None and (value := (node.attributes.get("content") or "").strip()):
                return value
    return None


def _strip_suffixes(title: str, rule: Rule) -> str:
    title = _SPACE.sub(" ", title).strip()
    for suffix in rule.title_suffixes:
        if title.endswith(suffix.strip()) and len(title) > len(suffix.strip()):
            title = title[: -len(suffix.strip())].strip()
    return title


def _title(
    source: str,
    tree: LexborHTMLParser,
    ld: dict[str, Any] | None,
    hydrated: Hydrated | None,
    rule: Rule,
) -> str | None:
    value: Any = None
    if source == "ld+json" and ld:
        value = ld.get("headline") or ld.get("name")
    elif source == "hydration" and hydrated:
        value = hydrated.title
    elif source == "meta":
        value = _meta(tree, ("og:title", "twitter:title", "title"))
    elif source == "title":
        value = _text_of(tree, "title")
    elif source.startswith("css:"):
        value = _text_of(tree, source[4:].strip())
    if not isinstance(value, str):
        return None
    return _strip_suffixes(value, rule) or None


def _published(
    source: str,
    tree: LexborHTMLParser,
    ld: dict[str, Any] | None,
    hydrated: Hydrated | None,
    tz: tzinfo,
) -> datetime | None:
    value: Any = None
    if source == "ld+json" and ld:
        value = ld.get("datePublished") or ld.get("dateCreated")
    elif source == "hydration" and hydrated:
        return hydrated.published
    elif source == "meta":
        value = _meta(
            tree,
            (
                "article:published_time",
                "og:article:published_time",
                "datePublished",
                "pubdate",
                "publishdate",
                "publish-date",
            ),
        )
    elif source.startswith("css:"):
        value = _text_of(tree, source[4:].strip(), ("datetime", "content"))
    return parse_datetime(value, tz) if isinstance(value, str) and value.strip() else None


def _tags(keywords: object) -> tuple[str, ...]:
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    if not isinstance(keywords, Iterable):
        return ()
    tags = (k.strip() for k in keywords if isinstance(k, str))
    return tuple(dict.fromkeys(t for t in tags if t))
