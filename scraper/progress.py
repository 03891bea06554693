"""The ``scrape --once`` progress line, for a person at a terminal.

One line on stderr, redrawn in place: sources done of the total, articles
written, errors, and the sources being polled. Log lines that still show
(warnings and errors, unless ``--log-level`` asks for more) are printed above it.
Only used when stderr is a terminal; elsewhere the plain log lines are the output.
"""

from __future__ import annotations

import logging
import shutil
import time
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from scraper.observer import Observer
from scraper.types import SourceResult

REDRAW_EVERY = 0.1  # seconds; source events always redraw
_CLEAR = "\r\x1b[K"


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns (wide CJK characters count two)."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for c in text:
        w = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        if used + w > width - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def plural(n: int, word: str) -> str:
    """``1 source``, ``2 sources``, ``0 new articles``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


class Progress(Observer):
    """Counts the run's events and keeps the progress line on ``stream`` current."""

    def __init__(
        self, stream: TextIO, total: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self.written = 0
        self.errors = 0
        self.active: list[str] = []
        self._clock = clock
        self._drawn_at = float("-inf")
        self._shown = False

    def line(self) -> str:
        parts = [
            f"{self.done}/{plural(self.total, 'source')}",
            f"{plural(self.written, 'article')} written",
            plural(self.errors, "error"),
        ]
        if self.active:
            parts.append("polling " + ", ".join(self.active))
        return "scrape: " + " · ".join(parts)

    def draw(self, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._drawn_at < REDRAW_EVERY:
            return
        self._drawn_at = now
        width = shutil.get_terminal_size((80, 24)).columns
        self.stream.write(_CLEAR + fit(self.line(), max(width - 1, 10)))
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write(_CLEAR)
            self.stream.flush()
            self._shown = False

    def close(self) -> None:
        """Leaves the final count on its own line."""
        self.active.clear()
        self.draw(force=True)
        self.stream.write("\n")
        self.stream.flush()
        self._shown = False

    # -- Observer -------------------------------------------------------------

    def source_started(self, source: str) -> None:
        self.active.append(source)
        self.draw(force=True)

    def source_finished(
        self,
        result: SourceResult,
        *,
        duration: float,
        last_success: datetime | None,
        consecutive_failures: int,
    ) -> None:
        self.done += 1
        if result.source in self.active:
            self.active.remove(result.source)
        if result.error:
            self.errors += 1
        self.draw(force=True)

    def article_written(self, source: str, *, method: str, duration: float) -> None:
        self.written += 1
        self.draw()

    def article_failed(self, source: str, *, reason: str) -> None:
        self.errors += 1
        self.draw()

    # -- log lines above the progress line ----------------------------------

    def attach(self, level: int | None) -> None:
        """Routes the scraper's log handlers through ``AboveProgress``; ``level``
        (when given) is the least severe record still shown."""
        for name in ("scraper", "apscheduler"):
            logger = logging.getLogger(name)
            logger.handlers[:] = [AboveProgress(h, self, level) for h in logger.handlers]

    @staticmethod
    def detach() -> None:
        for name in ("scraper", "apscheduler"):
            logger = logging.getLogger(name)
            logger.handlers[:] = [
                h.inner if isinstance(h, AboveProgress) else h for h in logger.handlers
            ]


class AboveProgress(logging.Handler):
    """Clears the progress line, lets ``inner`` print the record, draws the line again."""

    def __init__(self, inner: logging.Handler, progress: Progress, level: int | None) -> None:
        super().__init__(logging.NOTSET if level is None else level)
        self.inner = inner
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        self.progress.clear()
        self.inner.handle(record)
        self.progress.draw(force=True)
