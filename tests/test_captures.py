"""Raw captures (``captures: warc``): what is written, that archivists' tools read it,
that a torn tail is cut off, and the whole path through the real CLI."""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Project
from newsfixtures import serve_stories

from scraper.captures import (
    WarcCaptures,
    capture_file,
    read_capture,
    records,
    whole_members_end,
)
from scraper.types import CaptureRef, Fetched

WHEN = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
BODY = "<html><body><p>新闻 body</p></body></html>".encode()


def page(url: str = "https://news.example.test/a/1.html?x=1", body: bytes = BODY) -> Fetched:
    return Fetched(
        url=url,
        status=200,
        content_type="text/html",
        content=body,
        text=body.decode(),
        encoding="utf-8",
        reason="OK",
        headers=(
            (b"Content-Type", b"text/html; charset=utf-8"),
            (b"Content-Encoding", b"gzip"),
            (b"Content-Length", b"40"),
            (b"ETag", b'"v1"'),
        ),
        request_headers=((b"Host", b"news.example.test"), (b"Accept-Encoding", b"gzip")),
    )


def warcio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warcio.cli", *args], capture_output=True, text=True, check=False
    )


def index(path: Path) -> list[dict[str, str]]:
    run = warcio("index", "-f", "warc-type,warc-target-uri,warc-concurrent-to,offset", str(path))
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def test_file_per_source_per_utc_day() -> None:
    assert capture_file("zb", WHEN) == "zb/2026/zb-20261203.warc.gz"
    late = datetime(2026, 12, 3, 23, 30, tzinfo=UTC).astimezone()
    assert capture_file("zb", late) == "zb/2026/zb-20261203.warc.gz"


def test_records_are_one_gzip_member_each_with_the_exchange(tmp_path: Path) -> None:
    response, request, record_id = records(page(), WHEN)
    text = gzip.decompress(response).decode()
    head, _, body = text.partition("\r\n\r\n")
    assert "WARC/1.1" in head and "WARC-Type: response" in head
    assert "WARC-Target-URI: https://news.example.test/a/1.html?x=1" in head
    assert "WARC-Date: 2026-12-03T10:30:00" in head
    assert f"WARC-Record-ID: {record_id}" in head
    http, _, payload = body.partition("\r\n\r\n")
    assert http.startswith("HTTP/1.1 200 OK\r\n")
    # the wire's encoding and length are kept aside: the body stored is the decoded one
    assert "X-Archive-Orig-Content-Encoding: gzip" in http
    assert "X-Archive-Orig-Content-Length: 40" in http
    assert f"Content-Length: {len(BODY)}" in http
    assert 'ETag: "v1"' in http
    assert payload.encode() == BODY + b"\r\n\r\n"  # (a record ends with two CRLF)
    asked = gzip.decompress(request).decode()
    assert "WARC-Type: request" in asked and f"WARC-Concurrent-To: {record_id}" in asked
    assert "GET /a/1.html?x=1 HTTP/1.1\r\n" in asked
    assert "Host: news.example.test" in asked


def test_written_files_pass_warcio_check_and_index(tmp_path: Path) -> None:
    captures = WarcCaptures(tmp_path)
    first = captures.write("src", page(), WHEN)
    second = captures.write("src", page("https://news.example.test/b"), WHEN)
    path = tmp_path / first.file
    assert first.file == second.file and path.is_file()
    check = warcio("check", "-v", str(path))
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") == 5  # warcinfo, then two pairs
    found = index(path)
    assert [r["warc-type"] for r in found] == [
        "warcinfo", "response", "request", "response", "request",
    ]  # fmt: skip
    assert int(found[1]["offset"]) == first.offset
    assert int(found[3]["offset"]) == second.offset
    assert found[3]["warc-target-uri"] == "https://news.example.test/b"
    assert found[2]["warc-concurrent-to"] == first.record_id
    back = read_capture(tmp_path, second)
    assert back.url == "https://news.example.test/b"
    assert back.status == 200 and back.body == BODY
    assert ("Content-Type", "text/html; charset=utf-8") in back.headers


