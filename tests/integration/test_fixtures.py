"""The database fixture really gives an empty, working database on each backend."""

from sqlalchemy import inspect, text

from tracker.store.engine import make_engine


def test_db_url_gives_an_empty_working_database(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert inspect(engine).get_table_names() == []
    engine.dispose()
