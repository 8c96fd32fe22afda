"""The operators' commands of `python -m bot`: backup, restore, export, import, migrate-db."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.app.settings import Settings

COMMANDS = frozenset({"backup", "restore", "export", "import", "migrate-db"})


def add_parsers(sub: Any) -> None:
    """`sub`: the subparsers of the main parser."""
    backup = sub.add_parser(
        "backup",
        help="a consistent copy of the SQLite database, also while the bot runs",
        description="Copy the SQLite database through SQLite's online backup API (consistent while the bot "
        "writes), check the copy, then name it PATH. With DATABASE_URL (PostgreSQL): prints how to use "
        "pg_dump and exits 2.",
    )
    backup.add_argument("path", type=Path, metavar="PATH")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")
    restore = sub.add_parser(
        "restore",
        help="put a backup in place of the database (the bot stopped); the old one is kept as .bak",
        description="Check that PATH is an intact database of this bot that this version can open, then "
        "put it in place of DATABASE_PATH, keeping the replaced file as DATABASE_PATH.bak. Refused while a "
        "bot runs on the database. With DATABASE_URL (PostgreSQL): prints how to use pg_restore, exits 2.",
    )
    restore.add_argument("path", type=Path, metavar="PATH")
    export = sub.add_parser(
        "export",
        help="the whole corpus as JSON Lines (one document a line)",
        description="Write every document (hidden ones too) with its text, title, source, url, dates, "
        "language, hidden flag, story and original: `import` restores them exactly.",
    )
    export.add_argument("file", type=Path, metavar="FILE.jsonl")
    load = sub.add_parser(
        "import",
        help="restore documents from an `export` file (texts already stored are skipped)",
        description="Restore the documents of an `export` file as they were exported (not re-read as new "
        "uploads). Exit status 1 when some lines were refused (each is named).",
    )
    load.add_argument("file", type=Path, metavar="FILE.jsonl")
    migrate = sub.add_parser(
        "migrate-db",
        help="copy the SQLite database into an empty PostgreSQL database",
        description="Copy everything in the SQLite database at DATABASE_PATH (documents and their index, "
        "users, subscriptions, digests and deliveries, the audit log, …) into an empty PostgreSQL database, "
        "then compare the row counts of every table. The bot must be stopped.",
    )
    migrate.add_argument("--to", required=True, metavar="postgresql://user:password@host:port/db")


def run(command: str, settings: Settings, args: argparse.Namespace) -> int:
    if command == "backup":
        from bot.app.backup import backup

        return backup(settings, args.path, force=args.force)
    if command == "restore":
        from bot.app.backup import restore

        return restore(settings, args.path)
    if command == "export":
        from bot.app.export import export_corpus

        return asyncio.run(export_corpus(settings, args.file))
    if command == "import":
        from bot.app.export import import_corpus

        return asyncio.run(import_corpus(settings, args.file))
    from bot.app.migrate_db import migrate_db

    return migrate_db(settings, args.to)
