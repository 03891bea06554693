"""The exception tree. Library errors are translated into these at the edge.

ScraperError
├── ConfigError            the config file is missing or invalid (exit 2)
├── SourceError(url)       something about one URL of one source
│   ├── FetchError         network, HTTP status, size cap, blocked address
│   ├── ParseError         a feed or listing that cannot be read at all
│   └── ExtractError       a page with no article in it
├── ArchiveError           writing the archive failed (disk full, read-only)
└── StateError             the state database is locked or unusable
"""

from __future__ import annotations


class ScraperError(Exception):
    """Base of every error the scraper expects and reports."""


class ConfigError(ScraperError):
    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class SourceError(ScraperError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class FetchError(SourceError):
    """``status`` is the HTTP status when there was one; ``retry_after`` the
    seconds a server asked us to wait (429/503); ``kind`` a short, fixed label of
    what went wrong without a status (``timeout``, ``dns``, ``tls``, ``too_large``,
    ``blocked_address``, ``redirect``, ``bad_body``, ``connection``,
    ``connection_refused``, ``invalid_url`` or ``other``), for metrics."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        permanent: bool = False,
        kind: str = "other",
    ) -> None:
        super().__init__(url, reason)
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent  # retrying will not help (404, 410, blocked…)
        self.kind = kind

    @property
    def label(self) -> str:
        """A short, fixed label for why the fetch failed (Prometheus labels must not be
        free text): ``http_404`` when there was a status, else ``kind``."""
        return f"http_{self.status}" if self.status is not None else self.kind


class ParseError(SourceError):
    pass


class ExtractError(SourceError):
    pass


class ArchiveError(ScraperError):
    pass


class StateError(ScraperError):
    pass
