"""archive.py against a real temporary folder."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from scraper.archive import Archive, read_from_url
from scraper.errors import ArchiveError

URL = "https://www.zaobao.com/realtime/china/story20211122-1215883"
OTHER = "https://www.zaobao.com/realtime/world/story20211122-1215999"
DATA = Path(__file__).parent / "data" / "render"


def post(url: str, title: str = "标题", body: str = "<p>正文</p>") -> str:
    return (
        f'---\nlayout: post\ntitle: "{title}"\ndate: 2021-11-22T04:48:56.819Z\n'
        f"author: 联合早报\nfrom: {url}\ntags: [ 联合早报 ]\ncategories: [ 联合早报 ]\n---\n"
        f"<!--1637578620000-->\n[{title}]({url})\n------\n\n<div>\n{body}\n</div>\n"
    )


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-")]


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive(tmp_path / "archive")


def test_write_creates_the_file_whole(archive: Archive) -> None:
    text = post(URL)
    assert archive.write(["_posts/2021-11-22-a.md"], text, URL) == "_posts/2021-11-22-a.md"
    target = archive.root / "_posts/2021-11-22-a.md"
    assert target.read_text(encoding="utf-8") == text
    assert temp_files(archive.root) == []
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask & 0o644


def test_same_url_is_not_written_twice(archive: Archive) -> None:
    first = archive.write(["_posts/a.md", "_posts/a-1.md"], post(URL), URL)
    stat = (archive.root / first).stat()
    again = archive.write(["_posts/a.md", "_posts/a-1.md"], post(URL, body="<p>new</p>"), URL)
    assert again == first
    assert (archive.root / first).stat().st_ino == stat.st_ino
    assert "new" not in (archive.root / first).read_text(encoding="utf-8")
    assert sorted(p.name for p in (archive.root / "_posts").iterdir()) == ["a.md"]


def test_another_article_is_never_overwritten_a_clash_gets_the_suffix(archive: Archive) -> None:
    archive.write(["_posts/a.md"], post(URL), URL)
    relpath = archive.write(["_posts/a.md", "_posts/a-1234abcd.md"], post(OTHER), OTHER)
    assert relpath == "_posts/a-1234abcd.md"
    assert read_from_url(archive.root / "_posts/a.md") == URL
    assert read_from_url(archive.root / relpath) == OTHER
    # and the suffixed one is found again, not written a third time
    assert archive.write(["_posts/a.md", "_posts/a-1234abcd.md"], post(OTHER), OTHER) == relpath


def test_a_file_that_is_not_a_post_is_not_overwritten(archive: Archive) -> None:
    (archive.root / "_posts").mkdir(parents=True)
    (archive.root / "_posts/a.md").write_text("notes, no front matter\n", encoding="utf-8")
    (archive.root / "_posts/b.md").mkdir()
    assert archive.write(["_posts/a.md", "_posts/b.md", "_posts/c.md"], post(URL), URL) == (
        "_posts/c.md"
    )
    assert (archive.root / "_posts/a.md").read_text(encoding="utf-8") == "notes, no front matter\n"


def test_every_name_taken_is_an_error(archive: Archive) -> None:
    archive.write(["a.md"], post(URL), URL)
    with pytest.raises(ArchiveError, match="no free file name"):
        archive.write(["a.md"], post(OTHER), OTHER)


@pytest.mark.parametrize(
    "relpath", ["../out.md", "/tmp/out.md", "a/../../out.md", "", ".", "a\\..\\out.md"]
)
def test_paths_outside_the_archive_are_refused(archive: Archive, relpath: str) -> None:
    with pytest.raises(ArchiveError, match="refusing"):
        archive.write([relpath], post(URL), URL)
    assert not (archive.root.parent / "out.md").exists()


def test_a_symlink_out_of_the_archive_is_refused(archive: Archive, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    archive.root.mkdir()
    (archive.root / "_posts").symlink_to(outside)
    with pytest.raises(ArchiveError, match="outside"):
        archive.write(["_posts/a.md"], post(URL), URL)
    assert list(outside.iterdir()) == []


def fail_with(monkeypatch: pytest.MonkeyPatch, name: str, code: int) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, name, fail)


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        ("fsync", errno.ENOSPC, "disk full writing"),
        ("link", errno.EROFS, "read-only file system writing"),
        ("link", errno.EACCES, "permission denied writing"),
        ("link", errno.EIO, "Input/output error writing"),
    ],
)
def test_os_errors_become_archive_errors_and_leave_no_temp_file(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, call: str, code: int, message: str
) -> None:
    archive.root.mkdir()
    fail_with(monkeypatch, call, code)
    with pytest.raises(ArchiveError, match=message) as info:
        archive.write(["_posts/a.md"], post(URL), URL)
    assert "_posts/a.md" in str(info.value)
    monkeypatch.undo()
    assert temp_files(archive.root) == []
    assert not (archive.root / "_posts/a.md").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(archive: Archive) -> None:
    folder = archive.root / "_posts"
    folder.mkdir(parents=True)
    folder.chmod(0o555)
    try:
        with pytest.raises(ArchiveError, match="permission denied writing"):
            archive.write(["_posts/a.md"], post(URL), URL)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


READ_ONLY_CHILD = """
import sys
from pathlib import Path
from scraper.archive import Archive
from scraper.errors import ArchiveError
root = Path(sys.argv[1])
try:
    Archive(root).write(["_posts/a.md"], "---\\nfrom: x\\n---\\n", "x")
