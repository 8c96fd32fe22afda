"""`python -m bot sources …`: follow feeds from the shell (add, list, remove, poll once and exit).

`sources poll` is one pass, then exit: the due feeds (with `--all`, every feed not paused), each one's new
texts printed as they are stored. Exit status: 0 when at least one feed was polled fine (or none was due),
1 when every feed polled failed (each failure is also recorded on its source and shown by `sources list`),
2 for a refused command (a wrong address, no such source).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from bot.app.container import Services
from bot.app.settings import Settings
from bot.sources.service import PollReport, SourceError, SourceProblem
from storage.models import Source

EXIT_ALL_FAILED = 1
EXIT_REFUSED = 2

# The shell has no translations: the typed reasons in plain English.
_PROBLEMS = {
    SourceProblem.BAD_ADDRESS: "not a feed address (http:// or https://) nor a channel's @name",
    SourceProblem.EXISTS: "already a source (#{id})",
    SourceProblem.NOT_FOUND: "no source #{id}",
    SourceProblem.CHANNEL: "the channel cannot be read ({problem}): the bot must be its administrator",
    SourceProblem.NEEDS_BOT: "channels are added in the chat with the bot (/source add @channel), where "
    "Telegram can confirm the bot is an administrator there",
    SourceProblem.NOT_POLLED: "a channel's posts arrive by themselves; there is nothing to poll",
    SourceProblem.FILTER_TOO_LONG: "the filter is too long (at most {max} characters)",
}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sources = sub.add_parser(
        "sources",
        help="feeds the corpus follows: add, list, remove, poll",
        description="Feeds (RSS, RDF, Atom) whose new items are stored with their full article text.",
        epilog="`poll` exit status: 0 when at least one feed was polled fine (or none was due), 1 when "
        "every feed polled failed, 2 for a refused command.",
    )
    actions = sources.add_subparsers(dest="sources_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="follow a feed")
    add.add_argument("url")
    add.add_argument(
        "--filter",
        default="",
        metavar="QUERY",
        help='only items that match, in the search language: words, "phrases", -excluded, A OR B',
    )
    listing = actions.add_parser("list", help="the sources with their state")
    listing.add_argument("--json", action="store_true")
    remove = actions.add_parser("remove", help="stop following a source (its texts stay)")
    remove.add_argument("id", type=int)
    poll = actions.add_parser("poll", help="one pass over the due feeds, then exit")
    poll.add_argument("--all", action="store_true", help="every feed, whatever its interval")
    poll.add_argument("--json", action="store_true", help="one JSON object per feed polled")


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _error(source: Source) -> str | None:
    if source.error_reason is None:
        return None
    params = ", ".join(f"{k}={v}" for k, v in source.error_params.items())
    return f"{source.error_reason} ({params})" if params else source.error_reason


def source_json(source: Source) -> dict[str, object]:
    return {
        "id": source.id,
        "kind": source.kind.value,
        "url": source.url,
        "title": source.title,
        "filter": source.filter_query,
        "paused": source.paused,
        "last_polled": _time(source.last_polled_at),
        "last_new": _time(source.last_new_at),
        "next_poll": _time(source.next_poll_at),
        "items_added": source.items_added,
        "failures": source.failures,
        "last_error": _error(source),
        "last_error_reason": source.error_reason,
        "last_error_params": source.error_params,
    }


def _report_json(report: PollReport) -> dict[str, object]:
    return {
        "id": report.source.id,
        "url": report.source.url,
        "added": [{"id": a.doc_id, "title": a.title, "url": a.url} for a in report.added],
        "duplicates": report.duplicates,
        "filtered": report.filtered,
        "refused": report.refused,
        "not_modified": report.not_modified,
        "error": _error(report.source) if report.failed else None,
    }


def _refusal(error: SourceError) -> str:
    return _PROBLEMS[error.problem].format(**{"id": "?", "max": "?", "problem": "?", **error.params})


async def run_sources(settings: Settings, args: argparse.Namespace) -> int:
    services = await Services.open(settings, load_sample=False, read_only=args.sources_command == "list")
    try:
        return await _run(services, args)
    except SourceError as exc:
        print(f"refused: {_refusal(exc)}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await services.close()


async def _run(services: Services, args: argparse.Namespace) -> int:
    sources = services.sources
    command = args.sources_command
    if command == "add":
        added = await sources.add(args.url, args.filter)
        print(f"added source #{added.id}: {added.url} (filter: {added.filter_query or 'everything'})")
        return 0
    if command == "list":
        listed = await sources.sources()
        if args.json:
            print(json.dumps([source_json(s) for s in listed], ensure_ascii=False, indent=2))
            return 0
        for s in listed:
            state = "paused" if s.paused else f"error: {_error(s)}" if s.error_reason else "ok"
            print(
                f"#{s.id} {s.kind.value} {s.url} [{state}] filter: {s.filter_query or 'everything'}; "
                f"last polled {_time(s.last_polled_at) or 'never'}; {s.items_added} stored"
            )
        return 0
    if command == "remove":
        removed = await sources.remove(args.id)
        print(f"removed source #{removed.id}: {removed.url}")
        return 0
    reports = await sources.poll_due(everything=args.all)
    for report in reports:
        if args.json:
            print(json.dumps(_report_json(report), ensure_ascii=False), flush=True)
            continue
        s = report.source
        if report.failed:
            print(f"#{s.id} {s.url}: failed: {_error(s)}", flush=True)
            continue
        print(
            f"#{s.id} {s.url}: added {len(report.added)}, already stored {report.duplicates}, "
            f"filtered out {report.filtered}, refused {report.refused}"
            + (" (not modified)" if report.not_modified else ""),
            flush=True,
        )
        for item in report.added:
            print(f"    [{item.doc_id}] {item.title}  {item.url or ''}".rstrip(), flush=True)
    if not reports and not args.json:
        print("no feed is due")
    return EXIT_ALL_FAILED if reports and all(r.failed for r in reports) else 0
