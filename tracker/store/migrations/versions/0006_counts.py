"""Per-day deadline counts and a data version, kept by triggers, for queries at 100,000
agreements.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

* ``deadline_counts`` (tag, date, kind, n): the number of stored deadlines per day and kind,
  for every agreement (tag ``""``) and per tag, so that a query's exact ``count`` is a sum
  over the window's days. Filled here from the deadlines already stored.
* ``data_version``: one row whose number rises with every write to ``agreements``,
  ``events`` or ``deadline_horizons``; readers remember facts about the whole data set for
  one version.

Both are kept by triggers, not by the application: a replica still running the previous
version during a rolling upgrade (or anyone writing SQL by hand) keeps them exact too.
PostgreSQL: statement-level triggers with transition tables (one aggregate statement per
bulk write). SQLite: row-level triggers (SQLite has no others); a row's tags are split with
``json_each`` over the ``,a,b,`` column turned into a JSON array.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONED = ("agreements", "events", "deadline_horizons")
#: Rows per statement when the tables are filled from the deadlines already stored.
BACKFILL_ROWS = 10_000

# --- PostgreSQL -------------------------------------------------------------------------

# Each row counts once for "" and once for each of its tags (once, if a tag is repeated).
PG_KEYS = """
    SELECT k.tag, r.date, r.kind, count(*) AS n FROM {rows} r
    CROSS JOIN LATERAL (
        SELECT DISTINCT u.tag
        FROM unnest(array_prepend('', array_remove(string_to_array(r.tags, ','), ''))) AS u(tag)
    ) AS k
    GROUP BY k.tag, r.date, r.kind
"""
PG_ADD = f"""
    INSERT INTO deadline_counts (tag, date, kind, n)
    {PG_KEYS.format(rows="new_rows")}
    ON CONFLICT (tag, date, kind) DO UPDATE SET n = deadline_counts.n + excluded.n;
"""
PG_REMOVE = f"""
    WITH gone AS ({PG_KEYS.format(rows="old_rows")})
    UPDATE deadline_counts c SET n = c.n - gone.n FROM gone
    WHERE c.tag = gone.tag AND c.date = gone.date AND c.kind = gone.kind;
    DELETE FROM deadline_counts c USING ({PG_KEYS.format(rows="old_rows")}) gone
    WHERE c.tag = gone.tag AND c.date = gone.date AND c.kind = gone.kind AND c.n <= 0;
"""
# One row per deadline and distinct tag (none for the "" of the counts).
PG_TAGGED = """
    SELECT DISTINCT u.tag, r.date, r.agreement_id, r.kind, r.party FROM {rows} r
    CROSS JOIN LATERAL unnest(string_to_array(r.tags, ',')) AS u(tag)
    WHERE u.tag <> ''
"""
PG_TAG = f"""
    INSERT INTO deadline_tags (tag, date, agreement_id, kind, party)
    {PG_TAGGED.format(rows="new_rows")}
    ON CONFLICT DO NOTHING;
"""
PG_UNTAG = f"""
    DELETE FROM deadline_tags t USING ({PG_TAGGED.format(rows="old_rows")}) g
    WHERE t.tag = g.tag AND t.date = g.date AND t.agreement_id = g.agreement_id
        AND t.kind = g.kind AND t.party = g.party;
