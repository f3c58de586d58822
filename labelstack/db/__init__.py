"""Persistence: SQLModel tables, the engine and session, Alembic migrations."""
