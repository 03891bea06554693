"""``scrape reextract``: today's rules and extractor on the pages captured before.

For each post made from a captured page (``captures: warc``), of the sources asked
and captured in the days asked: the page is read back from its WARC record and
extracted again, and the post's title and body are rewritten in place (the same
file, every other line as it was: ``date:``, the time comment, ``from:``, author,
tags), written atomically. A post whose text is no longer the one the scraper wrote
(edited by hand) is left alone and listed; so is one whose capture cannot be read,
or whose page now gives no text. ``--dry-run`` says what would change and writes
nothing. It takes the state's lock, as ``--once`` does.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from scraper.archive import Archive
from scraper.captures import Capture, read_capture
from scraper.charset import decode_body
from scraper.config import Settings, SourceConfig
from scraper.errors import ArchiveError
from scraper.extract import RuleSet, extract_article, missed_parts
from scraper.gitsync import GitOutcome, publish
from scraper.http import Fetcher
from scraper.images import ImageLocaliser
from scraper.logs import log_event
from scraper.render import front_matter_value, text_digest, with_new_content
from scraper.source_page import rule_for, zone_for
from scraper.state import Post, State, acquire_lock

__all__ = ["Done", "Report", "reextract", "report_lines"]

log = logging.getLogger("scraper.reextract")


@dataclass(frozen=True, slots=True)
class Done:
    """What became of one post."""

    source: str
    url: str
    path: str | None
    action: str  # "rewritten", "unchanged" or "skipped"
    reason: str = ""  # why it was skipped
    added: int = 0  # lines, for a rewritten post
    removed: int = 0
    error: bool = False  # skipped for trouble (an unreadable capture, a failed write)
    assets: tuple[str, ...] = ()  # image copies written for it
    missed: str | None = None  # what its rule missed on the page this time


@dataclass
class Report:
    done: list[Done] = field(default_factory=list)
    dry_run: bool = False
    git: GitOutcome = field(default_factory=GitOutcome)

    @property
    def failed(self) -> bool:
        return any(d.error for d in self.done) or not self.git.ok


def captured_on(file: str) -> date | None:
    """The UTC day of a capture file (``<source>-<YYYYMMDD>.warc.gz``)."""
    stem = file.rsplit("/", 1)[-1].removesuffix(".warc.gz")
    try:
        return datetime.strptime(stem.rsplit("-", 1)[-1], "%Y%m%d").date()
    except ValueError:
        return None


def _in_days(post: Post, since: date | None, until: date | None) -> bool:
    if post.capture is None:
        return since is None and until is None
    day = captured_on(post.capture.file)
    if day is None:
        return True
    return (since is None or day >= since) and (until is None or day <= until)


def _year(text: str) -> int | None:
    """The year of a post's ``date:``, for where its images go."""
    value = front_matter_value(text, "date")
    return value.year if isinstance(value, datetime | date) else None


def _page_text(capture: Capture) -> str:
    content_type = next((v for k, v in capture.headers if k.lower() == "content-type"), None)
    text, _ = decode_body(capture.body, content_type)
    return text


@dataclass(frozen=True, slots=True)
class _Tools:
    settings: Settings
    rules: RuleSet
    archive: Archive
    images: ImageLocaliser | None  # with images: download


