"""Article images copied into the archive (``images: download``), so the archive
keeps them when the site takes them down.

Each ``<img src>`` of a body is fetched through the shared ``Fetcher`` (same
host limits, delays, retries, size cap and address guard), checked to be a
raster image both by its Content-Type and by its first bytes (SVG is refused:
it can carry scripts), stored once per content at
``assets/<year>/<sha256[:16]>.<ext>`` and the body pointed at ``/assets/…`` (or
``<image_base_url>assets/…``).
An image that fails keeps its remote address; it never fails the article.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import re
from collections.abc import Mapping
from pathlib import Path

from scraper.archive import write_new
from scraper.errors import FetchError
from scraper.http import Fetcher
from scraper.logs import log_event
from scraper.observer import Observer

log = logging.getLogger("scraper.images")

ASSETS_DIR = "assets"
MAX_IMAGES_PER_ARTICLE = 50
_KNOWN_URLS_MAX = 10_000
ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9"
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
}
_IMG_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]*)(")', re.IGNORECASE)


class ImageRefused(Exception):
    """The answer is not an image we keep; the reason says why."""


def image_sources(body: str) -> list[str]:
    """The distinct ``http(s)`` addresses of the body's ``<img src>``, in order."""
    found: dict[str, None] = {}
    for match in _IMG_SRC.finditer(body):
        url = html.unescape(match[2]).strip()
        if url.startswith(("http://", "https://")):
            found[url] = None
    return list(found)


def with_sources(body: str, local: Mapping[str, str]) -> str:
    """``body`` with each ``<img src>`` found in ``local`` pointed at its new address."""

    def swap(match: re.Match[str]) -> str:
        new = local.get(html.unescape(match[2]).strip())
        return match[0] if new is None else match[1] + html.escape(new) + match[3]

    return _IMG_SRC.sub(swap, body)


def sniff(data: bytes) -> str | None:
    """The media type the first bytes say, among those we keep; None otherwise."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "image/avif"
    return None


def checked_image(data: bytes, content_type: str, max_bytes: int) -> str:
    """The stored file's extension; ``ImageRefused`` when ``data`` is not one to keep."""
    if not content_type.startswith("image/"):
        raise ImageRefused(f"not an image ({content_type or 'no Content-Type'})")
    if len(data) > max_bytes:
        raise ImageRefused(f"larger than the {max_bytes} bytes image cap")
    media_type = sniff(data)
    if media_type is None:
        raise ImageRefused(f"not a JPEG, PNG, GIF, WebP or AVIF image ({content_type})")
    return EXTENSIONS[media_type]


def asset_relpath(data: bytes, extension: str, year: int) -> str:
    digest = hashlib.sha256(data).hexdigest()[:16]
    return f"{ASSETS_DIR}/{year:04d}/{digest}.{extension}"


def _store(root: Path, relpath: str, data: bytes) -> bool:
    """Writes ``data`` at ``root/relpath`` atomically; False when it is there already
    (the name is the content's hash, so it holds the same bytes)."""
    target = root / relpath
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_new(target, data)


class ImageLocaliser:
    """Copies a body's images under ``root/assets`` and rewrites the body to them."""

    def __init__(
        self,
        fetcher: Fetcher,
        root: Path,
        *,
        max_bytes: int,
        base_url: str = "/",
        observer: Observer | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.root = root
        self.max_bytes = max_bytes
        self.base_url = base_url  # what a local copy's src starts with, before assets/
        self.observer = observer or Observer()
        self._known: dict[str, str] = {}  # image URL → relpath, this process

    async def localise(
        self, body: str, *, year: int, source: str, article: str
    ) -> tuple[str, tuple[str, ...]]:
        """The body pointed at local copies, and the relpaths of new files written."""
        urls = image_sources(body)[:MAX_IMAGES_PER_ARTICLE]
        if not urls:
            return body, ()
        got = await asyncio.gather(*(self._one(url, year, source, article) for url in urls))
        base = self.base_url
        local = {url: base + path for url, (path, _) in zip(urls, got, strict=True) if path}
        written = tuple(relpath for relpath, new in got if relpath and new)
        return with_sources(body, local), written

    async def _one(self, url: str, year: int, source: str, article: str) -> tuple[str | None, bool]:
        if (known := self._known.get(url)) and (self.root / known).exists():
            self.observer.image_done(outcome="reused")
            return known, False
        try:
            answer = await self.fetcher.get_page(url, accept=ACCEPT)
            extension = checked_image(answer.content, answer.content_type, self.max_bytes)
            relpath = asset_relpath(answer.content, extension, year)
            created = await asyncio.to_thread(_store, self.root, relpath, answer.content)
        except (FetchError, ImageRefused, OSError) as exc:
            reason = exc.reason if isinstance(exc, FetchError) else str(exc)
            self.observer.image_done(outcome="failed")
            log_event(
                log,
                "image.failed",
                logging.WARNING,
                source=source,
                url=url,
                article=article,
                outcome="kept remote",
                reason=reason,
            )
            return None, False
        if len(self._known) >= _KNOWN_URLS_MAX:
            self._known.clear()
        self._known[url] = relpath
        self.observer.image_done(outcome="saved" if created else "reused")
        log_event(log, "image.saved", logging.DEBUG, source=source, url=url, path=relpath)
        return relpath, created
