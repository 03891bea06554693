"""The state in PostgreSQL: what only it has (a schema version table, workers
that open, migrate, lock and race at once, a server that goes away). What the
state means is tested on both databases in test_state.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pgtools import at_once, terminate_connections

from scraper.errors import StateError
from scraper.state import _MIGRATIONS, State, acquire_lock
from scraper.statedb import PostgresDb, redact_url
from scraper.types import CaptureRef

NOW = datetime(2021, 11, 22, 4, 48, 56, 819000, tzinfo=UTC)
URL = "https://www.zaobao.com/realtime/china/story20211122-1215883"


def _query(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        return db.execute(sql, params).fetchall()


def test_the_schema_is_made_once_and_versioned(pg_url: str) -> None:
    State(pg_url).close()
    assert _query(pg_url, "SELECT version FROM scraper_schema") == [(len(_MIGRATIONS),)]
    tables = {row[0] for row in _query(pg_url, "SELECT tablename FROM pg_tables")}
    assert {"entries", "validators", "sources", "feed_digests", "rule_parts"} <= tables
    assert {"archive_names", "cluster_sources"} <= tables
    State(pg_url).close()  # reopening migrates nothing
    assert _query(pg_url, "SELECT count(*) FROM scraper_schema") == [(1,)]


def test_workers_opening_at_once_migrate_once(pg_url: str) -> None:
    states = at_once(6, lambda _: State(pg_url), join_timeout=60)
    for state in states:
        state.close()
    assert _query(pg_url, "SELECT version FROM scraper_schema") == [(len(_MIGRATIONS),)]


def test_an_older_schema_is_migrated_keeping_its_entries(pg_url: str) -> None:
    db = PostgresDb(pg_url)
    for step in _MIGRATIONS[:3]:
        for statement in db.ddl(step):
            db.execute(statement)
    db.schema_version()
    db.set_schema_version(3)
    db.execute(
        "INSERT INTO entries (source, entry_id, url, status, first_seen, path, updated)"
        " VALUES ('zaobao', 'id1', ?, 'done', ?, '_posts/a.md', ?)",
        (URL, NOW.isoformat(), NOW.isoformat()),
    )
    db.close()
    with State(pg_url) as state:
        assert state.entries("zaobao", ["id1"])["id1"].path == "_posts/a.md"
    assert _query(pg_url, "SELECT version FROM scraper_schema") == [(len(_MIGRATIONS),)]


def test_a_newer_schema_is_refused(pg_url: str) -> None:
    State(pg_url).close()
    _query(pg_url, "UPDATE scraper_schema SET version = 99 RETURNING version")
    with pytest.raises(StateError, match=r"newer scraper \(schema 99\)"):
        State(pg_url)


def test_capture_offsets_past_2_gib_are_kept(pg_url: str) -> None:
    with State(pg_url) as state:
        far = CaptureRef("big.warc.gz", 5 * 2**30, 4000)
        state.mark_done("s", "1", URL, "_posts/a.md", NOW, capture=far)
        assert state.capture_end("big.warc.gz") == 5 * 2**30 + 4000


def test_an_unreachable_server_is_a_state_error_without_the_password() -> None:
    url = "postgresql://scraper:s3cret@127.0.0.1:1/scraper?connect_timeout=2"
    with pytest.raises(StateError) as caught:
        State(url)
    message = str(caught.value)
    assert "s3cret" not in message and "scraper:***@127.0.0.1:1/scraper" in message
    assert "cannot reach the state database" in message and "refused" in message


def test_redaction_hides_every_spelling_of_a_password() -> None:
    assert redact_url("postgresql://u:p@h:5/d") == "postgresql://u:***@h:5/d"
    assert redact_url("postgres://u@h/d?password=p&sslmode=require") == (
        "postgres://u@h/d?password=***&sslmode=require"
    )
    assert redact_url("postgresql://h/d") == "postgresql://h/d"


def test_misuse_after_close_is_not_hidden(pg_url: str) -> None:
    import psycopg

    state = State(pg_url)
    state.close()
    with pytest.raises(psycopg.InterfaceError):
        state.entries("a", ["x"])


def test_a_connection_lost_between_polls_is_opened_again(pg_url: str) -> None:
    with State(pg_url) as state:
        state.mark_done("a", "x", URL, "p.md", NOW)
        assert terminate_connections(pg_url, "scrape state") >= 1
        assert state.entries("a", ["x"])["x"].status == "done"  # a read
        assert terminate_connections(pg_url, "scrape state") >= 1
        state.mark_done("a", "y", URL + "y", "q.md", NOW)  # a transaction
        assert state.entries("a", ["y"])["y"].status == "done"


def test_a_connection_lost_inside_a_poll_writes_none_of_it(pg_url: str) -> None:
    with State(pg_url) as state:
        seen = [("zaobao", "body", False, URL)]
        with pytest.raises(StateError):  # noqa: SIM117 (the order is the point)
            with state._transaction():
                state.record_rule_parts("zb", seen, NOW)
                terminate_connections(pg_url, "scrape state")
                state.record_success("zb", NOW, NOW + timedelta(minutes=10))
        assert state.health("zb").last_success is None
        assert state.rule_parts() == []


def test_polls_racing_on_one_rule_report_its_change_once(pg_url: str) -> None:
    """Eight sources of one site, polled at once by eight workers, all see its body
    selector miss: it turns stale once, and every miss is counted."""
    states = [State(pg_url) for _ in range(8)]
    try:
        seen = [("zaobao", "listing", True, URL), ("zaobao", "body", False, URL)]
        changes = at_once(
            8,
            lambda i: states[i].record_rule_parts(f"s{i}", seen[:: 1 if i % 2 else -1], NOW),
            join_timeout=60,
        )
        assert sum(len(c) for c in changes) == 1
        parts = {p.part: p for p in states[0].rule_parts()}
        assert parts["body"].misses == 8 and parts["body"].stale
        assert parts["listing"].last_match == NOW and not parts["listing"].stale
    finally:
        for state in states:
            state.close()


def test_workers_racing_for_one_name_get_one_holder(pg_url: str) -> None:
    states = [State(pg_url) for _ in range(6)]
    try:
        holders = at_once(
            6,
            lambda i: states[i].claim_name("_posts", "x.md", "x.md", f"{URL}/{i}", NOW),
            join_timeout=60,
        )
        assert len(set(holders)) == 1
    finally:
        for state in states:
            state.close()


def test_reconciliations_at_once_leave_one_whole_list(pg_url: str) -> None:
    lists = [{f"s{j}": str(i) for j in range(i, i + 20)} for i in range(5)]
    states = [State(pg_url) for _ in lists]
    try:
        at_once(len(lists), lambda i: states[i].reconcile_sources(lists[i], NOW), join_timeout=60)
        assert states[0].cluster_sources() in lists
    finally:
        for state in states:
            state.close()


def test_a_daemon_and_workers_exclude_each_other(pg_url: str) -> None:
    with acquire_lock(pg_url, role="worker", shared=True):
        with acquire_lock(pg_url, role="worker", shared=True):
            pass  # workers share the state
        with (
            pytest.raises(StateError, match=r"already running on this state \(scrape worker, pid"),
            acquire_lock(pg_url, role="daemon"),
        ):
            pass
    with (
        acquire_lock(pg_url, role="daemon"),
        pytest.raises(StateError, match=r"\(scrape daemon, pid \d+ on "),
        acquire_lock(pg_url, role="worker", shared=True),
    ):
        pass
    with acquire_lock(pg_url, role="daemon"):  # free again once let go
        pass


def test_the_connection_notices_a_silent_server_within_a_minute(pg_url: str) -> None:
    """TCP keepalives on (a cut network shows in about a minute, not a quarter of
    an hour); what the URL sets itself is kept."""

    def options(state: State) -> dict[str, str]:
        info = state._db._conn.pgconn.info  # type: ignore[attr-defined]
        return {o.keyword.decode(): (o.val or b"").decode() for o in info}

    with State(pg_url) as state:
        found = options(state)
        assert found["keepalives"] == "1" and found["tcp_user_timeout"] == "60000"
        assert found["keepalives_idle"] == "20"
    with State(f"{pg_url}&keepalives_idle=7") as state:
        assert options(state)["keepalives_idle"] == "7"
