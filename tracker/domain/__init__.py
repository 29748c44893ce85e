"""Pure domain logic: no database, network, scheduler or clock.

Everything here takes ``as_of`` (a date) or ``now`` (an aware datetime) as an argument, so
the same inputs always give the same outputs. ``tests/unit/test_import_boundary.py`` enforces
that nothing here imports sqlmodel, sqlalchemy, httpx, fastapi or apscheduler.
"""
