"""Article extraction: a fetched page (or only a feed's own content) → ``Extracted``.

The order, in ``extract_article``: the site's rule when there is one; the generic
extractor when the rule finds nothing; the feed's own content when the page could
not be fetched or holds less text than the feed gave. Pure: no I/O, nothing raised
for bad HTML; an empty body is the caller's to report (as ``ExtractError``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import tzinfo

from scraper.extract.clean import body_text_length, clean_body
from scraper.extract.generic import extract_generic
from scraper.extract.rules import (
    Rule,
    RuleSet,
    apply_rule,
    clean_with_rule,
    load_rules,
    rule_zone,
)
from scraper.types import Extracted

__all__ = [
    "Rule",
    "RuleSet",
    "extract_article",
    "load_rules",
    "missed_parts",
]


def extract_article(
    html: str | bytes | None,
    url: str,
    *,
    rule: Rule | None,
    feed_content: str | None,
    feed_title: str | None,
    default_tz: tzinfo,
) -> Extracted:
    """The best article we can make of the page and the feed entry (see module doc).
    ``html`` as text, or as UTF-8 bytes (what the parser reads: no encoding again)."""
    page: Extracted | None = None
    if html is not None:
        if rule is not None:
            page = apply_rule(rule, html, url, default_tz=default_tz)
            # The site's zone still holds for its pages when its rule misses the layout.
            default_tz = rule_zone(rule, default_tz)
        if page is None or not page.body:
            page = extract_generic(html, url, default_tz=default_tz)
            if rule is not None:  # the rule's body selectors found nothing: it may be stale
                page = replace(page, rule=rule.name, rule_parts=(("body", False),))
    feed_body = _feed_body(feed_content, url, rule)
    if feed_body and (page is None or body_text_length(page.body) < body_text_length(feed_body)):
        page = (
            replace(page, body=feed_body, method="feed")
            if page
            else Extracted(body=feed_body, method="feed")
        )
    if page is None:
        page = Extracted(body="")
    if not page.title and feed_title and feed_title.strip():
        page = replace(page, title=feed_title.strip())
    return page


def missed_parts(extracted: Extracted) -> str | None:
    """``zaobao:body,published``: the parts of the page's rule that found nothing."""
    missed = [part for part, matched in extracted.rule_parts if not matched]
    return f"{extracted.rule}:{','.join(missed)}" if missed and extracted.rule else None


def _feed_body(content: str | None, url: str, rule: Rule | None) -> str:
    if not content or not content.strip():
        return ""
    return clean_with_rule(rule, content, url) if rule else clean_body(content, url)
