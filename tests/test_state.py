"""state.py against a real SQLite file and a real PostgreSQL database: the tests
of what the state means run on both (``target``), those of SQLite's file and lock
on SQLite alone, and PostgreSQL's own (locks across workers, a lost connection)
on PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from scraper.errors import StateError
from scraper.state import Done, EntryRecord, Failed, Outcome, SourceHealth, State, acquire_lock
from scraper.types import CaptureRef, Validators

NOW = datetime(2021, 11, 22, 4, 48, 56, 819000, tzinfo=UTC)
URL = "https://www.zaobao.com/realtime/china/story20211122-1215883"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "scraper.sqlite3"


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, path: Path) -> Path | str:
    """The state's place: a SQLite file, or a PostgreSQL database of the test's own."""
    if request.param == "sqlite":
        return path
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def state(target: Path | str) -> Iterator[State]:
    with State(target) as s:
        yield s


def capture_of(state: State, source: str, entry_id: str) -> CaptureRef | None:
    """The capture the state says a post was made from (None: no such post or none)."""
    return next((p.capture for p in state.posts([source]) if p.entry_id == entry_id), None)


def test_creates_folder_schema_and_wal(path: Path) -> None:
    State(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == 8
    indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "entries_done_url" not in indexes and "entries_failed" in indexes
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"entries", "validators", "sources", "feed_digests"} <= tables
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT entry_id FROM entries"
        " WHERE source = 'a' AND status = 'failed' AND attempts < 5 ORDER BY updated"
    ).fetchall()
    assert "entries_failed" in str(plan)  # the retry lookup reads only failed entries
    db.close()
    State(path).close()  # reopening migrates nothing and keeps the data


def test_a_state_from_before_captures_is_migrated_keeping_its_entries(path: Path) -> None:
    from scraper.state import _MIGRATIONS

    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    for step in _MIGRATIONS[:3]:
        db.executescript(step)
    db.execute("PRAGMA user_version = 3")
    db.execute(
        "INSERT INTO entries (source, entry_id, url, status, first_seen, path, updated)"
        " VALUES ('zaobao', 'id1', ?, 'done', ?, '_posts/a.md', ?)",
        (URL, NOW.isoformat(), NOW.isoformat()),
    )
    db.commit()
    db.close()
    with State(path) as state:
        assert state.entries("zaobao", ["id1"])["id1"].path == "_posts/a.md"
        assert capture_of(state, "zaobao", "id1") is None


def test_a_post_remembers_its_capture(state: State) -> None:
    file = "zaobao/2026/zaobao-20261203.warc.gz"
    assert state.capture_end(file) is None
    state.mark_done("zaobao", "id1", URL, "_posts/a.md", NOW, capture=CaptureRef(file, 300, 400))
    state.mark_done(
        "zaobao", "id2", URL + "2", "_posts/b.md", NOW, capture=CaptureRef(file, 1200, 90)
    )
    assert capture_of(state, "zaobao", "id1") == CaptureRef(file, 300, 400)
    assert state.capture_end(file) == 1290
    assert state.capture_end("other.warc.gz") is None
    # marked done again without a capture (found in the archive): the capture stays
    state.mark_done("zaobao", "id1", URL, "_posts/a.md", NOW)
    assert capture_of(state, "zaobao", "id1") == CaptureRef(file, 300, 400)
    assert capture_of(state, "zaobao", "missing") is None


def test_a_newer_schema_is_refused(path: Path) -> None:
    State(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StateError, match="newer scraper"):
        State(path)


def test_validators_roundtrip(state: State) -> None:
    assert state.validators("zaobao", URL) == Validators()
    state.save_validators("zaobao", URL, Validators(etag='W/"1"', last_modified="Mon, 22 Nov"))
    state.save_validators("other", URL, Validators(etag="x"))
    assert state.validators("zaobao", URL) == Validators('W/"1"', "Mon, 22 Nov")
    state.save_validators("zaobao", URL, Validators(etag=None, last_modified="Tue"))
    assert state.validators("zaobao", URL) == Validators(None, "Tue")


def test_first_seen_is_kept(state: State) -> None:
    def first_seen(entry_id: str) -> datetime:
        return state.entries("zaobao", [entry_id])[entry_id].first_seen

    state.note_seen("zaobao", [("id1", URL)], NOW)
    state.note_seen("zaobao", [("id1", URL), ("id2", URL + "2")], NOW + timedelta(hours=1))
    assert first_seen("id1") == NOW and first_seen("id2") == NOW + timedelta(hours=1)
    singapore = timezone(timedelta(hours=8))
    state.note_seen("zaobao", [("id3", URL)], datetime(2021, 11, 22, 20, tzinfo=singapore))
    later = first_seen("id3")
    assert later == datetime(2021, 11, 22, 12, tzinfo=UTC) and later.tzinfo is not None
    record = state.entries("zaobao", ["id1"])["id1"]
    assert record == EntryRecord("zaobao", "id1", URL, "seen", 0, NOW, None, None)
    state.note_seen("zaobao", [], NOW)  # nothing to note: no write
    with pytest.raises(ValueError, match="naive"):
        state.note_seen("zaobao", [("id4", URL)], datetime(2021, 1, 1))


def test_entry_lifecycle(state: State) -> None:
    state.note_seen("zaobao", [("id1", URL)], NOW)
    assert state.mark_failed("zaobao", "id1", URL, "timeout", NOW) == 1
    assert state.mark_failed("zaobao", "id1", URL, "HTTP 503", NOW) == 2
    failed = state.entries("zaobao", ["id1"])["id1"]
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 2, "HTTP 503")
    state.mark_done("zaobao", "id1", URL, "_posts/a.md", NOW + timedelta(minutes=5))
    done = state.entries("zaobao", ["id1"])["id1"]
    assert done == EntryRecord("zaobao", "id1", URL, "done", 2, NOW, "_posts/a.md", None)
    assert state.mark_failed("zaobao", "id1", URL, "late", NOW) == 3
    assert state.entries("zaobao", ["id1"])["id1"].status == "done"  # done stays done


def test_mark_without_first_seen(state: State) -> None:
    assert state.mark_failed("s", "a", URL, "boom", NOW) == 1
    state.mark_done("s", "b", URL + "b", None, NOW)
    records = state.entries("s", ["a", "b", "missing"])
    assert set(records) == {"a", "b"}
    assert records["a"].first_seen == NOW and records["b"].path is None


def test_entries_are_per_source_and_many_ids_work(state: State) -> None:
    ids = [f"id{i}" for i in range(1234)]
    for i in ids[::3]:
        state.note_seen("a", [(i, URL)], NOW)
    state.note_seen("b", [("id1", URL)], NOW)
    found = state.entries("a", [*ids, *ids])
    assert set(found) == set(ids[::3])
    assert state.entries("b", ids).keys() == {"id1"}
    assert state.entries("a", []) == {}


def test_source_health(state: State) -> None:
    assert state.health("zaobao") == SourceHealth("zaobao", None, None, None, 0, None, 0)
    poll = NOW + timedelta(minutes=10)
    assert state.record_failure("zaobao", "HTTP 503", NOW, poll) == 1
    assert state.record_failure("zaobao", "timeout", NOW + timedelta(1), poll) == 2
    state.mark_done("zaobao", "x", URL, "p.md", NOW)
    health = state.health("zaobao")
    assert health == SourceHealth(
        "zaobao", None, "timeout", NOW + timedelta(1), 2, poll, articles=1
    )
    state.record_success("zaobao", NOW + timedelta(2), poll + timedelta(2))
    health = state.health("zaobao")
    assert health.consecutive_failures == 0 and health.last_success == NOW + timedelta(2)
    assert health.last_error == "timeout"  # kept for the record
    assert state.record_failure("zaobao", "again", NOW, poll) == 1
    state.note_seen("seen-only", [("y", URL)], NOW)
    assert [h.source for h in state.all_health()] == ["seen-only", "zaobao"]


def test_data_survives_reopening(target: Path | str) -> None:
    with State(target) as s:
        s.mark_done("a", "x", URL, "p.md", NOW)
        s.record_success("a", NOW, NOW)
    with State(target) as s:
        assert s.entries("a", ["x"])["x"].status == "done"
        assert s.health("a").last_success == NOW


@pytest.mark.parametrize(
    "content",
    [b"this is not a database, it is a text file\n" * 100, b"SQLite format 3\x00" + b"\xff" * 4080],
)
def test_a_corrupt_file_is_a_state_error(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(StateError, match=r"not a usable state database .*move it aside"):
        State(path)


def test_an_unopenable_path_is_a_state_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateError, match="cannot create the state folder"):
        State(tmp_path / "file" / "state.sqlite3")
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(StateError, match="unable to open"):
        State(tmp_path / "dir.sqlite3")


def test_misuse_is_not_hidden(path: Path) -> None:
    s = State(path)
    s.close()
    with pytest.raises(sqlite3.ProgrammingError):
        s.entries("a", ["x"])


def test_two_connections_share_the_state(target: Path | str) -> None:
    with State(target) as one, State(target) as two:
        one.mark_done("a", "x", URL, "p.md", NOW)
        assert two.entries("a", ["x"])["x"].status == "done"


HOLD_LOCK = """
import sys
from pathlib import Path
from scraper.state import acquire_lock
with acquire_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_lock_held_by_another_process(path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            assert child.stdout.readline() == "locked\n"
            with (
                pytest.raises(
                    StateError, match=rf"already running on this state \(pid {child.pid}\)"
                ),
                acquire_lock(path),
            ):
                pass
        finally:
            child.stdin.close()
            child.wait(timeout=30)
    assert child.returncode == 0
    with acquire_lock(path) as lock_path:  # free again once the holder is gone
        assert lock_path.read_text() == f"{os.getpid()}\n"
    assert lock_path.read_text() == ""


# A holder in the moment between taking the lock and writing its pid: it holds the
# lock on an empty file until told to write, then writes and waits again.
HOLD_LOCK_SLOWLY = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
if sys.stdin.readline() == "write\\n":
    os.pwrite(fd, f"{os.getpid()}\\n".encode(), 0)
    print("written", flush=True)
    sys.stdin.readline()
"""


def _slow_holder(path: Path) -> subprocess.Popen[str]:
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK_SLOWLY, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "locked\n"
    return child


def test_lock_holder_named_when_it_writes_its_pid_a_moment_late(path: Path) -> None:
    with _slow_holder(path) as child:
        assert child.stdin is not None and child.stdout is not None
        failure: list[BaseException] = []

        def contend() -> None:
            try:
                with acquire_lock(path):
                    pass
            except StateError as exc:
                failure.append(exc)

        contender = threading.Thread(target=contend)
        contender.start()
        time.sleep(0.1)  # (so that it finds the lock held and the file empty, and waits)
        child.stdin.write("write\n")
        child.stdin.flush()
        assert child.stdout.readline() == "written\n"
        contender.join(timeout=30)
        assert len(failure) == 1
        assert f"already running on this state (pid {child.pid})" in str(failure[0])


def test_lock_taken_when_its_holder_lets_go_before_writing_its_pid(path: Path) -> None:
    with _slow_holder(path) as child:
        assert child.stdin is not None
        child.stdin.close()  # it exits without writing: the lock is free within the wait
        with acquire_lock(path) as lock_path:
            assert lock_path.read_text() == f"{os.getpid()}\n"


def test_lock_holder_unknown_when_it_never_writes_its_pid(path: Path) -> None:
    with (
        _slow_holder(path),
        pytest.raises(StateError, match=r"pid unknown"),
        acquire_lock(path),
    ):
        pass


def test_lock_is_released_even_after_a_crash_of_the_holder(path: Path) -> None:
    crash = HOLD_LOCK.replace("sys.stdin.readline()", "import os; os._exit(3)")
    done = subprocess.run(
        [sys.executable, "-c", crash, str(path)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 3
    with acquire_lock(path):
        pass


def test_failed_entries_per_source_latest_try_first(state: State) -> None:
    later = NOW + timedelta(minutes=5)
    state.mark_failed("a", "1", "https://a.test/1", "HTTP 500", NOW)
    state.mark_failed("a", "2", "https://a.test/2", "timeout", later)
    state.mark_failed("a", "1", "https://a.test/1", "HTTP 502", NOW + timedelta(minutes=1))
    state.mark_failed("b", "9", "https://b.test/9", "HTTP 404", NOW)
    state.mark_done("b", "9", "https://b.test/9", "_posts/x.md", later)  # archived at last
    state.mark_failed("a", "3", "https://a.test/3", "HTTP 500", NOW)
    state.mark_done("a", "3", "https://a.test/3", "_posts/y.md", later)
    found = state.failed_entries()
    assert list(found) == ["a"]
    assert [(f.url, f.attempts, f.last_error) for f in found["a"]] == [
        ("https://a.test/2", 1, "timeout"),
        ("https://a.test/1", 2, "HTTP 502"),
    ]
    assert found["a"][0].last_try == later


def test_failed_entries_of_a_source_and_revive(state: State) -> None:
    state.mark_failed("a", "1", "https://a.test/1", "HTTP 500", NOW)
    state.mark_failed("a", "1", "https://a.test/1", "HTTP 500", NOW + timedelta(minutes=1))
    state.mark_failed("a", "2", "https://a.test/2", "timeout", NOW - timedelta(hours=1))
    state.mark_failed("b", "3", "https://b.test/3", "HTTP 404", NOW)
    failed = state.failed_of("a")  # the longest waiting first; given up or not
    assert [(r.entry_id, r.attempts, r.last_try) for r in failed] == [
        ("2", 1, NOW - timedelta(hours=1)),
        ("1", 2, NOW + timedelta(minutes=1)),
    ]
    assert state.revive(["a"]) == 2
    assert [(r.entry_id, r.attempts) for r in state.failed_of("a")] == [("2", 0), ("1", 0)]
    assert state.entries("a", ["1"])["1"].attempts == 0
    assert state.entries("b", ["3"])["3"].attempts == 1  # another source: untouched
    assert state.revive([]) == 3  # every source


def test_a_rule_part_is_stale_from_its_first_miss_until_it_matches(state: State) -> None:
    later = NOW + timedelta(hours=1)
    assert state.record_rule_parts("zb", [("zaobao", "body", True, URL)], NOW) == []
    changes = state.record_rule_parts(
        "zb",
        [("zaobao", "listing", False, URL + "l"), ("zaobao", "body", False, URL + "1"),
         ("zaobao", "body", False, URL + "2")],
        later,
    )  # fmt: skip
    assert [(c.part, c.change, c.url) for c in changes] == [
        ("listing", "stale", URL + "l"), ("body", "stale", URL + "1"),
    ]  # fmt: skip
    parts = {p.part: p for p in state.rule_parts()}
    assert parts["body"].stale and parts["body"].misses == 2 and parts["body"].misses_total == 2
    assert parts["body"].stale_since == later and parts["body"].stale_url == URL + "1"
    assert parts["body"].last_match == NOW and parts["body"].stale_source == "zb"
    assert parts["listing"].stale and parts["listing"].last_match is None
    back = state.record_rule_parts("zb", [("zaobao", "body", True, URL + "3")], later)
    assert [(c.part, c.change) for c in back] == [("body", "recovered")]
    parts = {p.part: p for p in state.rule_parts()}
    assert not parts["body"].stale and parts["body"].misses == 0
    assert parts["body"].misses_total == 2 and parts["listing"].stale


def test_a_capture_noted_before_the_post_is_kept_when_it_is_recovered(state: State) -> None:
    """Killed after the post was written and before it was marked done: the next run
    finds the file and marks it done, without a capture of its own to give."""
    ref = CaptureRef("zb/2026/zb-20261203.warc.gz", 280, 397)
    state.note_seen("zb", [("id1", URL)], NOW)
    state.note_capture("zb", "id1", ref)
    assert state.entries("zb", ["id1"])["id1"].status == "seen"
    state.mark_done("zb", "id1", URL, "_posts/a.md", NOW)  # recovered: no capture given
    assert capture_of(state, "zb", "id1") == ref
    assert state.capture_end(ref.file) == 677


def test_a_polls_outcome_is_written_in_one_transaction(target: Path | str) -> None:
    """apply: rule parts, validators, digest and success together, or none."""
    with State(target) as state:
        later = NOW + timedelta(minutes=10)
        seen = [("zaobao", "listing", False, URL)]
        polled = Outcome("zb", URL, NOW, later, validators=Validators("e1"), digest="d1", seen=seen)
        changes = state.apply(polled)
        assert [(c.part, c.change) for c in changes] == [("listing", "stale")]
        assert state.validators("zb", URL) == Validators("e1")
        assert state.feed_digest("zb", URL) == "d1"
        assert state.health("zb").next_poll == later
        # kept back (entries wait for a retry): validators and digest stay as they were
        state.apply(Outcome("zb", URL, later, later + timedelta(minutes=10)))
        assert state.validators("zb", URL) == Validators("e1")
        assert state.feed_digest("zb", URL) == "d1"
        with pytest.raises(ValueError):  # a failure inside undoes all of it
            state.apply(
                Outcome("zb", URL, later, datetime(2026, 1, 1), validators=Validators("e2"))
            )
        assert state.validators("zb", URL) == Validators("e1")


def test_a_polls_entries_are_marked_with_its_outcome_all_or_none(target: Path | str) -> None:
    """apply: the entries archived and the failed tries go with the source's
    success or failure, in the one transaction."""
    ref = CaptureRef("zb/2021/zb-20211122.warc.gz", 0, 300)
    later = NOW + timedelta(minutes=10)
    with State(target) as state:
        state.note_seen("zb", [("a", URL + "a"), ("b", URL + "b")], NOW)
        state.mark_failed("zb", "b", URL + "b", "timeout", NOW)
        done = Done("a", URL + "a", "_posts/a.md", capture=ref, digest="da", missed="zaobao:title")
        state.apply(
            Outcome("zb", URL, NOW, later, done=[done], failed=[Failed("b", URL + "b", "HTTP 503")])
        )
        records = state.entries("zb", ["a", "b"])
        assert records["a"].status == "done" and records["a"].path == "_posts/a.md"
        assert records["b"].status == "failed" and records["b"].attempts == 2
        assert records["b"].last_error == "HTTP 503" and records["b"].last_try == NOW
        [post] = state.posts(["zb"])
        assert (post.capture, post.digest, post.missed) == (ref, "da", "zaobao:title")
        assert state.health("zb").last_success == NOW and state.health("zb").articles == 1
        # a failed poll: its failure counted; a broken outcome writes none of it
        failed = Outcome("zb", URL, later, later + timedelta(minutes=20), error="HTTP 500")
        state.apply(failed)
        health = state.health("zb")
        assert health.consecutive_failures == 1 and health.last_error == "HTTP 500"
        assert health.next_poll == later + timedelta(minutes=20)
        broken = Outcome(
            "zb", URL, later, datetime(2026, 1, 1),
            done=[Done("b", URL + "b", "_posts/b.md")], failed=[Failed("c", URL + "c", "x")],
        )  # fmt: skip
        with pytest.raises(ValueError):
            state.apply(broken)
        assert state.entries("zb", ["b", "c"]).keys() == {"b"}
        assert state.entries("zb", ["b"])["b"].status == "failed"
        assert state.health("zb").consecutive_failures == 1


def test_a_snapshot_reads_what_a_poll_needs_at_once(state: State) -> None:
    state.save_validators("zb", URL, Validators("e1", "Mon"))
    state.save_feed_digest("zb", URL, "d1")
    state.record_failure("zb", "HTTP 503", NOW, NOW + timedelta(minutes=20))
    state.mark_failed("zb", "a", URL + "a", "timeout", NOW)
    state.mark_failed("zb", "b", URL + "b", "timeout", NOW - timedelta(minutes=5))
    state.mark_failed("other", "c", URL + "c", "timeout", NOW)
    snap = state.snapshot("zb", URL)
    assert snap.validators == Validators("e1", "Mon") and snap.feed_digest == "d1"
    assert snap.consecutive_failures == 1 and snap.last_success is None
    assert [r.entry_id for r in snap.failed] == ["b", "a"]
    empty = state.snapshot("new", URL)
    assert empty.validators == Validators() and empty.feed_digest is None
    assert empty.failed == () and empty.last_success is None
    assert empty.consecutive_failures == 0
    state.record_success("zb", NOW, NOW + timedelta(minutes=10))
    assert state.snapshot("zb", URL).last_success == NOW
    assert state.snapshot("zb", URL).consecutive_failures == 0


def test_a_file_name_is_claimed_once_for_one_article(target: Path | str) -> None:
    """Workers sharing an archive: a name (or one that differs only in case) goes to
    the first article that claims it; the same article claiming it again gets it."""
    with State(target) as one, State(target) as two:
        assert one.claim_name("_posts", "a-b.md", "A-B.md", URL, NOW) == ("A-B.md", URL)
        assert two.claim_name("_posts", "a-b.md", "a-b.md", URL + "2", NOW) == ("A-B.md", URL)
        assert two.claim_name("_posts", "a-b.md", "A-B.md", URL, NOW) == ("A-B.md", URL)
        assert two.claim_name("other", "a-b.md", "a-b.md", URL + "2", NOW) == ("a-b.md", URL + "2")
        assert one.names_of(URL) == ["_posts/A-B.md"]
        assert one.names_of(URL + "2") == ["other/a-b.md"] and one.names_of("x") == []


def test_the_cluster_sources_are_reconciled(state: State) -> None:
    assert state.cluster_sources() == {}
    first = state.reconcile_sources({"a": '{"i": 1}', "b": '{"i": 2}'}, NOW)
    assert (first.added, first.removed, first.changed) == (("a", "b"), (), ())
    again = state.reconcile_sources({"a": '{"i": 1}', "b": '{"i": 2}'}, NOW)
    assert not again
    later = state.reconcile_sources({"b": '{"i": 3}', "c": "{}"}, NOW)
    assert (later.added, later.removed, later.changed) == (("c",), ("a",), ("b",))
    assert state.cluster_sources() == {"b": '{"i": 3}', "c": "{}"}
    assert state.cluster_source("b") == '{"i": 3}' and state.cluster_source("a") is None
