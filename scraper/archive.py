"""The archive folder on disk: atomic, never-overwriting writes, and the index of
what is archived (the ``from:`` URL of every post).

A file appears whole or not at all: the text goes to a ``.tmp-*`` file in the
target folder (held under ``flock`` until it is published, so that a crashed
writer's leftovers can be told from a live writer's file at once), is flushed
and fsynced, then hard-linked to its name, which fails
if the name exists, so an existing post is never replaced, even by a racing
writer. Where hard links are not supported the name is reserved with
``O_EXCL`` and the temporary file renamed over the reservation.

A name is also taken when the folder holds one that differs only in case (or
Unicode normalisation): Windows and macOS would see one file where Linux has two,
and a clone of the archive there would lose one of them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

from scraper.errors import ArchiveError

TEMP_PREFIX = ".tmp-"
LOCKED_TEMP_PREFIX = TEMP_PREFIX + "locked-"  # its writer holds a flock on it while alive
HEAD_BYTES = 4096  # enough for the front matter of nearly every post
HEAD_MAX_BYTES = 256 * 1024  # a front matter longer than this has no `from:` we trust
STALE_TEMP_SECONDS = 60.0

# The first `from:` line of the front matter, or the line that closes it; both only
# once the whole line has been read.
_FROM_OR_END = re.compile(rb"\n(?:from:([^\r\n]*)|---[ \t]*)\r?\n")
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}
_REASONS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def _archive_error(exc: OSError, action: str, path: Path | str) -> ArchiveError:
    reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return ArchiveError(f"{reason} {action} {path}")


def _parse_from(value: str) -> str | None:
    value = value.strip()
    if not value.startswith(('"', "'")):
        return value or None
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return None
    return parsed if isinstance(parsed, str) else None


def read_from_url(path: str | os.PathLike[str]) -> str | None:
    """The ``from:`` value of a post's front matter, reading only its head;
    None when the file has no front matter or no ``from:`` in it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        head = os.read(fd, HEAD_BYTES)
        if not head.startswith(b"---"):
            return None
        while not _FROM_OR_END.search(head) and len(head) < HEAD_MAX_BYTES:
            more = os.read(fd, HEAD_BYTES * 4)
            if not more:
                head += b"\n"  # let a last line without a line break match
                break
            head += more
    finally:
        os.close(fd)
    found = _FROM_OR_END.search(head)
    if found is None or found[1] is None:
        return None
    return _parse_from(found[1].decode("utf-8", "replace"))


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _from_url_of_file(path: Path) -> str | None:
    """``read_from_url`` of a regular file; None for anything else or nothing."""
    return read_from_url(path) if path.is_file() and not path.is_symlink() else None


def _create_temp(folder: Path) -> tuple[Path, int]:
    """A new, empty, flocked ``.tmp-locked-*`` file in ``folder``, with the umask's
    usual mode; the lock lasts until the descriptor is closed (or the process dies)."""
    while True:
        path = folder / f"{LOCKED_TEMP_PREFIX}{secrets.token_hex(8)}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with contextlib.suppress(OSError):  # no flock here: the cleaner can't lock it either
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return path, fd


