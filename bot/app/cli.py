"""`python -m bot …`: the bot itself (default), the offline playground, and the corpus tools operators script."""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path

from bot.app import cli_sources, webhook_cli
from bot.app.container import Services
from bot.app.failures import StartupFailure, database_failure
from bot.app.logs import configure_logging
from bot.app.ops_cli import COMMANDS as OPS_COMMANDS
from bot.app.ops_cli import add_parsers as add_ops_parsers
from bot.app.ops_cli import run as run_ops_command
from bot.app.redaction import Redactor, install_redaction
from bot.app.settings import Settings, SettingsError, load_settings
from bot.corpus.analysis_pool import AnalysisPool
from bot.corpus.errors import UploadReason
from bot.corpus.extract import ExtractFailure, Limits, extract_path
from bot.corpus.ingest import IngestResult, Status, TextInput, stopped_by_storage
from bot.corpus.uploads import to_input
from storage.db import DatabaseUnusable, unusable

log = logging.getLogger("bot")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Alatau News Bot: run the Telegram bot, or work with the news corpus from the shell.",
    )
    parser.add_argument("--db", type=Path, help="database file (default: DATABASE_PATH, data/alatau.db)")
    roles = ["all", "web", "worker"]
    role_help = (
        "what this process does (default: BOT_ROLE, all): all, web (updates only), worker (digests only)"
    )
    parser.add_argument("--role", choices=roles, help=role_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run the Telegram bot (the default); needs BOT_TOKEN")
    run.add_argument("--role", choices=roles, default=argparse.SUPPRESS, help=role_help)
    chat = sub.add_parser("chat", help="talk to the bot in this terminal, offline (no token, no network)")
    chat.add_argument("--admin", action="store_true", help="act as an admin")
    chat.add_argument("--lang", default="ru", choices=["ru", "kk", "en"], help="your Telegram language")
    chat.add_argument(
        "--log",
        type=Path,
        default=None,
        help="where the bot's log goes (default: playground.log beside the database), so that the "
        "conversation stays clean",
    )

    ingest = sub.add_parser(
        "ingest",
        help="add texts: files, folders, .jsonl, .zip",
        description="Add texts: files, folders, .jsonl, .zip. Every item that is not saved gets a line of "
        "its own, then a summary.",
        epilog="Exit status: 0 when every item was added or was already stored; 1 when some items were "
        "refused (each is named); 3 when writing stopped because the disk is full or the database is "
        "read-only (what was saved is complete; run again once there is room: saved texts are skipped as "
        "duplicates).",
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument("--json", action="store_true", help="one JSON object per input item")
    ingest.add_argument("--source-name", help="the outlet to record as the texts' source")
    ingest.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="in folders, read symbolic links that lead outside the folder (skipped by default)",
    )

    search = sub.add_parser("search", help="search the corpus")
    search.add_argument("query", nargs="+", help='words, "a phrase", -excluded, prefix*')
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--offset", type=int, default=0)
    search.add_argument("--json", action="store_true")

    summary = sub.add_parser("summary", help="summary of a document, or an overview of the latest news")
    summary.add_argument("id", nargs="?", type=int, help="document id")
    summary.add_argument("--sentences", type=int, default=3)
    summary.add_argument("--latest", type=int, metavar="N", help="overview of the N newest stories")
    summary.add_argument("--search", metavar="QUERY", help="overview of the stories a search finds")
    summary.add_argument("--json", action="store_true")

    stories = sub.add_parser("stories", help="documents grouped into stories (one event, all its sources)")
    stories.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD")
    stories.add_argument("--limit", type=int, default=50)
    stories.add_argument("--json", action="store_true")

    stats = sub.add_parser("stats", help="documents by language and month, index size")
    stats.add_argument("--json", action="store_true")
    add_ops_parsers(sub)
    cli_sources.add_parser(sub)
    webhook_cli.add_parser(sub)
    return parser


def run(argv: Sequence[str] | None = None) -> None:
    args = _build_parser().parse_args(argv)
    try:
        overrides: dict[str, object] = {"database_path": args.db} if args.db else {}
        if args.role:
            overrides["bot_role"] = args.role
        settings = load_settings(**overrides)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    command = args.command or "run"
    # The shell tools print their own results; routine log lines would only clutter them.
    level = settings.log_level if command in ("run", "chat") or settings.log_level == "DEBUG" else "WARNING"
    secrets = [s.get_secret_value() for s in (settings.bot_token, settings.webhook_secret) if s is not None]
    # The terminal is the playground's conversation: log lines there would read as if the bot said them.
    log_file = None
    if command == "chat":
        log_file = args.log or Path(settings.database_path).parent / "playground.log"
    configure_logging(level, settings.log_format, secrets, log_file)
    install_redaction(secrets)
    try:
        raise SystemExit(_dispatch(command, settings, args))
    except DatabaseUnusable as exc:
        log.debug("database unusable", exc_info=True)
        failure = database_failure(exc)
    except sqlite3.DatabaseError as exc:
        # Damage past the schema shows only when a command reads there.
        log.debug("database failed", exc_info=True)
        failure = database_failure(unusable(settings.database_path, exc))
    except StartupFailure as exc:
        failure = exc
    print(Redactor(secrets).redact(str(failure)), file=sys.stderr)
    raise SystemExit(failure.exit_code)


def _dispatch(command: str, settings: Settings, args: argparse.Namespace) -> int:
    if command == "run":
        from bot.app.runners import run_bot

        return run_bot(settings)
    if command == "chat":
        from bot.app.playground import run_playground

        return run_playground(settings, admin=args.admin, language=args.lang)
    if command in OPS_COMMANDS:
        return run_ops_command(command, settings, args)
    handler = {
        "ingest": _ingest,
        "search": _search,
        "summary": _summary,
        "stories": _stories,
        "stats": _stats,
        "sources": cli_sources.run_sources,
        "webhook": webhook_cli.run_webhook_command,
    }
    return asyncio.run(handler[command](settings, args))


# `ingest` exit statuses (see its --help).
EXIT_SOME_FAILED = 1
EXIT_WRITE_STOPPED = 3
_STOPPED_BECAUSE = {
    UploadReason.DISK_FULL: "the disk is full",
    UploadReason.READ_ONLY: "the database is read-only",
}


def _items(
    paths: Sequence[Path],
    limits: Limits,
    source_name: str | None,
    on_failure: Callable[[IngestResult], None],
    follow_symlinks: bool = False,
) -> Iterator[TextInput]:
    for path in paths:
        if not path.exists():
            on_failure(IngestResult(Status.FAILED, str(path), reason="no such file or folder"))
            continue
        for item in extract_path(path, limits, follow_symlinks=follow_symlinks):
            if isinstance(item, ExtractFailure):
                on_failure(IngestResult(Status.FAILED, item.source, reason=item.reason, error=item.error))
            else:
                yield to_input(item, source_name)


async def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    services = await Services.open(settings, load_sample=False)
    limits = services.limits
    counts: Counter[str] = Counter()
    stopped: list[IngestResult] = []  # not saved because writing stopped (disk full, read-only)
    progress = tqdm(unit=" texts", disable=None, file=sys.stderr, leave=False)

    def record(result: IngestResult) -> None:
        counts[result.status.value] += 1
        if stopped_by_storage(result):
            stopped.append(result)
        if args.json:
            print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
        elif result.status is Status.FAILED:
            # One line per item that was not saved, as it happens (a long run shows them early).
            progress.clear()
            print(f"failed: {result.source}: {result.reason}", flush=True)
        progress.update()

    try:
        items = _items(args.paths, limits, args.source_name, record, args.follow_symlinks)
        # A second core analyses texts while this process writes the database.
        async with AnalysisPool(settings.min_text_chars, settings.max_text_chars) as pool:
            async for _ in services.corpus.ingest_many(items, on_result=record, pool=pool):
                pass
    finally:
        progress.close()
        await services.close()
    refused = counts["failed"] - len(stopped)
    summary = (
        f"added {counts['added']}, near-duplicates {counts['near-duplicate']} (kept, linked), "
        f"duplicates {counts['duplicate']} (skipped), failed {refused}"
    )
    if stopped:
        error = stopped[0].error
        why = _STOPPED_BECAUSE.get(error.reason, "writing stopped") if error else "writing stopped"
        summary += f", not saved {len(stopped)} ({why})"
    # The summary goes where the items went: with --json, stdout stays one JSON object per line.
    print(summary, file=sys.stderr if args.json else sys.stdout)
    if stopped:
        print(
            f"stopped: {len(stopped)} items not saved because the storage refused to write; free space "
            "(or make the database writable) and run again: saved texts are skipped as duplicates",
            file=sys.stderr,
        )
        return EXIT_WRITE_STOPPED
    return EXIT_SOME_FAILED if counts["failed"] else 0


def _terminal(snippet: str) -> str:
    bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("**", "**")
    return html.unescape(snippet.replace("<b>", bold).replace("</b>", plain))


async def _search(settings: Settings, args: argparse.Namespace) -> int:
    services = await Services.open(settings, read_only=True)
    try:
        result = await services.search.search(" ".join(args.query), limit=args.limit, offset=args.offset)
    finally:
        await services.close()
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        return 0
    if result.problem:
        print("Nothing to search for: type at least one word (not only -excluded words).")
        return 0
    if result.corrected_query:
        print(f"Showing results for: {result.corrected_query}")
    if not result.hits:
        print("Nothing found.")
        return 0
    if result.partial:
        print("No document has all the words; showing the closest matches.")
    more = "+" if result.total_capped else ""
    order = "newest first" if result.ordering == "recent" else "by relevance"
    print(f"{result.total}{more} found, {order}:\n")
    for hit in result.hits:
        d = hit.document
        print(
            f"[{d.id}] {d.title}  ({d.published or 'no date'}, {d.source_name or d.url or 'unknown source'})"
        )
        print(f"    {_terminal(hit.snippet)}\n")
    return 0


async def _summary(settings: Settings, args: argparse.Namespace) -> int:
    services = await Services.open(settings, read_only=True)
    try:
        if args.latest or args.search:
            if args.search:
                found = await services.search.search(args.search, limit=30)
                items = services.summaries.overview_of([h.document for h in found.hits], max_items=10)
            else:
                items = await services.summaries.latest_overview(args.latest)
            if args.json:
                rows = [
                    {
                        "title": i.title,
                        "line": i.line,
                        "date": i.published.isoformat() if i.published else None,
                        "documents": list(i.doc_ids),
                        "sources": list(i.sources),
                        "story_id": i.story_id,
                    }
                    for i in items
                ]
                print(json.dumps(rows, ensure_ascii=False, indent=2))
            for item in [] if args.json else items:
                print(f"• {item.title}  [{', '.join(map(str, item.doc_ids))}]\n  {item.line}\n")
            return 0
        if args.id is None:
            print("give a document ID, --latest N or --search QUERY", file=sys.stderr)
            return 2
        summary = await services.summaries.document(args.id, sentences=max(1, args.sentences))
    finally:
        await services.close()
    if summary is None:
        print(f"no document {args.id}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary.as_json(), ensure_ascii=False, indent=2))
    else:
        print(summary.document.title + "\n")
        print("\n".join(summary.sentences))
    return 0


async def _stories(settings: Settings, args: argparse.Namespace) -> int:
    services = await Services.open(settings, read_only=True)
    try:
        stories = await services.summaries.stories(since=args.since, limit=args.limit)
    finally:
        await services.close()
    if args.json:
        print(json.dumps([s.as_json() for s in stories], ensure_ascii=False, indent=2))
        return 0
    for s in stories:
        n = len(s.documents)
        print(f"■ {s.title}  ({s.latest or 'no date'}, {n} source{'s' if n != 1 else ''})")
        print("  " + " ".join(s.summary))
        for d in s.documents:
            where = " ".join(x for x in (d.source_name, d.url) if x)
            print(f"    [{d.id}] {d.title}" + (f"  ({where})" if where else ""))
        print()
    return 0


async def _stats(settings: Settings, args: argparse.Namespace) -> int:
    services = await Services.open(settings, read_only=True)
    try:
        st = await services.corpus.repo.stats()
    finally:
        await services.close()
    if args.json:
        print(json.dumps(st.__dict__, ensure_ascii=False, indent=2))
        return 0
    print(f"documents: {st.documents} ({st.hidden} hidden)")
    print("by language: " + ", ".join(f"{k} {v}" for k, v in st.by_language.items()))
    print("by month:")
    for month, n in st.by_month.items():
        print(f"  {month}  {n}")
    print(
        f"index: {st.terms} terms, {st.index_bytes / 1e6:.1f} MB; database {st.database_bytes / 1e6:.1f} MB"
    )
    return 0
