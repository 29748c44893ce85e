"""Engine and session factories, and the seam where database failures become the tracker's
errors. Nothing is created at import time.

Every store function reaches the database through :func:`session_scope`, :func:`connect` or
a write transaction built on :func:`outages_translated`, so a database that cannot be reached
surfaces as :class:`tracker.errors.DatabaseUnavailable` wherever it happens; no caller above
the store needs to know SQLAlchemy's exceptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine

from tracker.errors import DatabaseError, DatabaseUnavailable

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_outage(exc: BaseException) -> bool:
    """Whether a database library error means the database is unreachable rather than a bug:
    a refused or dropped connection, a server shutting down, a locked SQLite file, a pool
    that gave no connection in time."""
    if isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.TimeoutError
        | sa_exc.DisconnectionError,
    ):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def translated(exc: BaseException) -> DatabaseError:
    """``exc`` as the tracker's error: :class:`DatabaseUnavailable` for an outage."""
    orig = getattr(exc, "orig", None) or exc
    kind = DatabaseUnavailable if is_outage(exc) else DatabaseError
    return kind(type(exc).__name__, str(orig))


@contextmanager
def outages_translated() -> Iterator[None]:
    """Raise :class:`DatabaseUnavailable` (from the original) for an outage inside the block;
    any other database error (a bug, such as a broken constraint) passes unchanged."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        if is_outage(exc):
            raise translated(exc) from exc
        raise


@contextmanager
def database_errors() -> Iterator[None]:
    """Raise every database error inside the block as :class:`DatabaseError` (an outage as
    :class:`DatabaseUnavailable`), for callers that report any failure in words: the
    command line, a metrics scrape, a health check."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        raise translated(exc) from exc


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def display_url(url: str) -> str:
    """``url`` as it may be shown in a message or a log line: user name and password masked
    (``postgresql+psycopg://***@db:5432/tracker``) and query values masked, since a driver
    option may carry a secret; the rest (driver, host, port, database, a SQLite path) stays,
    so a person can tell which database is meant."""
    try:
        parsed = make_url(normalise_url(url))
    except sa_exc.ArgumentError:
        return "***"
    bare = parsed._replace(username=None, password=None).difference_update_query(parsed.query)
    scheme, _, rest = bare.render_as_string(hide_password=False).partition("://")
    userinfo = "***@" if parsed.username is not None or parsed.password is not None else ""
    query = "&".join(f"{key}=***" for key in parsed.query)
    return f"{scheme}://{userinfo}{rest}" + (f"?{query}" if query else "")


#: Connections a process keeps open. Above it, up to SQLAlchemy's ``max_overflow`` (10) more
#: are opened and closed again after use; with the default of 5, an API worker answering
#: 16 requests at a time opened a PostgreSQL connection (a new server process) for every
#: other request.
POOL_SIZE = 20


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # isolation_level=None lets us issue BEGIN IMMEDIATE ourselves for claims.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", POOL_SIZE)
    return create_engine(url, **kwargs)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    with outages_translated(), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection for reading (``engine.connect()`` with outages translated)."""
    with outages_translated(), engine.connect() as connection:
        yield connection


def ping(engine: Engine) -> None:
    """Ask the database to answer ``SELECT 1``; :class:`DatabaseError` (an outage as
    :class:`DatabaseUnavailable`) when it does not."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        raise translated(exc) from exc


def is_missing_sqlite_file(url: str) -> bool:
    """Whether ``url`` names a SQLite file that does not exist: reading it would create an
    empty one, so readers treat it as an empty database without connecting."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not Path(str(parsed.database)).exists()


def has_agreements_table(engine: Engine) -> bool:
    """Whether the schema has been created (a database no migration ran on has no tables)."""
    with database_errors():
        return inspect(engine).has_table("agreements")