def _abandoned(path: str) -> bool | None:
    """Whether the writer of a ``.tmp-locked-*`` file is gone (its lock is free);
    None when the file system cannot tell."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    finally:
        os.close(fd)
    return True


def fsync_dir(folder: Path) -> None:
    """Makes a folder's new entries durable (where the file system can)."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot fsync a directory
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def write_new(target: Path, data: bytes) -> bool:
    """Writes ``data`` at ``target`` atomically (a locked temporary file, fsync'd,
    linked in; the folder fsync'd): False, writing nothing, if ``target`` exists.
    The one way the scraper creates a file whole (posts, images)."""
    tmp, fd = _create_temp(target.parent)
    try:
        with os.fdopen(fd, "wb") as f:  # open, so locked, until published
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            created = _publish(tmp, target)
        if created:
            fsync_dir(target.parent)
        return created
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def replace_file(target: Path, data: bytes) -> None:
    """Replaces ``target`` with ``data`` atomically: readers see the old file or the
    new one, never a part."""
    tmp, fd = _create_temp(target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(target.parent)


def _publish(tmp: Path, target: Path) -> bool:
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
    else:
        return True
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        return False
    os.replace(tmp, target)
    return True


class Archive:
    """The archive folder at ``root``; every path given is relative to it."""

    # A free lock on a ``.tmp-locked-*`` file proves its writer gone only once the
    # file is this many seconds old (None: at once; one process writes here).
    lock_grace: float | None = None

    def __init__(self, root: Path) -> None:
        self.root = root
        self._names: dict[Path, dict[str, str]] = {}  # folder → folded name → name
        self._names_lock = threading.Lock()

    def _target(self, relpath: str) -> Path:
        """``root/relpath``, refusing anything that would land outside ``root``."""
        rel = Path(relpath)
        if rel.is_absolute() or not rel.parts or ".." in rel.parts or "\\" in relpath:
            raise ArchiveError(f"refusing archive path {relpath!r}: not inside {self.root}")
        root = self.root.resolve()
        target = root / rel
        real_parent = target.parent.resolve()
        if not real_parent.is_relative_to(root) or target.is_symlink():
            raise ArchiveError(f"refusing archive path {relpath!r}: it leads outside {root}")
        return target

    def write(self, relpaths: Sequence[str], text: str, url: str) -> str:
        """Writes ``text`` at the first of ``relpaths`` that is free, and returns it.
        A path holding another article (different ``from:``) is skipped; one holding
        this ``url`` already is returned without writing."""
        data = text.encode("utf-8")
        for relpath in relpaths:
            target = self._target(relpath)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._target(relpath)  # the folders exist now: check for symlinks again
                if (twin := self._claim(target, url)) is not None:  # taken, unless by this url
                    if _from_url_of_file(target.with_name(twin)) == url:
                        return relpath[: len(relpath) - len(target.name)] + twin
                    continue
                if os.path.lexists(target):
                    if target.is_file() and read_from_url(target) == url:
                        return relpath
                    continue
                if write_new(target, data) or read_from_url(target) == url:
                    return relpath
            except OSError as exc:
                raise _archive_error(exc, "writing", target) from exc
        raise ArchiveError(
            f"no free file name for {url}: {', '.join(relpaths)} hold other articles"
        )

    def rewrite(self, relpath: str, text: str) -> None:
        """Replaces the file at ``relpath`` with ``text``, atomically (readers see the
        old file or the new one, never a part)."""
        target = self._target(relpath)
        try:
            replace_file(target, text.encode("utf-8"))
        except OSError as exc:
            raise _archive_error(exc, "rewriting", target) from exc

    def _claim(self, target: Path, url: str) -> str | None:
        """The name in ``target``'s folder that differs from its name only in case or
        normalisation, if any; else ``target``'s name is claimed (so that no racing
        writer takes a twin of it) and None returned. The folder is listed once.
        (``url``, the article's, is for claims kept elsewhere: ``SharedArchive``.)"""
        with self._names_lock:
            names = self._names.get(target.parent)
            if names is None:
                names = {_folded(n): n for n in os.listdir(target.parent)}
                self._names[target.parent] = names
            twin = names.setdefault(_folded(target.name), target.name)
        return twin if twin != target.name else None

    def _walk(self) -> Iterator[os.DirEntry[str]]:
        """Every file under ``root``, hidden folders skipped, hidden files included."""
        stack = [str(self.root)]
        while stack:
            try:
                with os.scandir(stack.pop()) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            if not entry.name.startswith("."):
                                stack.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            yield entry
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise _archive_error(exc, "reading", self.root) from exc

    def archived_paths(self) -> dict[str, str]:
        """URL → relpath (``/``-separated) of every post (``*.md``, not hidden) by
        its ``from:`` line; the first path found wins when two posts share a URL."""
        found: dict[str, str] = {}
        prefix = len(os.path.join(self.root, ""))
        for entry in self._walk():
            if entry.name.endswith(".md") and not entry.name.startswith("."):
                try:
                    url = read_from_url(entry.path)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise _archive_error(exc, "reading", entry.path) from exc
                if url and url not in found:
                    found[url] = entry.path[prefix:].replace(os.sep, "/")
        return found

    def remove_stale_temp_files(
        self, *, max_age: float = STALE_TEMP_SECONDS, now: float | None = None
    ) -> int:
        """Deletes a crash's leftovers, and returns how many: ``.tmp-locked-*`` files
        whose writer is gone (their lock is free), whatever their age (older than
        ``lock_grace``, when set), and other ``.tmp-*`` files (or where locks don't
        work) older than ``max_age`` seconds."""
        started = time.time() if now is None else now
        grace = self.lock_grace
        removed = 0
        for entry in self._walk():
            if not entry.name.startswith(TEMP_PREFIX):
                continue
            try:
                age = started - entry.stat(follow_symlinks=False).st_mtime
                locked = entry.name.startswith(LOCKED_TEMP_PREFIX)
                gone = _abandoned(entry.path) if locked and (grace is None or age > grace) else None
                if gone or (gone is None and age > max_age):
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise _archive_error(exc, "removing", entry.path) from exc
        return removed
