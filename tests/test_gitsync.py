"""git integration against real repositories: commit exactly what a run wrote,
push, and a failing push that keeps the commit."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Project, clean_env
from newsfixtures import make_story, zaobao_article, zaobao_listing
from servicetools import require

from scraper.config import GitSettings
from scraper.gitsync import commit_message, publish
from scraper.types import SourceResult

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
LISTING = "https://www.zaobao.com.sg/realtime/china"


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", "-c", "core.quotepath=off", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout.strip()


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An environment whose git has no user config at all (as in a container)."""
    require("git", "git")
    empty = tmp_path / "home"
    empty.mkdir()
    return {
        **clean_env(),
        "HOME": str(empty),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(tmp_path.parent),  # never find a repository above
    }


def scrape(project: Project, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        project.command("--once", *args),
        capture_output=True,
        text=True,
        env=env,
        cwd=project.root,
        timeout=120,
        check=False,
    )


def serve_listing(project: Project, numbers: list[int]) -> list[str]:
    stories = [
        make_story("https://www.zaobao.com.sg", n, T0 + timedelta(hours=n), lang="zh")
        for n in numbers
    ]
    project.site.add(LISTING, zaobao_listing(stories))
    for s in stories:
        project.site.add(s.url, zaobao_article(s))
    return [s.title for s in stories]


def configure(project: Project, **git_settings: object) -> None:
    project.write_config(
        [
            {
                "name": "zaobao-realtime-china",
                "url": LISTING,
                "kind": "listing",
                "author": "联合早报",
                "categories": ["联合早报"],
            }
        ],
        git=git_settings,
    )


def test_commits_only_the_files_the_run_wrote(project: Project, home: dict[str, str]) -> None:
    repo = project.root  # the archive is its subfolder archive/
    git(repo, "init", "-q", "-b", "main", env=home)
    (repo / "notes.txt").write_text("mine\n")
    (repo / "staged.txt").write_text("staged by the user\n")
    git(repo, "add", "staged.txt", env=home)
    serve_listing(project, [1, 2])
    configure(project, commit=True)

    result = scrape(project, home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "git: committed " in result.stdout
    assert (
        git(repo, "log", "--format=%s", env=home) == "Archive 2 articles: zaobao-realtime-china (2)"
    )
    assert git(repo, "log", "-1", "--format=%an <%ae>", env=home) == "scraper <scraper@localhost>"
    committed = git(repo, "show", "--name-only", "--format=", "HEAD", env=home).splitlines()
    posts = sorted(p.relative_to(repo).as_posix() for p in project.posts())
    assert sorted(committed) == posts
    assert all("测试新闻" in name for name in committed)  # Chinese file names
    # The user's own work is as it was: staged stays staged, untracked untracked.
    assert git(repo, "diff", "--cached", "--name-only", env=home) == "staged.txt"
    assert "?? notes.txt" in git(repo, "status", "--porcelain", env=home)
    assert "state/" in git(repo, "status", "--porcelain", env=home)

    again = scrape(project, home)  # nothing new: no commit
    assert again.returncode == 0
    assert len(git(repo, "log", "--format=%H", env=home).splitlines()) == 1


def test_push_and_a_failing_push_that_keeps_the_commit(
    project: Project, home: dict[str, str]
) -> None:
    remote = project.root / "remote.git"
    repo = project.root / "site"  # the repository; the archive is site/news
    git(project.root, "init", "-q", "--bare", "-b", "main", str(remote), env=home)
    git(project.root, "init", "-q", "-b", "main", str(repo), env=home)
    git(repo, "config", "user.name", "Archivist", env=home)
    git(repo, "config", "user.email", "archivist@example.test", env=home)
    (repo / "README.md").write_text("archive\n")
    git(repo, "add", "README.md", env=home)
    git(repo, "commit", "-q", "-m", "start", env=home)
    git(repo, "remote", "add", "origin", str(remote), env=home)
    git(repo, "push", "-q", "-u", "origin", "main", env=home)
    serve_listing(project, [1])
    project.write_config(
        [{"name": "zb", "url": LISTING, "kind": "listing"}],
        archive_dir="site/news",
        git={"commit": True, "push": True},
    )

    first = scrape(project, home)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "pushed" in first.stdout
    assert git(remote, "rev-parse", "main", env=home) == git(repo, "rev-parse", "HEAD", env=home)
    assert git(repo, "log", "-1", "--format=%an", env=home) == "Archivist"
    assert git(repo, "show", "--name-only", "--format=", "HEAD", env=home).startswith(
        "news/_posts/"
    )

    git(repo, "remote", "set-url", "origin", str(project.root / "gone.git"), env=home)
    serve_listing(project, [1, 2])
    second = scrape(project, home)
    assert second.returncode == 1  # the run did not fully succeed: the site is not updated
    assert "git.push_failed" in second.stderr
    assert "git: push: git push failed" in second.stdout and "kept)" in second.stdout
    head = git(repo, "rev-parse", "HEAD", env=home)
    assert git(repo, "log", "-1", "--format=%s", env=home) == "Archive 1 article: zb (1)"
    assert git(repo, "status", "--porcelain", "news", env=home) == ""  # all committed

    git(repo, "remote", "set-url", "origin", str(remote), env=home)
    third = scrape(project, home)  # nothing new, but the earlier commit is pushed now
    assert third.returncode == 0, third.stdout + third.stderr
    assert git(remote, "rev-parse", "main", env=home) == head


def test_not_a_repository_is_reported_and_fails_the_run(
    project: Project, home: dict[str, str]
) -> None:
    serve_listing(project, [1])
    configure(project, commit=True)
    result = scrape(project, home)
    assert result.returncode == 1
    assert "git.commit_failed" in result.stderr
    assert "not a git repository" in result.stdout
    assert len(project.posts()) == 1  # the archive itself is fine


def test_commit_message_names_count_and_sources() -> None:
    results = [
        SourceResult(source="b", new=1, written=("_posts/x.md", "assets/2026/ab.png")),
        SourceResult(source="a", new=2, written=("_posts/y.md", "_posts/z.md")),
        SourceResult(source="c"),
    ]
    assert commit_message(results) == "Archive 3 articles: a (2), b (1)\n\nWith 1 image."


def test_git_missing_is_an_outcome_not_a_crash(tmp_path: Path) -> None:
    def no_git(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError("git")

    outcome = publish(
        tmp_path,
        GitSettings(commit=True),
        [SourceResult(source="a", new=1, written=("_posts/x.md",))],
        run=no_git,
    )
    assert outcome.error == "commit: git is not installed"
    assert not outcome.ok and outcome.commit is None


def test_nothing_written_and_no_push_does_not_run_git(tmp_path: Path) -> None:
    def fail(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        raise AssertionError("git ran")

    assert publish(tmp_path, GitSettings(commit=True), [SourceResult(source="a")], run=fail).ok
    assert publish(
        tmp_path, GitSettings(), [SourceResult(source="a", new=1, written=("x",))], run=fail
    ).ok
