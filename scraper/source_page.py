"""A source's page → its entries: a feed parsed, or a listing's article links by the
site rule's selectors (by ``article_urls`` when they find nothing), and what
the rule's listing part did. Also which rule and zone a page of a source gets."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import tzinfo
from zoneinfo import ZoneInfo

from scraper.config import SourceConfig
from scraper.errors import (
    ParseError,
    SourceError,
)
from scraper.extract.rules import Rule, RuleSet
from scraper.sources.feed import parse_feed
from scraper.sources.listing import links_matching, parse_listing
from scraper.types import (
    Fetched,
    ParsedSource,
)

HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")  # a page may be HTML


def rule_for(rules: RuleSet, source: SourceConfig, url: str) -> Rule | None:
    """The site rule for a page of ``source``: the one it names, else its host's."""
    if source.rule:
        return rules.by_name(source.rule)
    return rules.for_url(url) or rules.for_url(source.url)


def zone_for(source: SourceConfig, rule: Rule | None) -> tzinfo:
    """The zone for times a page gives without one: the source's, else its rule's."""
    return source.zone if source.timezone or not rule else ZoneInfo(rule.timezone)


# What a rule's part did on a page: (rule, part, matched, url).
RuleSeen = tuple[str, str, bool, str]


class NoLinks(ParseError):
    """A listing without article links; ``seen``: its rule's listing part missed."""

    def __init__(self, url: str, reason: str, seen: tuple[RuleSeen, ...]) -> None:
        super().__init__(url, reason)
        self.seen = seen


def parse_source(
    rules: RuleSet, source: SourceConfig, fetched: Fetched
) -> tuple[ParsedSource, tuple[RuleSeen, ...]]:
    """The entries of the source's page, and what its rule's listing part did."""
    if source.kind == "feed":
        parsed = parse_feed(
            fetched.content,
            fetched.url,
            default_tz=source.zone,
            content_type=fetched.content_type,
            encoding=fetched.encoding,
        )
        return parsed, ()
    if not _may_be_html(fetched):
        raise ParseError(fetched.url, f"not an HTML page ({fetched.content_type or 'binary'})")
    rule = rule_for(rules, source, fetched.url)
    selectors = [source.links] if source.links else list(rule.listing_links if rule else ())
    if not selectors:
        raise SourceError(
            source.url, "a listing source needs a `links:` selector or a site rule for its host"
        )
    own = rule if not source.links else None  # the rule whose listing part is used

    def seen(matched: bool) -> tuple[RuleSeen, ...]:
        return ((own.name, "listing", matched, fetched.url),) if own is not None else ()

    parsed = ParsedSource(entries=())
    for selector in selectors:
        parsed = parse_listing(
            fetched.text,
            fetched.url,
            selector=selector,
            title_selector=own.listing_title if own is not None else None,
        )
        if parsed.entries:
            return parsed, seen(True)
    if own is not None and own.article_urls:
        patterns = [re.compile(p) for p in own.article_urls]
        found = links_matching(fetched.text, fetched.url, patterns)
        if found.entries:  # the selectors are stale, the articles still come
            problem = (
                f"rule {own.name}: no listing selector matched; {len(found.entries)} links "
                "taken by their address (article_urls)"
            )
            return replace(found, problem=problem), seen(False)
    # An empty listing almost always means the site changed its layout: say so.
    reason = parsed.problem or "no article links found (has the page layout changed?)"
    raise NoLinks(fetched.url, reason, seen(False))


def _may_be_html(fetched: Fetched) -> bool:
    """Whether a listing page can be HTML: no NUL in its first bytes (unless UTF-16
    says so with its byte order mark), and a type that says HTML, text, nothing, or
    nothing useful (octet-stream)."""
    head = fetched.content[:1024]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    kind = fetched.content_type
    return kind in HTML_TYPES or kind == "application/octet-stream"
