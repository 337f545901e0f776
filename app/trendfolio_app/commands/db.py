"""``trendfolio db migrate``: apply the migrations and create the read-only role."""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import unquote, urlsplit

from trendfolio import wiring
from trendfolio.config import Settings
from trendfolio.db.connect import connection, describe
from trendfolio.db.migrate import READER_ROLE, ensure_reader, migrate


async def migrate_database(settings: Settings) -> int:
    url = await asyncio.to_thread(wiring.database_url, settings)
    async with connection(url) as conn:
        applied = await migrate(conn)
        if settings.readonly_database_url is not None:
            ro = urlsplit(settings.readonly_database_url.get_secret_value())
            await ensure_reader(
                conn, unquote(ro.username or READER_ROLE), unquote(ro.password or "")
            )
    print(f"trendfolio: {describe(url)}: applied {applied or 'nothing (up to date)'}",
          file=sys.stderr)
    return 0
