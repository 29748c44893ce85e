"""HTTP API, calendar feed and web page: :func:`tracker.api.app.create_app`."""