async def _one(post: Post, source: SourceConfig, tools: _Tools) -> tuple[Done, str | None]:
    """What to do with ``post``: the outcome, and the file's new text if it changes
    (images it keeps copies of are stored already: ``Done.assets``)."""
    settings, archive = tools.settings, tools.archive

    def skipped(reason: str, *, error: bool = False) -> tuple[Done, None]:
        return Done(post.source, post.url, post.path, "skipped", reason, error=error), None

    if post.capture is None:
        return skipped("no capture (archived without captures: warc)")
    if post.path is None:
        return skipped("no file recorded for it")
    try:
        old = (archive.root / post.path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return skipped("its file is gone")
    except (OSError, UnicodeDecodeError) as exc:
        return skipped(f"cannot read its file: {exc}", error=True)
    if post.digest is None or text_digest(old) != post.digest:
        return skipped("edited by hand (its text is not what the scraper wrote)")
    try:
        capture = await asyncio.to_thread(read_capture, settings.captures_dir, post.capture)
    except (OSError, ValueError) as exc:
        where = f"{post.capture.file} at {post.capture.offset}"
        return skipped(f"capture unreadable ({where}): {exc}", error=True)
    rule = rule_for(tools.rules, source, capture.url or post.url)
    extracted = extract_article(
        _page_text(capture),
        capture.url or post.url,
        rule=rule,
        feed_content=None,
        feed_title=None,
        default_tz=zone_for(source, rule),
    )
    if not extracted.body.strip():
        return skipped("no article text in the captured page now (kept as it is)")
    body = extracted.body
    assets: tuple[str, ...] = ()
    if tools.images is not None:
        body, assets = await tools.images.localise(
            body, year=_year(old) or datetime.now(UTC).year, source=post.source, article=post.url
        )
    title = extracted.title or _old_title(old) or post.url
    new = with_new_content(old, title, body)
    if new is None:
        return skipped("its file is not laid out as the scraper writes posts")
    missed = missed_parts(extracted)
    if new == old:
        return Done(post.source, post.url, post.path, "unchanged", missed=missed), None
    added, removed = _line_changes(old, new)
    done = Done(post.source, post.url, post.path, "rewritten", added=added, removed=removed)
    return replace(done, assets=assets, missed=missed), new


def _old_title(text: str) -> str | None:
    value = front_matter_value(text, "title")
    return value if isinstance(value, str) else None


def _line_changes(old: str, new: str) -> tuple[int, int]:
    added = removed = 0
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


async def _run(
    settings: Settings,
    sources: Sequence[SourceConfig],
    rules: RuleSet,
    *,
    since: date | None,
    until: date | None,
    dry_run: bool,
    stale: bool,
) -> Report:
    report = Report(dry_run=dry_run)
    archive = Archive(settings.archive_dir)
    by_name = {s.name: s for s in sources}
    async with AsyncExitStack() as stack:
        stack.enter_context(acquire_lock(settings.state_target, role="reextract"))
        state = stack.enter_context(State(settings.state_target))
        images = None
        if settings.images == "download" and not dry_run:
            fetcher = Fetcher(
                settings.http,
                allow_private_networks=settings.allow_private_networks,
                proxy=settings.proxy,
            )
            stack.push_async_callback(fetcher.aclose)
            images = ImageLocaliser(
                fetcher,
                settings.archive_dir,
                max_bytes=settings.image_max_size,
                base_url=settings.image_base_url,
            )
        tools = _Tools(settings, rules, archive, images)
        posts = [
            p
            for p in state.posts(list(by_name))
            if _in_days(p, since, until) and (not stale or p.missed)
        ]
        for post in posts:
            done, new = await _one(post, by_name[post.source], tools)
            if new is not None and not dry_run:
                try:
                    await asyncio.to_thread(archive.rewrite, post.path or "", new)
                except ArchiveError as exc:
                    done = Done(post.source, post.url, post.path, "skipped", str(exc), error=True)
                else:
                    state.save_rewrite(post.source, post.entry_id, text_digest(new), done.missed)
                    log_event(
                        log, "article.reextracted", source=post.source, url=post.url,
                        path=post.path, outcome="rewritten",
                    )  # fmt: skip
            elif done.action == "unchanged" and done.missed != post.missed and not dry_run:
                state.save_rewrite(post.source, post.entry_id, post.digest or "", done.missed)
            report.done.append(done)
    written = [
        path
        for d in report.done
        if d.action == "rewritten" and d.path
        for path in (d.path, *d.assets)
    ]
    if written and not dry_run:
        report.git = publish(
            settings.archive_dir, settings.git, [], written=written, message=_message(report)
        )
    return report


def _message(report: Report) -> str:
    """``Re-extract 3 articles: zaobao-realtime-china (2), zaobao-realtime-world (1)``."""
    per_source = Counter(d.source for d in report.done if d.action == "rewritten")
    total = sum(per_source.values())
    noun = "article" if total == 1 else "articles"
    return f"Re-extract {total} {noun}: " + ", ".join(
        f"{name} ({n})" for name, n in sorted(per_source.items())
    )


def reextract(
    settings: Settings,
    sources: Sequence[SourceConfig],
    rules: RuleSet,
    *,
    since: date | None = None,
    until: date | None = None,
    dry_run: bool = False,
    stale: bool = False,
) -> Report:
    """``stale``: only the posts made while a part of their rule found nothing."""
    return asyncio.run(
        _run(settings, sources, rules, since=since, until=until, dry_run=dry_run, stale=stale)
    )


def report_lines(report: Report, sources: Sequence[SourceConfig]) -> list[str]:
    """Per source: rewritten, unchanged, skipped (with reasons); changes when dry."""
    lines: list[str] = []
    verb = "would rewrite" if report.dry_run else "rewritten"
    for source in sources:
        done = [d for d in report.done if d.source == source.name]
        counts = Counter(d.action for d in done)
        lines.append(
            f"{source.name}: {counts['rewritten']} {verb}, {counts['unchanged']} unchanged, "
            f"{counts['skipped']} skipped"
        )
        for d in done:
            if d.action == "rewritten" and report.dry_run:
                lines.append(f"  ~ {d.path} (+{d.added} -{d.removed} lines)")
            elif d.action == "skipped":
                lines.append(f"  skipped {d.path or d.url}: {d.reason}")
    if report.dry_run:
        lines.append("dry run: nothing written")
    if report.git.commit:
        lines.append(f"git: committed {report.git.commit[:12]}")
    if report.git.error:
        lines.append(f"git: {report.git.error}")
    return lines