except ArchiveError as exc:
    print(exc)
print(sorted(p.name for p in root.rglob("*")))
"""


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare(1)")
def test_read_only_mount(tmp_path: Path) -> None:
    """A really read-only file system: a tmpfs remounted read-only in a private
    mount namespace (as root even), holding an existing _posts folder."""
    mount = tmp_path / "ro"
    mount.mkdir()
    script = (
        'mount -t tmpfs tmpfs "$1" && mkdir "$1/_posts" && mount -o remount,ro "$1" '
        '|| exit 77; exec "$2" -c "$3" "$1"'
    )
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh",
         str(mount), sys.executable, READ_ONLY_CHILD],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )  # fmt: skip
    if done.returncode == 77 or "unshare:" in done.stderr:
        pytest.skip(f"no private read-only mount here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    message, listing = done.stdout.strip().split("\n")
    assert message.startswith("read-only file system writing ")
    assert message.endswith("_posts/a.md")
    assert listing == "['_posts']"  # no temp file, no post


def test_without_hard_links_the_name_is_reserved_then_replaced(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive.write(["a.md"], post(URL), URL)
    fail_with(monkeypatch, "link", errno.EPERM)
    assert archive.write(["a.md", "b.md"], post(OTHER), OTHER) == "b.md"
    assert read_from_url(archive.root / "a.md") == URL
    assert read_from_url(archive.root / "b.md") == OTHER
    assert temp_files(archive.root) == []


def test_racing_writers_never_share_a_file(archive: Archive) -> None:
    urls = [f"https://x.example/{i}" for i in range(8)]
    results: dict[str, str] = {}
    start = threading.Barrier(len(urls))

    def write(url: str) -> None:
        start.wait()
        results[url] = archive.write(["a.md", f"a-{url[-1]}.md"], post(url), url)

    threads = [threading.Thread(target=write, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results.values())) == len(urls)
    for url, relpath in results.items():
        assert read_from_url(archive.root / relpath) == url
    assert temp_files(archive.root) == []


def test_archived_urls_reads_every_post(archive: Archive) -> None:
    root = archive.root
    (root / "_posts").mkdir(parents=True)
    (root / "archived/2020-08-18").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "_posts/a.md").write_text(post(URL), encoding="utf-8")
    (root / "archived/2020-08-18/b.md").write_text(post(OTHER), encoding="utf-8")
    quoted = post("https://x.example/a,b").replace(
        "from: https://x.example/a,b", 'from: "https://x.example/a,b"'
    )
    (root / "_posts/c.md").write_text(quoted, encoding="utf-8")
    long_title = post("https://x.example/long", title="长" * 3000)  # front matter > 4 KB
    (root / "_posts/d.md").write_text(long_title, encoding="utf-8")
    (root / "_posts/e.md").write_text(post("https://x.example/crlf").replace("\n", "\r\n"))
    (root / ".git/f.md").write_text(post("https://x.example/hidden"), encoding="utf-8")
    (root / "_posts/.tmp-x").write_text(post("https://x.example/temp"), encoding="utf-8")
    (root / "_posts/g.html").write_text(post("https://x.example/html"), encoding="utf-8")
    (root / "index.md").write_text("---\nlayout: home\n---\nfrom: not-front-matter\n")
    (root / "about.md").write_text("no front matter\nfrom: https://x.example/no\n")
    assert set(archive.archived_paths()) == {
        URL,
        OTHER,
        "https://x.example/a,b",
        "https://x.example/long",
        "https://x.example/crlf",
    }
    assert archive.archived_paths()[OTHER] == "archived/2020-08-18/b.md"


def test_archived_urls_of_a_missing_archive_is_empty(archive: Archive) -> None:
    assert set(archive.archived_paths()) == set()


def test_reads_files_the_old_script_and_render_wrote(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    (tmp_path / "seed.md").write_bytes((DATA / "zaobao-seed.md").read_bytes())
    (tmp_path / "broken.md").write_text(post(OTHER, title='a "quoted" title'), encoding="utf-8")
    assert set(archive.archived_paths()) == {URL, OTHER}


def test_stale_temp_files_are_removed(archive: Archive) -> None:
    folder = archive.root / "_posts"
    folder.mkdir(parents=True)
    old, fresh, post_file = folder / ".tmp-old", folder / ".tmp-fresh", folder / "a.md"
    for p in (old, fresh, post_file):
        p.write_text("x", encoding="utf-8")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    os.utime(post_file, (an_hour_ago, an_hour_ago))
    assert archive.remove_stale_temp_files() == 1
    assert not old.exists() and fresh.exists() and post_file.exists()
    assert archive.remove_stale_temp_files(now=time.time() + 120) == 1
    assert not fresh.exists()
