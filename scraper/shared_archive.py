"""The archive folder as several workers share it (``scrape worker``).

One process keeps the names it has given out in memory (``Archive._claim``); the
workers of a cluster claim them in the database instead (``State.claim_name``),
so that two never write one name, or two names that differ only in case, for two
articles. A claim is committed before its file is written and never given back:
a worker killed in between leaves the name to its article, whose next try, on
any worker, finds the claim its own and writes (or finds) the file there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from scraper.archive import Archive, _folded, _from_url_of_file
from scraper.state import State


class SharedArchive(Archive):
    """The archive at ``root``, its names claimed through ``claims`` (a state
    connection of its own: writes run on worker threads, one claim at a time)."""

    def __init__(self, root: Path, claims: State, clock: Callable[[], datetime]) -> None:
        super().__init__(root)
        self._claims = claims
        self._clock = clock
        self._claims_lock = threading.Lock()

    def write(self, relpaths: Sequence[str], text: str, url: str) -> str:
        """As ``Archive.write``; first, a file another worker already wrote for
        ``url`` (under a name of its claim, which may differ from ``relpaths``:
        the same article in two sources) is returned without writing."""
        with self._claims_lock:
            claimed = self._claims.names_of(url)
        for relpath in claimed:
            if _from_url_of_file(self._target(relpath)) == url:
                return relpath
        return super().write(relpaths, text, url)

    def _claim(self, target: Path, url: str) -> str | None:
        folder = target.parent.relative_to(self.root.resolve()).as_posix()
        folder = "" if folder == "." else folder
        with self._claims_lock:
            name, holder = self._claims.claim_name(
                folder, _folded(target.name), target.name, url, self._clock()
            )
        if (name, holder) != (target.name, url):
            return name  # another article's (or this one's under another spelling)
        return super()._claim(target, url)  # a twin on disk from before the cluster

    def close(self) -> None:
        self._claims.close()