"""
PG_FUNCTIONS = {
    "tracker_deadlines_added": PG_ADD + PG_TAG,
    "tracker_deadlines_removed": PG_REMOVE + PG_UNTAG,
    "tracker_deadlines_changed": PG_REMOVE + PG_UNTAG + PG_ADD + PG_TAG,
    "tracker_deadlines_truncated": "DELETE FROM deadline_counts; DELETE FROM deadline_tags;",
    # Once per transaction (all its writes become visible together, so one new number is
    # enough): an import of 10,000 agreements writes row by row, and as many updates of
    # one row in one transaction took longer than the import itself.
    "tracker_data_version_bump": """
        IF current_setting('tracker.data_version_raised', true) IS DISTINCT FROM 'yes' THEN
            UPDATE data_version SET version = version + 1 WHERE id = 1;
            PERFORM set_config('tracker.data_version_raised', 'yes', true);
        END IF;
    """,
}
PG_TRIGGERS = [
    ("deadlines_added", "AFTER INSERT", "NEW TABLE AS new_rows", "tracker_deadlines_added"),
    ("deadlines_removed", "AFTER DELETE", "OLD TABLE AS old_rows", "tracker_deadlines_removed"),
    (
        "deadlines_changed",
        "AFTER UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "tracker_deadlines_changed",
    ),
    ("deadlines_truncated", "AFTER TRUNCATE", None, "tracker_deadlines_truncated"),
]


def _postgresql_up() -> None:
    for name, body in PG_FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}\nRETURN NULL;\nEND $$"
        )
    for trigger, event, referencing, function in PG_TRIGGERS:
        refs = f" REFERENCING {referencing}" if referencing else ""
        op.execute(
            f"CREATE TRIGGER {trigger} {event} ON deadlines{refs} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    for table in VERSIONED:
        op.execute(
            f"CREATE TRIGGER {table}_versioned AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION tracker_data_version_bump()"
        )


def _postgresql_down() -> None:
    for table in VERSIONED:
        op.execute(f"DROP TRIGGER {table}_versioned ON {table}")
    for trigger, *_ in PG_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON deadlines")
    for name in PG_FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")


# --- SQLite -----------------------------------------------------------------------------


def _sqlite_tags(row: str) -> str:
    """The count keys of one row: "" and each tag of its ``,a,b,`` column, each once.

    The column becomes a JSON array for ``json_each``: ``json_quote`` makes the whole list one
    JSON string (quotes, backslashes and control characters escaped), and each comma, which
    no tag contains and no escape sequence either, becomes ``","``."""
    array = f"""'[' || replace(json_quote(trim({row}.tags, ',')), ',', '","') || ']'"""
    # UNION, not UNION ALL: a tag written twice counts once.
    return f"SELECT '' AS tag UNION SELECT value FROM json_each({array}) WHERE value <> ''"


def _sqlite_add(row: str) -> str:
    return (
        f"INSERT INTO deadline_counts (tag, date, kind, n) "
        f"SELECT tag, {row}.date, {row}.kind, 1 FROM ({_sqlite_tags(row)}) WHERE true "
        f"ON CONFLICT (tag, date, kind) DO UPDATE SET n = n + 1; "
        f"INSERT OR IGNORE INTO deadline_tags (tag, date, agreement_id, kind, party) "
        f"SELECT tag, {row}.date, {row}.agreement_id, {row}.kind, {row}.party "
        f"FROM ({_sqlite_tags(row)}) WHERE tag <> '';"
    )


def _sqlite_remove(row: str) -> str:
    keys = f"tag IN ({_sqlite_tags(row)}) AND date = {row}.date AND kind = {row}.kind"
    return (
        f"UPDATE deadline_counts SET n = n - 1 WHERE {keys}; "
        f"DELETE FROM deadline_counts WHERE {keys} AND n <= 0; "
        f"DELETE FROM deadline_tags WHERE {keys} AND agreement_id = {row}.agreement_id "
        f"AND party = {row}.party;"
    )


def _sqlite_up() -> None:
    op.execute(
        f"CREATE TRIGGER deadlines_added AFTER INSERT ON deadlines BEGIN {_sqlite_add('NEW')} END"
    )
    op.execute(
        f"CREATE TRIGGER deadlines_removed AFTER DELETE ON deadlines "
        f"BEGIN {_sqlite_remove('OLD')} END"
    )
    op.execute(
        f"CREATE TRIGGER deadlines_changed AFTER UPDATE OF date, kind, tags, agreement_id, party "
        f"ON deadlines "
        f"BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END"
    )
    bump = "UPDATE data_version SET version = version + 1 WHERE id = 1;"
    for table in VERSIONED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_versioned_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN {bump} END"
            )


def _sqlite_down() -> None:
    for trigger in ("deadlines_added", "deadlines_removed", "deadlines_changed"):
        op.execute(f"DROP TRIGGER {trigger}")
    for table in VERSIONED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_versioned_{event}")


def upgrade() -> None:
    counts = op.create_table(
        "deadline_counts",
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tag", "date", "kind"),
    )
    tags = op.create_table(
        "deadline_tags",
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("agreement_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("party", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("tag", "date", "agreement_id", "kind", "party"),
    )
    versions = op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # From the creation time in microseconds: a table created again never repeats numbers
    # that a running process remembers facts for.
    op.bulk_insert(versions, [{"id": 1, "version": time.time_ns() // 1000}])
    _backfill(counts, tags)
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_up()
    else:
        _sqlite_up()


def _backfill(counts: sa.Table, tags: sa.Table) -> None:
    deadlines = sa.table(
        "deadlines",
        sa.column("date", sa.Date),
        sa.column("kind"),
        sa.column("tags"),
        sa.column("agreement_id"),
        sa.column("party"),
    )
    d = deadlines.c
    rows = op.get_bind().execute(sa.select(d.date, d.kind, d.tags, d.agreement_id, d.party)).all()
    tally: Counter[tuple[str, date, str]] = Counter()
    tagged: list[dict[str, object]] = []
    for day, kind, tag_column, agreement_id, party in rows:
        for tag in {"", *tag_column.split(",")}:
            tally[(tag, day, kind)] += 1
            if tag:
                tagged.append(
                    {
                        "tag": tag,
                        "date": day,
                        "agreement_id": agreement_id,
                        "kind": kind,
                        "party": party,
                    }
                )
        if len(tagged) >= BACKFILL_ROWS:  # a few tags per deadline: written as they come
            op.bulk_insert(tags, tagged)
            tagged = []
    op.bulk_insert(tags, tagged)
    counted = [{"tag": t, "date": d, "kind": k, "n": n} for (t, d, k), n in tally.items()]
    for start in range(0, len(counted), BACKFILL_ROWS):
        op.bulk_insert(counts, counted[start : start + BACKFILL_ROWS])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_down()
    else:
        _sqlite_down()
    op.drop_table("data_version")
    op.drop_table("deadline_tags")
    op.drop_table("deadline_counts")
