"""Commit (and push) the files a run wrote, in the archive's git repository.

``git: {commit: true}`` commits exactly the files the run wrote (posts, and
images under ``assets/``), nothing else the working tree holds, with a message
naming the count and the sources. The archive folder may be a subfolder of the
repository. With ``push: true`` the branch is pushed after each commit; a failed
push is logged and the commit stays: the next push sends it along. git runs
as a subprocess (``run`` is injectable); nothing here raises for git trouble.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scraper.config import GitSettings
from scraper.logs import log_event
from scraper.types import SourceResult

log = logging.getLogger("scraper.git")

GIT_TIMEOUT = 120.0
FALLBACK_IDENTITY = ("-c", "user.name=scraper", "-c", "user.email=scraper@localhost")

Run = Callable[..., subprocess.CompletedProcess[str]]


@dataclass(frozen=True, slots=True)
class GitOutcome:
    commit: str | None = None  # the new commit's id
    pushed: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class GitError(Exception):
    pass


def commit_message(results: Sequence[SourceResult]) -> str:
    """``Archive 3 articles: zaobao-realtime-china (2), zaobao-realtime-world (1)``."""
    per_source = Counter({r.source: r.new for r in results if r.new})
    total = sum(per_source.values())
    noun = "article" if total == 1 else "articles"
    sources = ", ".join(f"{name} ({n})" for name, n in sorted(per_source.items()))
    images = sum(1 for r in results for p in r.written if p.startswith("assets/"))
    extra = f"\n\nWith {images} image{'s' if images != 1 else ''}." if images else ""
    return f"Archive {total} {noun}: {sources}{extra}"


class Git:
    """git commands in the repository holding ``archive_dir``."""

    def __init__(self, archive_dir: Path, *, run: Run = subprocess.run) -> None:
        self.archive_dir = archive_dir
        self._run = run
        self._env = {
            **os.environ,
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",  # a push needing a password fails, never waits
            "GIT_LITERAL_PATHSPECS": "1",  # file names with * ? [ are names, not patterns
        }

    def __call__(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        try:
            done = self._run(
                ["git", *args],
                cwd=self.archive_dir,
                env=self._env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} took longer than {GIT_TIMEOUT:g}s") from None
        if check and done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise GitError(f"git {args[0]} failed: {said[-1] if said else done.returncode}")
        return done.stdout.strip()

    def commit(self, relpaths: Sequence[str], message: str) -> str | None:
        """Commits ``relpaths`` (relative to ``archive_dir``) alone; the new commit's id,
        None when they hold nothing new for git."""
        top = Path(self("rev-parse", "--show-toplevel")).resolve()
        archive = self.archive_dir.resolve()
        names = [(archive / p).relative_to(top).as_posix() for p in dict.fromkeys(relpaths)]
        paths = "\0".join(names)
        at_top = ("-C", str(top))
        self(*at_top, "add", "--pathspec-from-file=-", "--pathspec-file-nul", stdin=paths)
        staged = self(*at_top, "diff", "--cached", "--name-only", "-z").split("\0")
        if not set(names) & set(staged):
            return None
        identity = () if self("config", "user.email", check=False) else FALLBACK_IDENTITY
        self(
            *identity,
            *at_top,
            "commit",
            "--quiet",
            "-m",
            message,
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
            stdin=paths,
        )
        return self("rev-parse", "HEAD")

    def push(self, remote: str | None) -> None:
        self("push", "--quiet", *([remote] if remote else []))

    def unpushed(self) -> int:
        """Commits on the branch its upstream lacks; 0 when there is no upstream."""
        count = self("rev-list", "--count", "@{upstream}..HEAD", check=False)
        return int(count) if count.isdigit() else 0


def publish(
    archive_dir: Path,
    settings: GitSettings,
    results: Sequence[SourceResult],
    *,
    run: Run | None = None,
    written: Sequence[str] = (),
    message: str | None = None,
) -> GitOutcome:
    """Commits what ``results`` wrote (and ``written``) and pushes, as ``settings``
    say; logs the outcome. ``message``: instead of the one made from ``results``."""
    written = [*(p for r in results for p in r.written), *written]
    if not settings.commit or not (written or settings.push):
        return GitOutcome()
    git = Git(archive_dir, run=run or subprocess.run)
    commit: str | None = None
    step = "commit"
    try:
        if written:
            commit = git.commit(written, message or commit_message(results))
            if commit:
                log_event(log, "git.committed", commit=commit[:12], files=len(written))
        step = "push"
        if settings.push and (commit or git.unpushed()):
            git.push(settings.remote)
            log_event(log, "git.pushed", remote=settings.remote or "upstream")
            return GitOutcome(commit, pushed=True)
    except GitError as exc:
        log_event(log, f"git.{step}_failed", logging.ERROR, reason=str(exc), commit=commit)
        return GitOutcome(commit, error=f"{step}: {exc}")
    return GitOutcome(commit)