def test_a_torn_tail_is_cut_off_before_the_next_capture(tmp_path: Path) -> None:
    captures = WarcCaptures(tmp_path)
    kept = captures.write("src", page(), WHEN)
    path = tmp_path / kept.file
    whole = path.stat().st_size
    torn, _, _ = records(page("https://news.example.test/torn"), WHEN)
    with path.open("ab") as f:
        f.write(torn[: len(torn) // 2])  # a record cut short, as a power cut leaves it
    assert whole_members_end(path) == whole
    # a new process: the state knows where its last recorded capture ends
    later = WarcCaptures(tmp_path)
    after = later.write(
        "src", page("https://news.example.test/after"), WHEN, known_end=kept.offset + kept.length
    )
    assert after.offset == whole
    assert warcio("check", str(path)).returncode == 0
    assert [r.get("warc-target-uri") for r in index(path)][1:] == [
        "https://news.example.test/a/1.html?x=1",
        "https://news.example.test/a/1.html?x=1",
        "https://news.example.test/after",
        "https://news.example.test/after",
    ]


def test_garbage_after_the_records_is_cut_when_the_state_knows_nothing(tmp_path: Path) -> None:
    WarcCaptures(tmp_path).write("src", page(), WHEN)
    path = tmp_path / capture_file("src", WHEN)
    whole = path.stat().st_size
    with path.open("ab") as f:
        f.write(b"\x1f\x8b\x08\x00not really gzip")
    WarcCaptures(tmp_path).write("src", page(), WHEN)
    assert warcio("check", str(path)).returncode == 0
    assert len(index(path)) == 5
    assert whole_members_end(path, whole) == path.stat().st_size


def test_a_capture_that_cannot_be_written_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "src").write_text("a file where the source's folder goes")
    with pytest.raises(OSError, match=r"cannot write the capture .*src-20261203\.warc\.gz"):
        WarcCaptures(tmp_path).write("src", page(), WHEN)


# ---- through the CLI ----------------------------------------------------------------------

FEED = "https://news.example.test/rss.xml"


def serve(project: Project, count: int = 3) -> list[str]:
    return serve_stories(project.site, FEED, count, WHEN)


def captured(project: Project) -> dict[str, CaptureRef]:
    with sqlite3.connect(project.state) as db:
        rows = db.execute(
            "SELECT url, capture, capture_offset, capture_length FROM entries WHERE status = 'done'"
        ).fetchall()
    return {url: CaptureRef(file, offset, length) for url, file, offset, length in rows if file}


def test_once_captures_every_article_page_and_the_state_says_where(project: Project) -> None:
    urls = serve(project)
    project.write_config([{"name": "news", "url": FEED}], captures="warc")
    run = project.scrape("--once")
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(project.posts()) == 3
    refs = captured(project)
    assert set(refs) == set(urls)
    files = {ref.file for ref in refs.values()}
    assert len(files) == 1  # one source, one day
    (name,) = files
    assert name.startswith("news/20") and name.endswith(".warc.gz")
    path = project.root / "captures" / name
    assert warcio("check", str(path)).returncode == 0
    served = {r.path for r in project.site.requests}
    for url, ref in refs.items():
        back = read_capture(project.root / "captures", ref)
        assert back.url == url and back.status == 200
        assert b"<article" in back.body or b"<p>" in back.body
        assert url.split("news.example.test", 1)[1] in served
    # a second run fetches nothing new and captures nothing
    size = path.stat().st_size
    again = project.scrape("--once")
    assert again.returncode == 0, again.stdout + again.stderr
    assert path.stat().st_size == size


def test_no_captures_unless_asked(project: Project) -> None:
    serve(project, 1)
    project.write_config([{"name": "news", "url": FEED}])
    assert project.scrape("--once").returncode == 0
    assert len(project.posts()) == 1
    assert not (project.root / "captures").exists()
    assert captured(project) == {}


def test_a_capture_that_cannot_be_written_keeps_the_article_undone(project: Project) -> None:
    urls = serve(project, 2)
    project.write_config([{"name": "news", "url": FEED}], captures="warc")
    blocker = project.root / "captures"
    blocker.write_text("not a folder")
    run = project.scrape("--once")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "cannot write the capture" in out and "captures" in out
    assert project.posts() == []
    with sqlite3.connect(project.state) as db:
        states = dict(db.execute("SELECT url, status FROM entries").fetchall())
    assert states == dict.fromkeys(urls, "failed")
    blocker.unlink()  # the disk is fixed: the next run archives both, captured
    run = project.scrape("--once")
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(project.posts()) == 2
    assert set(captured(project)) == set(urls)


def test_the_next_run_cuts_a_torn_record_off_before_appending(project: Project) -> None:
    serve(project, 2)
    project.write_config([{"name": "news", "url": FEED}], captures="warc")
    assert project.scrape("--once").returncode == 0
    folder = project.root / "captures"
    (first,) = {ref.file for ref in captured(project).values()}
    torn, _, _ = records(page("https://news.example.test/torn"), WHEN)
    now = datetime.now(UTC)
    # the next run may start on the next UTC day: its file gets a torn record too
    names = {first, capture_file("news", now), capture_file("news", now + timedelta(hours=1))}
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        with (folder / name).open("ab") as f:
            f.write(torn[: len(torn) // 2])
    urls = serve(project, 3)  # a third story in the feed
    run = project.scrape("--once")
    assert run.returncode == 0, run.stdout + run.stderr
    refs = captured(project)
    assert set(refs) == set(urls)
    (latest,) = {refs[urls[2]].file}
    path = folder / latest
    assert "capture.repaired" in run.stdout + run.stderr
    assert whole_members_end(path) == path.stat().st_size
    assert warcio("check", str(path)).returncode == 0
    for url, ref in refs.items():
        assert read_capture(folder, ref).url == url
