"""Versioned migrations (``migrations/NNNN_name.sql``) and the read-only role."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from trendfolio.errors import TrendfolioError

log = logging.getLogger(__name__)
_LOCK_KEY = 0x7472656E64  # "trend": one migrator at a time per database
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
READER_ROLE = "trendfolio_reader"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    folder = resources.files("trendfolio.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply every pending migration in its own transaction; return the versions applied."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            r["version"]: r["checksum"]
            for r in await conn.fetch("SELECT version, checksum FROM schema_migrations")
        }
        applied = []
        for mig in available_migrations():
            if mig.version in done:
                if done[mig.version] != mig.checksum:
                    raise TrendfolioError(
                        f"migration {mig.version:04d}_{mig.name} was changed after it was applied"
                    )
                continue
            async with conn.transaction():
                await conn.execute(mig.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    mig.version,
                    mig.name,
                    mig.checksum,
                )
            log.info("applied migration %04d_%s", mig.version, mig.name)
            applied.append(mig.version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def ensure_reader(conn: asyncpg.Connection, user: str, password: str) -> None:
    """Create or update the read-only login role used by services that only read."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", user):
        raise TrendfolioError(f"read-only role name {user!r} is not a plain identifier")
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", user)
    # Role names and passwords cannot be bind parameters in DDL; quote them with the server.
    ident = await conn.fetchval("SELECT quote_ident($1)", user)
    literal = await conn.fetchval("SELECT quote_literal($1)", password)
    verb = "ALTER" if exists else "CREATE"
    await conn.execute(f"{verb} ROLE {ident} LOGIN PASSWORD {literal} NOSUPERUSER NOCREATEDB")
    db = await conn.fetchval("SELECT quote_ident(current_database())")
    await conn.execute(f"GRANT CONNECT ON DATABASE {db} TO {ident}")
    await conn.execute(f"GRANT USAGE ON SCHEMA public TO {ident}")
    await conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ident}")
    await conn.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {ident}"
    )
