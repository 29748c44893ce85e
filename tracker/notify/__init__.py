"""Delivery channels behind one small interface (:class:`tracker.notify.base.Notifier`).

Each channel type lives in its own module and builds itself from its configuration
(``Notifier.from_settings``); :data:`tracker.notify.registry.NOTIFIERS` maps a configured
``type`` to its class explicitly, and :func:`tracker.notify.registry.build_notifier` is the one
factory, so adding a channel is one module and one line.
"""
