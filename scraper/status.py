"""``scrape status``: what the state says about each source, for people and scripts.

Per source: last success, last error, articles archived, consecutive failures,
next poll, and the articles that failed (those tried ``max_attempts`` times are
given up); sources the state knows but the config no longer names are listed
too, marked so. Reading never creates a state database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scraper.config import Settings
from scraper.decide import EntryRecord, given_up, next_try
from scraper.state import RulePart, SourceHealth, State, state_exists

_FAILED_SHOWN = 5  # failed articles listed per source in the text; --json lists all


@dataclass(frozen=True, slots=True)
class SourceStatus:
    source: str
    configured: bool  # named in the config
    enabled: bool
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    articles: int
    next_poll: datetime | None
    failed: tuple[EntryRecord, ...] = ()  # articles not archived, latest try first
    max_attempts: int = 5  # tries before an article is given up

    def is_given_up(self, entry: EntryRecord) -> bool:
        return given_up(entry.attempts, self.max_attempts)

    @property
    def given_up(self) -> int:
        return sum(1 for f in self.failed if self.is_given_up(f))

    def overdue(self, now: datetime) -> bool:
        """A poll is expected (the source is configured and enabled) and its time
        has passed: the daemon is not running, or is behind."""
        return (
            self.configured and self.enabled and self.next_poll is not None and self.next_poll < now
        )

    def next_try(self, entry: EntryRecord) -> datetime | None:
        """When a failed article is tried again; None once given up (or unknown)."""
        if self.is_given_up(entry) or entry.last_try is None:
            return None
        return next_try(entry.attempts, entry.last_try)


@dataclass(frozen=True, slots=True)
class StateView:
    health: dict[str, SourceHealth]
    failed: dict[str, list[EntryRecord]]
    rules: tuple[RulePart, ...] = ()  # how each site rule's parts have been doing


def read_health(settings: Settings) -> StateView:
    """Every source's health and failed articles from the state; empty when there
    is no state yet."""
    if not state_exists(settings.state_target):
        return StateView({}, {})
    with State(settings.state_target) as state:
        return StateView(
            {h.source: h for h in state.all_health()},
            state.failed_entries(),
            tuple(state.rule_parts()),
        )


def statuses(settings: Settings, view: StateView) -> list[SourceStatus]:
    """Configured sources in config order, then those only the state knows, by name."""
    health: Mapping[str, SourceHealth] = view.health
    out: list[SourceStatus] = []
    names = [s.name for s in settings.sources]
    enabled = {s.name: s.enabled for s in settings.sources}
    for name in names + sorted(set(health) - set(names)):
        h = health.get(name) or SourceHealth(name, None, None, None, 0, None, 0)
        out.append(
            SourceStatus(
                source=name,
                configured=name in enabled,
                enabled=enabled.get(name, False),
                last_success=h.last_success,
                last_error=h.last_error,
                last_error_at=h.last_error_at,
                consecutive_failures=h.consecutive_failures,
                articles=h.articles,
                next_poll=h.next_poll,
                failed=tuple(view.failed.get(name, ())),
                max_attempts=settings.max_attempts,
            )
        )
    return out


def _amount(seconds: float) -> str:
    """``22m``, ``3h``, ``45s``: a length of time, roughly."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _ago(when: datetime, now: datetime) -> str:
    seconds = (now - when).total_seconds()
    return f"in {_amount(-seconds)}" if seconds < 0 else f"{_amount(seconds)} ago"


def _stamp(when: datetime) -> str:
    return f"{when.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S')}Z"


def _when(when: datetime | None, now: datetime, never: str = "never") -> str:
    if when is None:
        return never
    return f"{_stamp(when)} ({_ago(when, now)})"


def _next_poll(s: SourceStatus, now: datetime) -> str:
    if s.next_poll is not None and s.overdue(now):
        return f"{_stamp(s.next_poll)} (overdue by {_amount((now - s.next_poll).total_seconds())})"
    return _when(s.next_poll, now, "when the daemon starts")


def _state_word(s: SourceStatus) -> str:
    if not s.configured:
        return "not in the config"
    if not s.enabled:
        return "disabled"
    if s.consecutive_failures:
        n = s.consecutive_failures
        return f"FAILING ({n} poll{'s' if n != 1 else ''} in a row)"
    return "ok" if s.last_success else "not polled yet"


