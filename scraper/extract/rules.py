"""Site rules as data: one YAML file per site, checked when loaded, applied to a page.

A rule says where a site keeps its article (body selectors, JSON in a script),
what to cut from it, where its title and time are, and which hosts it covers.
Applying one to a page is ``apply.py``'s work (``apply_rule`` is re-exported here).
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Iterable
from datetime import datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Literal, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    field_validator,
)
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from scraper.errors import ConfigError
from scraper.extract.hydrate import parse_path
from scraper.validation import problems as validation_problems
from scraper.validation import yaml_problem

__all__ = [
    "HydrationSource",
    "LeadImages",
    "Rule",
    "RuleFile",
    "RuleSet",
    "RuleTest",
    "UrlRewrite",
    "apply_rule",
    "clean_with_rule",
    "load_rule_files",
    "load_rules",
    "parse_rule",
    "rule_zone",
    "shipped_rules_folder",
]

_Strict = ConfigDict(extra="forbid", frozen=True)
_PROBE = LexborHTMLParser("<p></p>")
_SPACE = re.compile(r"\s+")


def _tuple(value: object) -> object:
    return (value,) if isinstance(value, str) else value


def _css(value: str) -> str:
    try:
        _PROBE.css(value)
    except SelectolaxError:
        raise ValueError(f"invalid CSS selector {value!r}") from None
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value


def _source(value: str) -> str:
    if value in ("ld+json", "hydration", "meta", "title"):
        return value
    if value.startswith("css:") and value[4:].strip():
        _css(value[4:].strip())
        return value
    raise ValueError(f"unknown source {value!r} (use ld+json, hydration, meta, title or css:SEL)")


Css = Annotated[str, AfterValidator(_css)]
Regex = Annotated[str, AfterValidator(_regex)]
Sources = Annotated[tuple[Annotated[str, AfterValidator(_source)], ...], BeforeValidator(_tuple)]
Selectors = Annotated[tuple[Css, ...], BeforeValidator(_tuple)]
Regexes = Annotated[tuple[Regex, ...], BeforeValidator(_tuple)]


class HydrationSource(BaseModel):
    """JSON a page embeds in a ``<script>``: found after ``after`` (a regex), as a
    plain JSON value or a JS string literal that holds JSON (``json-string``).
    ``path`` leads to the article; the field names are paths inside it."""

    model_config = _Strict

    after: Regex
    encoding: Literal["json", "json-string"] = "json"
    path: str = ""
    title: str | None = None
    published: str | None = None  # unix seconds, milliseconds or a date string
    body: str | None = None  # HTML
    tags: str | None = None  # list of strings or of {name: …}
    images: str | None = None  # list of {url, caption}: lead figures
    image_url: str = "url"
    image_caption: str = "caption"

    @field_validator(
        "path", "title", "published", "body", "tags", "images", "image_url", "image_caption"
    )
    @classmethod
    def _path(cls, v: str | None) -> str | None:
        if v is not None:
            parse_path(v)
        return v


class UrlRewrite(BaseModel):
    """``re.sub(pattern, replacement, url)`` on every image URL of the body."""

    model_config = _Strict

    pattern: Regex
    replacement: str


class LeadImages(BaseModel):
    """Images shown above the body (a banner): each ``items`` match becomes a
    ``<figure>`` from its first image and its ``caption`` text."""

    model_config = _Strict

    items: Css
    caption: Css | None = None


class RuleTest(BaseModel):
    """A saved page and what the rule must make of it. ``file`` is relative to the
    rule file's folder (``tests/<rule>/page.html`` by convention); ``published``
    without a zone is in the rule's ``timezone``; the strings are looked for in the
    body's HTML and in its text."""

    model_config = _Strict

    file: str
    url: str
    title: str | None = None
    published: datetime | None = None
    tags: tuple[str, ...] | None = None  # the keywords, in order, when given
    must_contain: tuple[str, ...] = ()
    must_not_contain: tuple[str, ...] = ()


