"""The use cases that the command line and the HTTP API share.

Each module owns one kind of thing: :mod:`~tracker.app.agreements` (list, read, save,
delete, import, export, explain), :mod:`~tracker.app.deadlines` (the one window resolution
and the one deadline query), :mod:`~tracker.app.reminders` (the plan, its delivery log,
acknowledgement, simulation), :mod:`~tracker.app.channels` and :mod:`~tracker.app.status`
(health and the figures a metrics scrape reads). They take a :class:`~tracker.app.context.
Context` built once by each entry point, open sessions through the store, call the domain,
and say what a write sets in motion; they know nothing of HTTP or terminals, and never read
the clock: ``now`` and ``as_of`` are arguments.
"""
