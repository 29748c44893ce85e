"""Persistence: SQLModel tables, engine factory, queries and migrations."""
