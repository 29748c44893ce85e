"""Pure domain logic: no database, network, scheduler, configuration or clock.

Everything here takes ``as_of`` (a date) or ``now`` (an aware datetime) as an argument, so
the same inputs always give the same outputs; what the configuration says reaches the
reminder planner as a :class:`~tracker.domain.planner.ReminderPolicy` value.
``tests/unit/test_import_boundary.py`` enforces that nothing here imports the layers above
(settings, store, notify, api, cli, app, service, dispatch, scheduler, loader) or an I/O
library, and that nothing reads the clock.
"""
