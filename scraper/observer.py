"""Hooks the pipeline calls as work happens, for metrics and progress displays.

``Observer`` does nothing: it is the default, so the pipeline runs the same with
or without anyone watching. ``metrics.PrometheusObserver`` counts for
``/metrics``; ``progress.Progress`` draws the ``--once`` progress line.
``ObservedFetcher`` is the shared ``Fetcher`` reporting every answer and failure.
"""

from __future__ import annotations

import time
from datetime import datetime

from scraper.config import HttpSettings
from scraper.errors import FetchError
from scraper.http import Fetcher, PageGate
from scraper.types import Fetched, NotModified, SourceResult, Validators


def fetch_error_kind(error: FetchError) -> str:
    """A short, fixed label for why a fetch failed (Prometheus labels must not be
    free text): ``http_404``, ``timeout``, ``tls``, ``too_large``, … or ``other``."""
    return f"http_{error.status}" if error.status is not None else error.kind


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


class ObservedFetcher(Fetcher):
    """The ``Fetcher``, telling ``observer`` how each ``get`` ended and how long it took."""

    def __init__(
        self,
        http: HttpSettings,
        *,
        observer: Observer,
        allow_private_networks: bool = False,
        proxy: str | None = None,
    ) -> None:
        super().__init__(http, allow_private_networks=allow_private_networks, proxy=proxy)
        self.observer = observer

    async def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        accept: str | None = None,
        gate: PageGate | None = None,
    ) -> Fetched | NotModified:
        started = time.monotonic()
        try:
            answer = await super().get(url, validators=validators, accept=accept, gate=gate)
        except FetchError as exc:
            self.observer.fetch_failed(
                kind=fetch_error_kind(exc), status=exc.status, duration=time.monotonic() - started
            )
            raise
        duration = time.monotonic() - started
        if isinstance(answer, NotModified):
            self.observer.fetched(status=304, size=0, duration=duration)
        else:
            self.observer.fetched(status=answer.status, size=len(answer.content), duration=duration)
        return answer
