"""Hooks the pipeline calls as work happens, for metrics and progress displays.

``Observer`` does nothing: it is the default, so the pipeline runs the same with
or without anyone watching. ``metrics.PrometheusObserver`` counts for
``/metrics``; ``progress.Progress`` draws the ``--once`` progress line. The
shared ``Fetcher`` is given the observer as its ``hooks``: it reports every answer
and failure itself, so this module needs nothing of the HTTP client.
"""

from __future__ import annotations

from datetime import datetime

from scraper.types import SourceResult


def is_fallback(method: str) -> bool:
    """Whether an extraction ``method`` is a fallback (no site rule matched)."""
    return not method.startswith("rule:")


class Observer:
    """Receives the pipeline's events. Every method is a no-op here; subclasses
    override what they need. Methods must be quick and must not raise."""

    def source_known(
        self, source: str, *, last_success: datetime | None, consecutive_failures: int
    ) -> None:
        """A configured source and its health from the state (at start and reload)."""

    def source_removed(self, source: str) -> None:
        """A source left the config (reload)."""

    def config_reloaded(self, *, ok: bool) -> None:
        pass

    def source_started(self, source: str) -> None:
        pass

    def source_finished(
        self,
        result: SourceResult,
        *,
        duration: float,
        last_success: datetime | None,
        consecutive_failures: int,
    ) -> None:
        pass

    def article_written(self, source: str, *, method: str, duration: float) -> None:
        pass

    def article_failed(self, source: str, *, reason: str) -> None:
        pass

    def queue_changed(self, delta: int) -> None:
        """Articles planned for fetching and not yet finished, up or down."""

    def fetched(self, *, status: int, size: int, duration: float) -> None:
        pass

    def fetch_failed(self, *, kind: str, status: int | None, duration: float) -> None:
        pass

    def image_done(self, *, outcome: str) -> None:
        """``outcome``: ``saved``, ``reused`` or ``failed``."""

    def rule_part(self, rule: str, part: str, *, matched: bool) -> None:
        """A part of a site rule found something on a page (or nothing: it is stale
        until it matches again)."""

    def rule_known(self, rule: str, part: str, *, stale: bool) -> None:
        """A rule part as the state has it (at start)."""
