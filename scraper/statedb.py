"""The two databases the state can live in, behind one small interface: SQLite (a
file, the default) and PostgreSQL (``state_url: postgresql://…``, for several
workers on several machines).

``state.py`` writes every query once, with ``?`` placeholders and the upsert
syntax both accept (``INSERT … ON CONFLICT … DO UPDATE``, columns qualified by
their table); a connection here translates what differs: placeholders, how a
transaction begins, the schema's types, where the schema version is kept, locks,
and which errors are the database's trouble (``StateError``) rather than a bug.
psycopg is imported only for a PostgreSQL state: a cron run on SQLite never loads it.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scraper.errors import StateError

BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT = 10  # seconds to reach PostgreSQL before giving up
_SCHEMES = ("postgresql://", "postgres://")
T = TypeVar("T")


def is_database_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(_SCHEMES)


def redact_url(url: str) -> str:
    """``url`` with its password (in the address or as ``?password=``) hidden."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k == "password" else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """One connection to the state's database, as ``state.State`` uses it."""

    where: str  # for messages: the file, or the URL without its password
    for_update: str  # what makes a SELECT lock the rows it reads until the commit

    @property
    def in_transaction(self) -> bool: ...
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...
    def begin(self) -> None: ...
    def begin_read(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def lock(self, name: str) -> None: ...
    def schema_version(self) -> int: ...
    def set_schema_version(self, version: int) -> None: ...
    def ddl(self, script: str) -> list[str]: ...
    def errors(self) -> contextlib.AbstractContextManager[None]: ...
    def close(self) -> None: ...


def open_db(target: Path | str) -> Db:
    """A connection to the state at ``target``: a PostgreSQL URL, or a SQLite file
    (created, with its folder, if missing)."""
    if is_database_url(target):
        return PostgresDb(str(target))
    return SqliteDb(Path(target))


def _statements(script: str) -> list[str]:
    return [s for s in script.split(";") if s.strip()]


class SqliteDb:
    """A SQLite file in WAL mode. Write transactions begin IMMEDIATE: one writer at
    a time, so what a transaction reads stays true until it commits."""

    for_update = ""  # the write transaction holds the whole file already

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create the state folder {path.parent}: {exc}") from exc
        with self.errors():
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            with self.errors():
                self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                self._db.execute("PRAGMA journal_mode = WAL").fetchone()
                self._db.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            self._db.close()
            raise

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._db.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def begin_read(self) -> None:
        self._db.execute("BEGIN")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        self._db.execute("ROLLBACK")

    def lock(self, name: str) -> None:
        """Nothing to do: a write transaction holds the whole file."""

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self._db.execute(f"PRAGMA user_version = {int(version)}")

    def ddl(self, script: str) -> list[str]:
        return _statements(script)

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            if _is_sqlite_usage_error(exc):
                raise
            message = str(exc)
            if "not a database" in message or "malformed" in message:
                raise StateError(
                    f"{self.path} is not a usable state database ({message}); "
                    "move it aside and the scraper starts a new one"
                ) from exc
            raise StateError(f"state database {self.path}: {message}") from exc

    def close(self) -> None:
        self._db.close()


def _is_sqlite_usage_error(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.ProgrammingError | sqlite3.IntegrityError) or not isinstance(
        exc, sqlite3.DatabaseError
    )


@lru_cache(maxsize=256)
def _pg_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (no query of ours has ``?`` or ``%``
    in a literal)."""
    return sql.replace("%", "%%").replace("?", "%s")


_INTEGER = re.compile(r"\bINTEGER\b")


# A server that stops answering (a cut network, a frozen host) shows as a dead
# connection within about a minute, instead of the system's TCP timeouts (a
# quarter of an hour): a worker blocked on it would hold its sources that long.
KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "20",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "60000",
}


def connection_options(url: str) -> dict[str, str]:
    """The TCP keepalive options (``KEEPALIVES``) that ``url`` does not set itself."""
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(url)
    return {key: value for key, value in KEEPALIVES.items() if key not in given}


def application_name(role: str) -> str:
    """How a connection is named in ``pg_stat_activity``, and in a lock's message."""
    return f"scrape {role}, pid {os.getpid()} on {socket.gethostname()}"[:63]


class PostgresDb:
    """One psycopg connection in autocommit mode; transactions are begun by hand.
    Write transactions are READ COMMITTED, so ``state.py`` locks the rows it reads
    before it writes them where two workers could race (``for_update``). A
    connection found lost when a transaction begins, or by a query outside one
    (only reads are), is opened again and the statement sent once more; one lost
    inside a transaction fails that transaction (``StateError``)."""

    for_update = " FOR UPDATE"

    def __init__(self, url: str, role: str = "state") -> None:
        self.url = url
        self.where = redact_url(url)
        self.role = role
        self._closed = False
        self._in_transaction = False
        self._conn = self._connect()

    def _connect(self) -> Any:
        import psycopg

        try:
            options: dict[str, Any] = {
                "connect_timeout": CONNECT_TIMEOUT,
                "application_name": application_name(self.role),
                **connection_options(self.url),
            }
            return psycopg.connect(self.url, autocommit=True, **options)
        except psycopg.Error as exc:
            raise StateError(
                f"cannot reach the state database {self.where}: {_reason(exc)}"
            ) from exc

    def _live(self) -> Any:
        import psycopg

        if self._closed:
            raise psycopg.InterfaceError(f"the state {self.where} is closed")
        if self._conn.closed or self._conn.broken:
            if self._in_transaction:
                raise psycopg.OperationalError("the connection was lost during a transaction")
            self._conn = self._connect()
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    def _again_if_lost(self, run: Callable[[Any], T]) -> T:
        """``run(connection)``; once more on a new connection when, outside a
        transaction, the connection turns out to be lost."""
        import psycopg

        conn = self._live()
        try:
            return run(conn)
        except psycopg.OperationalError:
            if self._in_transaction or not conn.broken:
                raise
        return run(self._live())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        def run(conn: Any) -> Cursor:
            cursor = conn.cursor()
            cursor.execute(_pg_sql(sql), params)
            return cursor  # type: ignore[no-any-return]

        return self._again_if_lost(run)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._live().cursor() as cursor:
            cursor.executemany(_pg_sql(sql), rows)

    def begin(self) -> None:
        self._again_if_lost(lambda conn: conn.execute("BEGIN"))
        self._in_transaction = True

    def begin_read(self) -> None:
        self._again_if_lost(
            lambda conn: conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        )
        self._in_transaction = True

    def commit(self) -> None:
        try:
            self._live().execute("COMMIT")
        finally:
            self._in_transaction = False

    def rollback(self) -> None:
        self._in_transaction = False
        if self._conn.closed or self._conn.broken:
            return  # the server rolled it back when the connection went
        self._conn.execute("ROLLBACK")

    def lock(self, name: str) -> None:
        """Holds ``name`` until the transaction ends: in this schema only, so that
        two scrapers in one database, each in its own schema, do not wait for each other."""
        self.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ?))", (":" + name,))

    def schema_version(self) -> int:
        self.execute("CREATE TABLE IF NOT EXISTS scraper_schema (version INTEGER NOT NULL)")
        row = self.execute("SELECT max(version) FROM scraper_schema").fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def set_schema_version(self, version: int) -> None:
        self.execute("DELETE FROM scraper_schema")
        self.execute("INSERT INTO scraper_schema (version) VALUES (?)", (version,))

    def ddl(self, script: str) -> list[str]:
        """SQLite's DDL as PostgreSQL's: no ``WITHOUT ROWID``; integers of 64 bits
        (a WARC file's offsets pass 2 GiB)."""
        script = _INTEGER.sub("BIGINT", script.replace("WITHOUT ROWID", ""))
        return _statements(script)

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            if _is_pg_usage_error(exc):
                raise
            raise StateError(f"state database {self.where}: {_reason(exc)}") from exc

    def close(self) -> None:
        self._closed = True
        self._conn.close()


def _reason(exc: Exception) -> str:
    """psycopg's message on one line, without the libpq boilerplate around it."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines) or type(exc).__name__


def _is_pg_usage_error(exc: Exception) -> bool:
    """A bug of ours (a bad query, a broken constraint, a closed state), not the
    database's trouble; a missing privilege is the database's."""
    import psycopg
    from psycopg import errors

    if isinstance(exc, errors.InsufficientPrivilege):
        return False
    return isinstance(
        exc,
        psycopg.ProgrammingError
        | psycopg.IntegrityError
        | psycopg.DataError
        | psycopg.InterfaceError
        | psycopg.NotSupportedError,
    )
