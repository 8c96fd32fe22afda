"""`python -m bot migrate-db --to postgresql://…`: the SQLite database at DATABASE_PATH copied into an
empty PostgreSQL database (storage/transfer.py), then every table's rows counted on both sides.

The bot must be stopped (its lock is taken, as a second bot would), so that the copy is the whole of it.
Afterwards set DATABASE_URL to the target and start the bot: the SQLite file is left as it was.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg

from bot.app.failures import StartupFailure
from bot.app.lock import instance_lock
from bot.app.settings import Settings
from storage.backend import is_postgres
from storage.postgres.db import redact
from storage.transfer import TargetNotEmpty, copy_to_postgres

EXIT_MISMATCH = 1


def migrate_db(settings: Settings, target_url: str) -> int:
    if settings.database_url:
        raise StartupFailure(
            "migrate-db copies the SQLite database at DATABASE_PATH: unset DATABASE_URL for this command.",
            exit_code=2,
        )
    if not is_postgres(target_url):
        raise StartupFailure("--to must be a postgresql://user:password@host:port/db address.", exit_code=2)
    source = Path(settings.database_path)
    if not source.is_file():
        raise StartupFailure(f"DATABASE_PATH {source} does not exist: nothing to copy.", exit_code=2)
    where = redact(target_url)

    def progress(table: str, rows: int) -> None:
        print(f"  {table}: {rows} rows", file=sys.stderr)

    with instance_lock(source):
        try:
            report = asyncio.run(copy_to_postgres(source, target_url, progress))
        except TargetNotEmpty as exc:
            raise StartupFailure(
                f"{where} is not empty (its table {exc.table} has {exc.rows} rows): migrate-db copies into an "
                "empty database only; create a new one (createdb) or drop this one's tables.",
                exit_code=1,
            ) from None
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StartupFailure(
                f"cannot copy into {where}: {type(exc).__name__}: {exc}", exit_code=1
            ) from None
    width = max(len(t) for t in report.counts)
    print(f"copied {source} into {where}:")
    for table, (expected, copied) in report.counts.items():
        mark = "ok" if expected == copied else "MISMATCH"
        print(f"  {table:<{width}}  sqlite {expected:>8}  postgresql {copied:>8}  {mark}")
    if not report.matches:
        print("some tables differ: the target is not a faithful copy", file=sys.stderr)
        return EXIT_MISMATCH
    print(f"every table matches; now set DATABASE_URL={where} (with its password) and start the bot")
    return 0
