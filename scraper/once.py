"""``scrape --once``: the cron job. Poll, show progress or log lines, print the
summary, commit to git, and answer with the exit status.

Exit status: 0 every source and article succeeded (and the git commit and push,
when configured); 1 something failed; 2 (raised as ``ConfigError``) the config
or the command line is wrong. On a terminal, stderr shows a progress line and
only warnings and errors; elsewhere it gets the usual log lines. ``quiet``
prints only errors and a summary of what failed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from scraper.config import Settings, SourceConfig
from scraper.decide import due
from scraper.gitsync import GitOutcome, publish
from scraper.progress import Progress, plural
from scraper.state import State, state_exists
from scraper.wiring import poll_once, select_sources

if TYPE_CHECKING:
    from scraper.types import SourceResult

EXIT_OK, EXIT_FAILED = 0, 1


def summary(results: Sequence[SourceResult], *, quiet: bool = False) -> str:
    """A line per source (in ``quiet``, per failing source only) and a total line."""
    lines = []
    width = max((len(r.source) for r in results), default=0)
    for r in results:
        if quiet and r.ok:
            continue
        if r.error:
            status = f"FAILED: {r.error}"
        else:
            status = _counts(r)
            if r.waiting:
                status += f", to retry {r.waiting}"
            if r.gave_up:
                status += f", given up {r.gave_up}"
            if r.degraded:
                status += f" (degraded: {r.degraded})"
        if r.stale_rules:
            status += f"; STALE rule: {', '.join(r.stale_rules)}"
        lines.append(f"{r.source:<{width}}  {status}")
        lines += [f"{'':<{width}}    {f.url}: {f.reason}" for f in r.failed]
    total = sum(r.new for r in results)
    failed = sum(1 for r in results if not r.ok)
    lines.append(
        f"{plural(len(results), 'source')}, {plural(total, 'new article')}, {failed} with failures"
    )
    return "\n".join(lines)


def _counts(r: SourceResult) -> str:
    """``new 2, unchanged 5, failed 0``; ``not modified`` for a source that answered
    304 (only its failed entries, if any were due, were tried)."""
    if not r.not_modified:
        return f"new {r.new}, unchanged {r.unchanged}, failed {len(r.failed)}"
    if r.new or r.failed:
        return f"not modified; retried: new {r.new}, failed {len(r.failed)}"
    return "not modified"


# cron starts jobs on the minute, give or take: a source due within it is due now
_DUE_SLACK = timedelta(minutes=1)


def not_due(
    settings: Settings, sources: Sequence[SourceConfig], now: datetime
) -> dict[str, datetime]:
    """The sources whose next poll (their interval after the last, or the backoff
    after failures, as the state has it) is still ahead, with its time."""
    if not state_exists(settings.state_target):
        return {}
    with State(settings.state_target) as state:
        next_polls = state.next_polls()
    found = {}
    for source in sources:
        next_poll = next_polls.get(source.name)
        if next_poll is not None and not due(next_poll, now, _DUE_SLACK):
            found[source.name] = next_poll
    return found


def waiting_lines(later: dict[str, datetime], now: datetime) -> str:
    width = max(len(name) for name in later)
    return "\n".join(
        f"{name:<{width}}  not due: next poll in {_minutes(when - now)}"
        for name, when in later.items()
    )


def _minutes(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    return f"{minutes}m" if minutes < 120 else f"{minutes / 60:.1f}h"


def git_line(outcome: GitOutcome) -> str | None:
    if outcome.error:
        kept = f" (commit {outcome.commit[:12]} kept)" if outcome.commit else ""
        return f"git: {outcome.error}{kept}"
    if outcome.commit:
        return f"git: committed {outcome.commit[:12]}{', pushed' if outcome.pushed else ''}"
    return "git: pushed" if outcome.pushed else None


def run_once_command(
    settings: Settings,
    names: Sequence[str],
    *,
    quiet: bool = False,
    level_given: bool = False,
    due: bool = False,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    now: datetime | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    sources = select_sources(settings, names)
    now = now or datetime.now(UTC)
    later = not_due(settings, sources, now) if due else {}
    if later and not quiet:
        print(waiting_lines(later, now), file=out)
    if later:
        sources = [s for s in sources if s.name not in later]
        if not sources:  # nothing due: no run, and nothing to say but that
            return EXIT_OK
        names = [s.name for s in sources]
    progress: Progress | None = None
    if quiet and not level_given:
        logging.getLogger("scraper").setLevel(logging.ERROR)
    elif not quiet and err.isatty():  # (only on a terminal: cron has none)
        progress = Progress(err, total=len(sources))
        progress.attach(None if level_given else logging.WARNING)
    try:
        results = poll_once(settings, names, progress)
    finally:
        if progress is not None:
            progress.close()
            progress.detach()
    print(summary(results, quiet=quiet), file=out)
    git = publish(settings.archive_dir, settings.git, results)
    if (line := git_line(git)) and (not quiet or not git.ok):
        print(line, file=out)
    return EXIT_OK if all(r.ok for r in results) and git.ok else EXIT_FAILED
