"""What the /sources and /source screens say: every value from a feed or an admin is HTML-escaped."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.sources.service import PollReport
from handlers.errors import describe_fetch_failure
from handlers.ui.render import MESSAGE_LIMIT, fit
from storage.models import Source, SourceKind

MAX_LISTED_TITLES = 10
PAGE_CHARS = MESSAGE_LIMIT - 96  # room for what Telegram counts differently (entities, UTF-16)


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"


def source_help() -> str:
    return "\n".join(
        [
            html.bold(_("Sources: feeds and channels whose news I take in by myself")),
            _("/sources — the list, with each one's state"),
            _("/source add URL [filter] — follow an RSS or Atom feed"),
            _("/source add @channel [filter] — take in a channel's posts (I must be its administrator)"),
            _("/source filter N [filter] — change the filter (nothing after N: everything)"),
            _("/source pause N, /source resume N, /source remove N"),
            _("/source poll N — poll a feed now and say what it added"),
            _('Filter: words in any form, "a phrase", -excluded; alternatives with OR: Алатау OR Alatau'),
        ]
    )


def _name(source: Source) -> str:
    return html.quote(source.title or source.url)


def _filter(source: Source) -> str:
    if not source.filter_query:
        return _("everything")
    return "«" + html.quote(source.filter_query) + "»"


def source_line(source: Source, zone: ZoneInfo, i18n: I18n) -> str:
    icon = "📢" if source.kind is SourceKind.CHANNEL else "📰"
    head = f"{icon} <b>#{source.id}</b> {_name(source)}"
    if source.paused:
        head += " · " + _("⏸ paused")
    lines = [head]
    if source.title:
        lines.append(html.quote(source.url))
    lines.append(_("Filter: {filter}").format(filter=_filter(source)))
    if source.kind is SourceKind.FEED:
        lines.append(
            _("Last poll: {polled} · last new text: {new} · stored: {count}").format(
                polled=_when(source.last_polled_at, zone),
                new=_when(source.last_new_at, zone),
                count=source.items_added,
            )
        )
    else:
        lines.append(
            _("Last new post: {new} · stored: {count}").format(
                new=_when(source.last_new_at, zone), count=source.items_added
            )
        )
    if source.error_reason:
        lines.append(
            _("⚠️ Last error: {error} (failed {count} times in a row; next try {next})").format(
                error=describe_fetch_failure(source.error_reason, source.error_params, i18n),
                count=source.failures,
                next=_when(source.next_poll_at, zone),
            )
        )
    return "\n".join(lines)


def sources_pages(sources: list[Source], zone: ZoneInfo, i18n: I18n) -> list[str]:
    """The list, in as many messages as it takes (a source is a few lines; Telegram takes 4096 characters)."""
    if not sources:
        return [_("No sources yet.") + "\n\n" + source_help()]
    pages = [html.bold(_("Sources ({count})").format(count=len(sources)))]
    for source in sources:
        block = fit(source_line(source, zone, i18n), PAGE_CHARS)
        if len(pages[-1]) + 2 + len(block) > PAGE_CHARS:
            pages.append(block)
        else:
            pages[-1] += "\n\n" + block
    return pages


def added_text(source: Source) -> str:
    if source.kind is SourceKind.CHANNEL:
        first = _("✅ Channel {name} is source #{id}: its new posts will be taken in.")
    else:
        first = _("✅ Feed {name} is source #{id}: I will poll it within a minute, then every {minutes} min.")
    text = first.format(name=_name(source), id=source.id, minutes=source.poll_minutes)
    return text + "\n" + _("Filter: {filter}").format(filter=_filter(source))


def changed_text(source: Source, action: str) -> str:
    texts = {
        "filter": _("Source #{id} ({name}): the filter is now {filter}."),
        "pause": _("⏸ Source #{id} ({name}) is paused."),
        "resume": _("▶️ Source #{id} ({name}) is polled again."),
        "remove": _("🗑 Source #{id} ({name}) is removed; the texts it brought stay."),
    }
    return texts[action].format(id=source.id, name=_name(source), filter=_filter(source))


def poll_text(report: PollReport, zone: ZoneInfo, i18n: I18n) -> str:
    source = report.source
    if report.error is not None:
        return _("⚠️ Source #{id} ({name}) failed: {error}. Next try {next}.").format(
            id=source.id,
            name=_name(source),
            error=describe_fetch_failure(report.error, report.error_params, i18n),
            next=_when(source.next_poll_at, zone),
        )
    if report.not_modified:
        return _("Source #{id} ({name}): nothing has changed since the last poll.").format(
            id=source.id, name=_name(source)
        )
    lines = [
        _("Source #{id} ({name}): new texts — {added}.").format(
            id=source.id, name=_name(source), added=len(report.added)
        )
    ]
    for item in report.added[:MAX_LISTED_TITLES]:
        lines.append(f"• #{item.doc_id} {html.quote(item.title)}")
    if len(report.added) > MAX_LISTED_TITLES:
        lines.append("…")
    lines.append(
        _("Already stored: {duplicates}; left out by the filter: {filtered}; refused: {refused}.").format(
            duplicates=report.duplicates, filtered=report.filtered, refused=report.refused
        )
    )
    return "\n".join(lines)
