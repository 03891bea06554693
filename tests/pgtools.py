"""The tests' PostgreSQL: the server ``.ci/postgres start`` runs (its URL in
SCRAPER_TEST_PG_URL), and a schema of its own for each test.

Without that server the tests that need it skip, saying how to get one; under CI
(``CI`` set) they fail instead, so that a broken set-up cannot pass for green.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote

import pytest

T = TypeVar("T")
URL_VARIABLE = "SCRAPER_TEST_PG_URL"
HOW = (
    "install PostgreSQL (apt-get install postgresql) and the cluster extra "
    "(pip install -e '.[cluster]'), then: eval \"$(.ci/postgres start)\""
)


def _unavailable(why: str) -> None:
    message = f"PostgreSQL tests: {why}; {HOW}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def server_url() -> str:
    """The test server's URL; skips (fails under CI) when there is none."""
    url = os.environ.get(URL_VARIABLE, "")
    if not url:
        _unavailable(f"{URL_VARIABLE} is not set")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed")
    return url


def in_schema(url: str, schema: str) -> str:
    """``url`` with ``schema`` first in its search path (every table goes there)."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose tables land in a new, empty schema, dropped afterwards."""
    import psycopg

    base = server_url()
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
    try:
        yield in_schema(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as db:
            db.execute(f"DROP SCHEMA {schema} CASCADE")


def terminate_connections(url: str, application: str = "") -> int:
    """Ends the server side of the connections whose application name contains
    ``application`` (all but this one when empty): a database that goes away."""
    import psycopg

    with psycopg.connect(server_url(), autocommit=True) as db:
        rows = db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database()"
            " AND application_name LIKE %s",
            (f"%{application}%",),
        ).fetchall()
    return len(rows)


def at_once(count: int, work: Callable[[int], T], *, join_timeout: float) -> list[T]:
    """``work(i)`` in ``count`` threads let go together (as clients of one database
    racing); their results, in order. Each thread is waited for ``join_timeout``."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout)
    assert not errors, errors
    return results


class Relay:
    """A TCP relay on 127.0.0.1 in front of the test server: ``cut()`` drops every
    connection through it and refuses new ones (the database is gone, as far as
    its clients can tell) until ``restore()``; ``freeze()`` keeps every connection
    open but passes nothing through (a server gone silent) until ``thaw()``, and
    ``held`` is set once a client's bytes come in meanwhile (a query waiting on it)."""

    def __init__(self, url: str) -> None:
        import socket
        import threading
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{self.port}", 1)
        self._cut = False
        self._flowing = threading.Event()
        self._flowing.set()
        self.held = threading.Event()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut:
                client.close()
                continue
            try:
                server = socket.create_connection(self._upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            for a, b, upstream in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pipe, args=(a, b, upstream), daemon=True).start()

    def _pipe(self, source: Any, sink: Any, upstream: bool) -> None:
        try:
            while data := source.recv(65536):
                if upstream and not self._flowing.is_set():
                    self.held.set()
                self._flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        import socket

        self._cut = True
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
            self._open.clear()

    def restore(self) -> None:
        self._cut = False

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self.cut()
        self._listener.close()
