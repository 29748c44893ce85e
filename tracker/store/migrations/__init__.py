"""Alembic migrations, configured in code by :mod:`tracker.store.migrate` (no alembic.ini)."""
