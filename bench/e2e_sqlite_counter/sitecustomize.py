"""Counts a process's SQLite transactions for bench/e2e.py: on ``PYTHONPATH`` of the
``scrape`` it runs, with ``E2E_SQL_COUNTS`` naming the file to append to. Every
connection gets a trace callback; ``BEGIN IMMEDIATE`` is a write transaction,
``BEGIN`` (deferred) a read one. Measurement only: nothing of the scraper changes."""

import atexit
import json
import os
import sqlite3

_OUT = os.environ.get("E2E_SQL_COUNTS")
if _OUT:
    _counts = {"write": 0, "read": 0}
    _connect = sqlite3.connect

    def _trace(statement: str) -> None:
        head = statement.lstrip()[:16].upper()
        if head.startswith("BEGIN IMMEDIATE"):
            _counts["write"] += 1
        elif head.startswith("BEGIN"):
            _counts["read"] += 1

    def connect(*args, **kwargs):  # type: ignore[no-untyped-def]
        connection = _connect(*args, **kwargs)
        connection.set_trace_callback(_trace)
        return connection

    sqlite3.connect = connect

    @atexit.register
    def _write() -> None:
        with open(_OUT, "a", encoding="utf-8") as f:
            f.write(json.dumps({"pid": os.getpid(), **_counts}) + "\n")
