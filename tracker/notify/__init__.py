"""Delivery channels behind one small interface (:class:`tracker.notify.base.Notifier`).

Each channel type lives in its own module; :data:`tracker.notify.registry.NOTIFIERS` maps a
configured ``type`` to its class explicitly, so adding a channel is one module and one line.
"""
