"""The PostgreSQL backend: the same repository Protocols as SQLite, on an asyncpg pool.

Selected by a `postgresql://` location (`DATABASE_URL`); see `storage.backend.open_backend`.
"""
