"""Storage: engines and sessions for SQLite and PostgreSQL, the declarative
base shared by every domain's models, and the Alembic migrations."""
