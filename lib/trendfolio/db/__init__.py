"""Data access: the PostgreSQL server, migrations and batch writers."""