class Rule(BaseModel):
    model_config = _Strict

    name: str
    hosts: Annotated[tuple[str, ...], BeforeValidator(_tuple)]
    timezone: str = "UTC"  # for times the site gives without a zone
    listing_links: Selectors = ()  # first that matches a link wins
    listing_title: Css | None = None  # inside a link, after its title attribute
    # The site's article addresses: when no listing selector matches (a redesign),
    # the page's on-site links whose address matches one are the articles.
    article_urls: Regexes = ()
    body: Selectors  # first that matches with text wins
    strip: Selectors = ()
    title: Sources = ()
    published: Sources = ()
    title_suffixes: Annotated[tuple[str, ...], BeforeValidator(_tuple)] = ()
    hydration: tuple[HydrationSource, ...] = ()
    lead_images: tuple[LeadImages, ...] = ()  # first that yields an image wins
    # … and when none does, the JSON-LD article's ``image`` leads the body (pages
    # that show their lead image only from script)
    lead_image_from_ld: bool = False
    image_host_rewrites: tuple[UrlRewrite, ...] = ()
    drop_paragraphs_matching: Regexes = ()  # blocks whose text matches are dropped
    drop_link_lists_after: Regexes = ()  # … and with them the link-only blocks after them
    tests: tuple[RuleTest, ...] = ()

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        hosts = tuple(h.strip().lower().removeprefix("*.").strip(".") for h in v)
        if not hosts or not all(hosts):
            raise ValueError("list at least one host name, e.g. example.com")
        return hosts

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use e.g. UTC or Asia/Singapore)") from None
        return v

    def matches_host(self, host: str) -> int:
        """Length of the longest of our hosts that ``host`` is or ends with; 0: none."""
        host = host.lower().rstrip(".")
        return max((len(h) for h in self.hosts if host == h or host.endswith("." + h)), default=0)


class RuleSet:
    """Rules by name; the most specific host match wins, a later rule on ties."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules = {rule.name: rule for rule in rules}

    def for_url(self, url: str) -> Rule | None:
        host = urlsplit(url).hostname or ""
        best, score = None, 0
        for rule in self._rules.values():
            if (s := rule.matches_host(host)) and s >= score:
                best, score = rule, s
        return best

    def by_name(self, name: str) -> Rule | None:
        return self._rules.get(name)

    def names(self) -> list[str]:
        return list(self._rules)

    def __len__(self) -> int:
        return len(self._rules)


# libyaml's safe loader when PyYAML was built with it: a fifth of the pure-Python
# one's time, on every run that loads the shipped rules.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_rule(text: str, origin: str) -> Rule:
    """One rule from YAML text; ConfigError names ``origin`` and the key."""
    try:
        raw = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_problem(origin, exc, text)) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: a rule must be a mapping of keys to values")
    try:
        return Rule.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{origin}: {where or 'rule'}: {msg}" for where, msg in validation_problems(exc, Rule)
        ]
        raise ConfigError(problems) from None


class RuleFile(NamedTuple):
    """A rule as loaded: ``folder`` holds its file (its test pages are relative to
    it); ``origin`` names the file in messages."""

    rule: Rule
    folder: Traversable
    origin: str
    shipped: bool


def shipped_rules_folder() -> Traversable:
    return importlib.resources.files("scraper.extract").joinpath("rules")


def load_rule_files(extra_dir: Path | None = None) -> list[RuleFile]:
    """The rules in use: the shipped ones, then ``extra_dir/*.yaml``; a rule of the
    same name replaces (and moves after the others)."""
    shipped = shipped_rules_folder()
    files = sorted(
        (f for f in shipped.iterdir() if f.name.endswith((".yaml", ".yml"))), key=lambda f: f.name
    )
    found = [
        RuleFile(
            parse_rule(f.read_text(encoding="utf-8"), f"rules/{f.name}"),
            shipped,
            f"rules/{f.name}",
            True,
        )
        for f in files
    ]
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise ConfigError(f"{extra_dir}: no such rules folder")
        seen: dict[str, Path] = {}
        for path in sorted([*extra_dir.glob("*.yaml"), *extra_dir.glob("*.yml")]):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path}: cannot read: {exc}") from None
            rule = parse_rule(text, str(path))
            if rule.name in seen:
                raise ConfigError(f"{path}: name: rule {rule.name!r} is also in {seen[rule.name]}")
            seen[rule.name] = path
            found = [f for f in found if f.rule.name != rule.name]
            found.append(RuleFile(rule, extra_dir, str(path), False))
    return found


def load_rules(extra_dir: Path | None = None) -> RuleSet:
    """The shipped rules, then ``extra_dir/*.yaml``; a rule of the same name replaces."""
    return RuleSet(f.rule for f in load_rule_files(extra_dir))


# Applying needs the models above; it imports them only for typing, so no cycle.
from scraper.extract.apply import apply_rule, clean_with_rule, rule_zone  # noqa: E402
