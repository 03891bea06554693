"""The archive folder as several workers share it (``scrape worker``).

One process keeps the names it has given out in memory (``Archive._claim``); the
workers of a cluster claim them in the database instead, twice:

* the file name (``State.claim_name``), so that two never write one name, or two
  names that differ only in case, for two articles;
* the article's one path (``State.claim_article``), so that one article found at
  once in two feeds by two workers, each of which would name it differently (the
  sources' path templates, or the day each first saw it), is one file: the first
  claim wins and the other worker writes there, or finds the file there.

Claims are committed before the file is written and never given back: a worker
killed in between leaves the path to its article, whose next try, on any worker,
finds the claim its own and writes (or finds) the file there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from scraper.archive import (
    Archive,
    _archive_error,
    _folded,
    _from_url_of_file,
    read_from_url,
    write_new,
)
from scraper.errors import ArchiveError
from scraper.state import State

T = TypeVar("T")
LOCK_GRACE = 10.0  # seconds: a temporary file younger than this may be a writer's still


class SharedArchive(Archive):
    """The archive at ``root``, its names claimed through ``claims`` (a state
    connection of its own: writes run on worker threads, one claim at a time)."""

    # Other workers write in this folder all the time, and a writer takes its file's
    # lock a moment after it creates it: removed in between, its write would fail.
    lock_grace = LOCK_GRACE

    def __init__(self, root: Path, claims: State, clock: Callable[[], datetime]) -> None:
        super().__init__(root)
        self._claims = claims
        self._clock = clock
        self._claims_lock = threading.Lock()

    def _claiming(self, claim: Callable[..., T], *args: object) -> T:
        with self._claims_lock:
            return claim(*args)

    def write(self, relpaths: Sequence[str], text: str, url: str) -> str:
        """As ``Archive.write``, but the article's path is the one claimed for
        ``url`` across the cluster: the first of ``relpaths`` that is free, unless
        another worker claimed another path for it first; that path is written (or
        found written) instead."""
        data = text.encode("utf-8")
        held = self._claiming(self._claims.article_path, url)
        if held is not None:
            return self._write_claimed(held, data, url)
        for relpath in relpaths:
            target = self._target(relpath)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._target(relpath)  # the folders exist now: check for symlinks again
                written = self._try_name(relpath, target, data, url)
            except OSError as exc:
                raise _archive_error(exc, "writing", target) from exc
            if written is not None:
                return written
        raise ArchiveError(
            f"no free file name for {url}: {', '.join(relpaths)} hold other articles"
        )

    def _try_name(self, relpath: str, target: Path, data: bytes, url: str) -> str | None:
        """The article written at ``relpath`` (or where its claim says); None when
        the name is another article's."""
        folder = self._folder(target)
        folded = _folded(target.name)
        name, holder = self._claiming(
            self._claims.claim_name, folder, folded, target.name, url, self._clock()
        )
        if holder != url:
            return None  # another article's name
        if name != target.name:  # this article's under another spelling: its claim's
            relpath = relpath[: len(relpath) - len(target.name)] + name
            target = target.with_name(name)
        elif (twin := Archive._claim(self, target, url)) is not None:
            # a case twin on disk from before the cluster: this article, or another's
            found = relpath[: len(relpath) - len(name)] + twin
            return found if self._holds(target.with_name(twin), url) else None
        if os.path.lexists(target) and not self._holds(target, url):
            return None  # a file from before the cluster, another article's
        held = self._claiming(
            self._claims.claim_article, url, folder, folded, relpath, self._clock()
        )
        if held != relpath:  # another worker's claim of this article came first
            return self._write_claimed(held, data, url)
        if write_new(target, data) or self._holds(target, url):
            return relpath
        raise ArchiveError(f"{target} appeared at once holding another article than {url}")

    def _write_claimed(self, relpath: str, data: bytes, url: str) -> str:
        """Writes the article at its claimed path, unless it is there already."""
        target = self._target(relpath)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._target(relpath)
            if not os.path.lexists(target) and write_new(target, data):
                return relpath
            if self._holds(target, url):
                return relpath
            other = _from_url_of_file(target)
        except OSError as exc:
            raise _archive_error(exc, "writing", target) from exc
        raise ArchiveError(
            f"{target} is the path claimed for {url}, but it holds another article"
            f" (from: {other or 'none'}); move it aside"
        )

    @staticmethod
    def _holds(target: Path, url: str) -> bool:
        return target.is_file() and not target.is_symlink() and read_from_url(target) == url

    def _folder(self, target: Path) -> str:
        folder = target.parent.relative_to(self.root.resolve()).as_posix()
        return "" if folder == "." else folder

    def close(self) -> None:
        self._claims.close()