def format_text(rows: Sequence[SourceStatus], now: datetime, rules: Sequence[RulePart] = ()) -> str:
    """One block per source, then one for the site rules' parts; times in UTC with
    how long ago (or until)."""
    if not rows:
        return "no sources in the config and none in the state"
    blocks = []
    for s in rows:
        lines = [f"{s.source}  {_state_word(s)}"]
        lines.append(f"  last success  {_when(s.last_success, now)}")
        if s.last_error:
            lines.append(
                f"  last error    {_when(s.last_error_at, now, 'unknown')}: {s.last_error}"
            )
        lines.append(f"  articles      {s.articles}")
        if s.failed:
            lines += _failed_lines(s, now)
        if s.configured and s.enabled:
            lines.append(f"  next poll     {_next_poll(s, now)}")
        blocks.append("\n".join(lines))
    if rules:
        blocks.append("\n".join(["rules", *(_rule_line(p, now) for p in rules)]))
    return "\n\n".join(blocks)


def _rule_line(part: RulePart, now: datetime) -> str:
    head = f"  {part.rule} {part.part:<9}"
    if part.stale_since is not None:
        misses = f"{part.misses} miss{'es' if part.misses != 1 else ''} in a row"
        return (
            f"{head} STALE since {_when(part.stale_since, now)}, {misses}; first "
            f"{part.stale_url} ({part.stale_source}); last match {_when(part.last_match, now)}"
        )
    return f"{head} ok, last match {_when(part.last_match, now)}"


def _failed_lines(s: SourceStatus, now: datetime) -> list[str]:
    count = len(s.failed)
    head = f"  failed        {count} article{'s' if count != 1 else ''}"
    lines = [head + (f", {s.given_up} given up" if s.given_up else "")]
    for f in s.failed[:_FAILED_SHOWN]:
        tries = f"{f.attempts} tr{'ies' if f.attempts != 1 else 'y'}"
        when = _ago(f.last_try, now) if f.last_try else "unknown"
        due = s.next_try(f)
        if s.is_given_up(f):
            verdict = ", given up"
        elif due is not None and due > now:
            verdict = f", next try {_ago(due, now)}"
        else:
            verdict = ", next try at the next poll"
        lines.append(f"    {f.url}  {f.last_error or 'no reason kept'} ({tries}, {when}{verdict})")
    if count > _FAILED_SHOWN:
        lines.append(f"    … and {count - _FAILED_SHOWN} more (status --json lists them all)")
    return lines


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def as_json(rows: Sequence[SourceStatus], now: datetime, rules: Sequence[RulePart] = ()) -> str:
    """``{"sources": [{"name": …, "last_success": "…Z" | null, …}], "rules": […]}``;
    ``overdue`` is whether ``next_poll`` has passed (at ``now``) with no poll since."""
    doc: dict[str, Any] = {
        "sources": [
            {
                "name": s.source,
                "configured": s.configured,
                "enabled": s.enabled,
                "last_success": _iso(s.last_success),
                "last_error": s.last_error,
                "last_error_at": _iso(s.last_error_at),
                "consecutive_failures": s.consecutive_failures,
                "articles": s.articles,
                "next_poll": _iso(s.next_poll),
                "overdue": s.overdue(now),
                "failed_articles": [
                    {
                        "url": f.url,
                        "attempts": f.attempts,
                        "given_up": s.is_given_up(f),
                        "last_error": f.last_error,
                        "last_try": _iso(f.last_try),
                        "next_try": _iso(s.next_try(f)),
                    }
                    for f in s.failed
                ],
            }
            for s in rows
        ],
        "rules": [
            {
                "rule": p.rule,
                "part": p.part,
                "stale": p.stale,
                "stale_since": _iso(p.stale_since),
                "misses_in_a_row": p.misses,
                "misses": p.misses_total,
                "last_match": _iso(p.last_match),
                "last_miss": _iso(p.last_miss),
                "first_source": p.stale_source,
                "first_url": p.stale_url,
            }
            for p in rules
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)
