"""`python -m bot backup PATH` and `python -m bot restore PATH`.

SQLite: a consistent copy while the bot runs (storage/backup.py: the online backup API), checked before it
is named PATH; restore refuses while a bot holds the database's lock, checks that the file is an intact
database of ours of a schema this version can open, and keeps the replaced database as `<file>.bak`.
PostgreSQL has its own tools: both commands say how to use them and exit 2.
"""

from __future__ import annotations

from pathlib import Path

from bot.app.failures import StartupFailure
from bot.app.lock import instance_lock
from bot.app.settings import Settings
from storage.backup import DatabaseBusy, backup_sqlite, inspect_sqlite, replace_sqlite
from storage.db import DatabaseUnusable, Unusable
from storage.postgres.db import redact

EXIT_USAGE = 2
_REFUSED = {
    Unusable.CANNOT_OPEN: "cannot be opened",
    Unusable.DAMAGED: "is not an SQLite database, or is damaged",
    Unusable.NOT_OURS: "is not a database of this bot",
    Unusable.TOO_NEW: "was written by a newer version of this bot (upgrade the program first)",
}


def _postgres_guidance(url: str, command: str) -> str:
    where = redact(url)
    if command == "backup":
        return (
            f"DATABASE_URL is PostgreSQL ({where}): back it up with PostgreSQL's own tool, which is consistent "
            "while the bot runs:\n"
            f"  pg_dump --format=custom --file alatau.dump '{where}'\n"
            "(the password from PGPASSWORD or ~/.pgpass; in docker compose: "
            "docker compose exec postgres pg_dump -U alatau --format=custom alatau > alatau.dump)"
        )
    return (
        f"DATABASE_URL is PostgreSQL ({where}): restore a pg_dump archive with PostgreSQL's own tool, the bot "
        "stopped:\n"
        f"  pg_restore --clean --if-exists --no-owner --dbname '{where}' alatau.dump"
    )


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def backup(settings: Settings, target: Path, *, force: bool = False) -> int:
    if settings.database_url:
        print(_postgres_guidance(settings.database_url, "backup"))
        return EXIT_USAGE
    if target.exists() and not force:
        raise StartupFailure(f"{target} exists: choose another path, or --force to replace it.", exit_code=1)
    if target.is_dir():
        raise StartupFailure(f"{target} is a folder: give the path of the backup file.", exit_code=1)
    target.parent.mkdir(parents=True, exist_ok=True)
    info = backup_sqlite(Path(settings.database_path), target)
    print(
        f"backed up {settings.database_path} to {target}: schema version {info.schema_version}, "
        f"{info.documents} documents, {_size(info.bytes)}; integrity checked"
    )
    return 0


def restore(settings: Settings, source: Path) -> int:
    if settings.database_url:
        print(_postgres_guidance(settings.database_url, "restore"))
        return EXIT_USAGE
    current = Path(settings.database_path)
    if source.resolve() == current.resolve():
        raise StartupFailure(f"{source} is the database itself: restore from a backup file.", exit_code=1)
    try:
        info = inspect_sqlite(source)
    except DatabaseUnusable as exc:
        why = _REFUSED.get(exc.reason, "cannot be read")
        raise StartupFailure(f"{source} cannot be restored: it {why} ({exc.detail}).", exit_code=1) from None
    # The lock a running bot holds: a database swapped under a running bot would be lost.
    with instance_lock(current):
        try:
            kept = replace_sqlite(current, source)
        except DatabaseBusy:
            raise StartupFailure(
                f"{current} is open in another process (a shell command?): stop it and run restore again.",
                exit_code=1,
            ) from None
    print(
        f"restored {current} from {source}: schema version {info.schema_version}, {info.documents} documents"
        + (f"; the previous database is kept as {kept}" if kept else "")
    )
    return 0
