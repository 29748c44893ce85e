"""Real collaborators for integration tests: an HTTP receiver and an SMTP server."""
