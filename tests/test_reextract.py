"""``scrape reextract`` through the real CLI: posts made again from their captures."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from conftest import Project, front_matter
from newsfixtures import serve_stories

from scraper.state import acquire_lock

FEED = "https://news.example.test/rss.xml"
WHEN = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
# A site rule written after the first run: it keeps the story but not its last paragraph.
FIXED_RULE = {
    "name": "example-news",
    "hosts": ["news.example.test"],
    "body": ["article"],
    "strip": [".share-bar", ".ad-slot", "h1", "p:last-of-type"],
}


def serve(project: Project, count: int = 3) -> list[str]:
    return serve_stories(project.site, FEED, count, WHEN)


def configure(project: Project, **extra: object) -> None:
    project.write_config([{"name": "news", "url": FEED}], captures="warc", **extra)


def fix_rule(project: Project, **extra: object) -> None:
    """The rule written after the first run, in rules_dir, and the config using it."""
    rules = project.root / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "example-news.yaml").write_text(yaml.safe_dump(FIXED_RULE), encoding="utf-8")
    configure(project, rules_dir="rules", **extra)


def texts(project: Project) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in project.posts()}


def archived(project: Project, count: int = 3, **extra: object) -> dict[Path, str]:
    serve(project, count)
    configure(project, **extra)
    run = project.scrape("--once")
    assert run.returncode == 0, run.stdout + run.stderr
    before = texts(project)
    assert len(before) == count
    return before


def body_of(text: str) -> list[str]:
    return text.split("<div>\n", 1)[1].rsplit("</div>\n", 1)[0].splitlines()


def test_reextract_rewrites_body_keeping_every_other_line(project: Project) -> None:
    before = archived(project)
    fix_rule(project)
    run = project.scrape("reextract")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "news: 3 rewritten, 0 unchanged, 0 skipped" in run.stdout
    after = texts(project)
    assert set(after) == set(before)  # the same files
    for path, old in before.items():
        new = after[path]
        assert new != old
        old_lines, new_lines = old.split("\n"), new.split("\n")
        # front matter (date:, from:, author, tags), comment, link line: all as they were
        head = old_lines.index("<div>")
        assert new_lines[:head] == old_lines[:head]
        assert front_matter(new) == front_matter(old)
        assert len(body_of(new)) == len(body_of(old)) - 1  # the last paragraph is gone
        assert body_of(new) == body_of(old)[:-1]
    # the state knows the new texts as the scraper's: a second run changes nothing
    again = project.scrape("reextract")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "news: 0 rewritten, 3 unchanged, 0 skipped" in again.stdout
    assert texts(project) == after


def test_dry_run_says_what_would_change_and_writes_nothing(project: Project) -> None:
    before = archived(project, 2)
    fix_rule(project)
    run = project.scrape("reextract", "--dry-run")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "news: 2 would rewrite, 0 unchanged, 0 skipped" in run.stdout
    assert run.stdout.count("  ~ _posts/") == 2
    assert "(+0 -1 lines)" in run.stdout
    assert "dry run: nothing written" in run.stdout
    assert texts(project) == before


def test_a_post_edited_by_hand_is_left_alone_and_listed(project: Project) -> None:
    before = archived(project, 2)
    edited, other = sorted(before)
    hand = before[edited].replace("</div>\n", "<p>An editor's note.</p>\n</div>\n")
    edited.write_text(hand, encoding="utf-8")
    fix_rule(project)
    run = project.scrape("reextract")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "news: 1 rewritten, 0 unchanged, 1 skipped" in run.stdout
    assert f"skipped {edited.relative_to(project.archive)}: edited by hand" in run.stdout
    assert edited.read_text(encoding="utf-8") == hand
    assert other.read_text(encoding="utf-8") != before[other]


def test_posts_without_a_capture_are_skipped_with_the_reason(project: Project) -> None:
    serve(project, 1)
    project.write_config([{"name": "news", "url": FEED}])  # captures off
    assert project.scrape("--once").returncode == 0
    before = texts(project)
    configure(project)
    run = project.scrape("reextract")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "news: 0 rewritten, 0 unchanged, 1 skipped" in run.stdout
    assert "no capture" in run.stdout
    assert texts(project) == before


def test_an_unreadable_capture_is_skipped_and_the_rest_goes_on(project: Project) -> None:
    before = archived(project, 3)
    with sqlite3.connect(project.state) as db:
        rows = db.execute(
            "SELECT path, capture, capture_offset FROM entries ORDER BY capture_offset"
        ).fetchall()
    (file,) = {row[1] for row in rows}
    warc = project.root / "captures" / file
    last_path, _, last_offset = rows[-1]
    with warc.open("r+b") as f:  # the last record torn: a foreign tool cut the file
        f.truncate(last_offset + 40)
    fix_rule(project)
    run = project.scrape("reextract")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "news: 2 rewritten, 0 unchanged, 1 skipped" in run.stdout
    assert f"skipped {last_path}: capture unreadable ({file} at {last_offset})" in run.stdout
    after = texts(project)
    assert after[project.archive / last_path] == before[project.archive / last_path]
    assert sum(after[p] != before[p] for p in before) == 2


def test_since_and_until_choose_by_the_day_of_capture(project: Project) -> None:
    before = archived(project, 2)
    fix_rule(project)
    today = datetime.now(UTC).date()
    later = project.scrape("reextract", "--since", str(today + timedelta(days=2)))
    assert later.returncode == 0, later.stdout + later.stderr
    assert "news: 0 rewritten, 0 unchanged, 0 skipped" in later.stdout
    assert texts(project) == before
    bad = project.scrape("reextract", "--since", "2026-12-31", "--until", "2026-01-01")
    assert bad.returncode == 2 and "after --until" in bad.stderr
    wrong = project.scrape("reextract", "--since", "yesterday")
    assert wrong.returncode == 2 and "not a day" in wrong.stderr
    # a day either side of the capture day: nothing is missed across midnight UTC
    window = ("--since", str(today - timedelta(days=1)), "--until", str(today + timedelta(days=1)))
    run = project.scrape("reextract", *window)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "news: 2 rewritten" in run.stdout


def test_one_git_commit_for_the_rewritten_posts(project: Project) -> None:
    project.archive.mkdir(parents=True)
    git = ["git", "-C", str(project.archive)]
    subprocess.run([*git, "init", "-q"], check=True)
    for key, value in (("user.email", "t@example.test"), ("user.name", "T")):
        subprocess.run([*git, "config", key, value], check=True)
    archived(project, 2, git={"commit": True})
    fix_rule(project, git={"commit": True})
    run = project.scrape("reextract")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "git: committed" in run.stdout
    log = subprocess.run([*git, "log", "--format=%s"], capture_output=True, text=True, check=True)
    subjects = log.stdout.splitlines()
    assert subjects[0] == "Re-extract 2 articles: news (2)"
    assert subjects[1].startswith("Archive 2 articles")
    shown = subprocess.run(
        [*git, "show", "--name-only", "--format="], capture_output=True, text=True, check=True
    )
    assert len(shown.stdout.split()) == 2


def test_refused_while_another_scrape_holds_the_state(project: Project) -> None:
    archived(project, 1)
    with acquire_lock(project.state):
        run = project.scrape("reextract")
    assert run.returncode == 1
    assert "another scrape is already running" in run.stderr
