"""Database failures become the tracker's errors at the store's seam; a bug stays a bug."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from tracker.errors import DatabaseError, DatabaseUnavailable
from tracker.store.engine import database_errors, outages_translated

LOCKED = sa_exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
GONE = sa_exc.DBAPIError(
    "SELECT 1", {}, Exception("server closed the connection\nunexpectedly"),
    connection_invalidated=True,
)  # fmt: skip
CONSTRAINT = sa_exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE failed: x.id"))


@pytest.mark.parametrize(
    ("error", "kind", "message", "reason"),
    [
        (LOCKED, "OperationalError", "database is locked", "database is locked"),
        (GONE, "DBAPIError", "server closed the connection\nunexpectedly",
         "server closed the connection"),
        (sa_exc.TimeoutError("QueuePool limit reached"), "TimeoutError",
         "QueuePool limit reached", "QueuePool limit reached"),
        (sa_exc.InterfaceError("SELECT 1", {}, Exception("")), "InterfaceError", "",
         "InterfaceError"),
    ],
)  # fmt: skip
def test_an_outage_is_raised_as_database_unavailable_from_the_original(
    error: Exception, kind: str, message: str, reason: str
) -> None:
    with pytest.raises(DatabaseUnavailable) as caught, outages_translated():
        raise error
    unavailable = caught.value
    assert (unavailable.kind, unavailable.message, unavailable.reason) == (kind, message, reason)
    assert str(unavailable) == f"database error: {kind}: {message}"
    assert unavailable.__cause__ is error


def test_a_broken_constraint_is_not_an_outage_and_passes_unchanged() -> None:
    with pytest.raises(sa_exc.IntegrityError) as caught, outages_translated():
        raise CONSTRAINT
    assert caught.value is CONSTRAINT


def test_for_a_report_in_words_every_database_error_is_a_database_error() -> None:
    with pytest.raises(DatabaseError) as caught, database_errors():
        raise CONSTRAINT
    assert type(caught.value) is DatabaseError
    assert str(caught.value) == "database error: IntegrityError: UNIQUE failed: x.id"
