"""Prometheus metrics for ``/metrics``: an ``Observer`` that counts into its own registry.

Names follow Prometheus conventions (``_total`` counters, ``_seconds`` and
``_bytes`` units). Labels hold only bounded values: source names from the
config, HTTP status codes, and the fixed labels of ``FetchError.label``.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder

from scraper.observer import Observer, is_fallback
from scraper.types import SourceResult

_SLOW = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
_FAST = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class PrometheusObserver(Observer):
    """Counts the pipeline's events; ``exposition()`` is the ``/metrics`` answer."""

    def __init__(self, *, process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry()
        if process_metrics:
            ProcessCollector(registry=self.registry)
        r = self.registry
        self.polls = Counter(
            "scraper_polls",
            "Polls of a source, by outcome (ok, partial, failed)",
            ["source", "outcome"],
            registry=r,
        )
        self.articles = Counter(
            "scraper_articles_written", "Articles archived (files written)", ["source"], registry=r
        )
        self.article_failures = Counter(
            "scraper_article_failures",
            "Articles that could not be archived this try",
            ["source"],
            registry=r,
        )
        self.fallbacks = Counter(
            "scraper_extraction_fallbacks",
            "Articles extracted without a site rule: generic extractor or the feed's content",
            ["source", "method"],
            registry=r,
        )
        self.fetch_errors = Counter(
            "scraper_fetch_errors", "Failed fetches, by reason", ["reason"], registry=r
        )
        self.responses = Counter(
            "scraper_http_responses", "HTTP answers, by final status code", ["code"], registry=r
        )
        self.bytes = Counter(
            "scraper_fetched_bytes", "Body bytes fetched (after decompression)", registry=r
        )
        self.images = Counter(
            "scraper_images",
            "Article images: saved, reused (already stored) or failed",
            ["outcome"],
            registry=r,
        )
        self.reloads = Counter(
            "scraper_config_reloads", "Config reloads (SIGHUP), by outcome", ["outcome"], registry=r
        )
        self.rule_misses = Counter(
            "scraper_rule_misses",
            "Pages on which a part of a site rule (listing, body, title, published) found nothing",
            ["rule", "part"],
            registry=r,
        )
        self.rule_stale = Gauge(
            "scraper_rule_stale",
            "1 while a part of a site rule finds nothing (since its last miss), else 0",
            ["rule", "part"],
            registry=r,
        )
        self.last_success = Gauge(
            "scraper_source_last_success_timestamp_seconds",
            "Unix time of the source's last successful poll",
            ["source"],
            registry=r,
        )
        self.failures = Gauge(
            "scraper_source_consecutive_failures",
            "Polls of the source that failed in a row",
            ["source"],
            registry=r,
        )
        self.queue = Gauge(
            "scraper_queue_depth", "Articles planned for fetching and not yet finished", registry=r
        )
        self.poll_seconds = Histogram(
            "scraper_poll_duration_seconds",
            "Time to poll a source and archive what was new",
            ["source"],
            buckets=_SLOW,
            registry=r,
        )
        self.article_seconds = Histogram(
            "scraper_article_duration_seconds",
            "Time to fetch, extract and write one article",
            buckets=_SLOW,
            registry=r,
        )
        self.fetch_seconds = Histogram(
            "scraper_fetch_duration_seconds",
            "Time of one fetch, retries and redirects included",
            buckets=_FAST,
            registry=r,
        )

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The body and its Content-Type, in the format the ``Accept`` header asks
        for (the Prometheus text format unless OpenMetrics is asked for)."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type

    # -- Observer -------------------------------------------------------------

    def source_known(
        self, source: str, *, last_success: datetime | None, consecutive_failures: int
    ) -> None:
        """Sets a source's gauges from the state, so they are right from the start."""
        self.failures.labels(source).set(consecutive_failures)
        if last_success is not None:
            self.last_success.labels(source).set(last_success.timestamp())
        for outcome in ("ok", "partial", "failed"):
            self.polls.labels(source, outcome)
        self.articles.labels(source)

    def source_removed(self, source: str) -> None:
        for gauge in (self.failures, self.last_success):
            with contextlib.suppress(KeyError):
                gauge.remove(source)

    def source_finished(
        self,
        result: SourceResult,
        *,
        duration: float,
        last_success: datetime | None,
        consecutive_failures: int,
    ) -> None:
        outcome = "failed" if result.error else "partial" if result.failed else "ok"
        self.polls.labels(result.source, outcome).inc()
        self.poll_seconds.labels(result.source).observe(duration)
        self.failures.labels(result.source).set(consecutive_failures)
        if last_success is not None:
            self.last_success.labels(result.source).set(last_success.timestamp())

    def article_written(self, source: str, *, method: str, duration: float) -> None:
        self.articles.labels(source).inc()
        self.article_seconds.observe(duration)
        if is_fallback(method):
            self.fallbacks.labels(source, method or "unknown").inc()

    def article_failed(self, source: str, *, reason: str) -> None:
        self.article_failures.labels(source).inc()

    def queue_changed(self, delta: int) -> None:
        self.queue.inc(delta)

    def fetched(self, *, status: int, size: int, duration: float) -> None:
        self.responses.labels(str(status)).inc()
        self.bytes.inc(size)
        self.fetch_seconds.observe(duration)

    def fetch_failed(self, *, kind: str, status: int | None, duration: float) -> None:
        self.fetch_errors.labels(kind).inc()
        if status is not None:
            self.responses.labels(str(status)).inc()
        self.fetch_seconds.observe(duration)

    def image_done(self, *, outcome: str) -> None:
        self.images.labels(outcome).inc()

    def rule_part(self, rule: str, part: str, *, matched: bool) -> None:
        if not matched:
            self.rule_misses.labels(rule, part).inc()
        self.rule_stale.labels(rule, part).set(0 if matched else 1)

    def rule_known(self, rule: str, part: str, *, stale: bool) -> None:
        self.rule_misses.labels(rule, part)
        self.rule_stale.labels(rule, part).set(1 if stale else 0)

    def config_reloaded(self, *, ok: bool) -> None:
        self.reloads.labels("ok" if ok else "failed").inc()
