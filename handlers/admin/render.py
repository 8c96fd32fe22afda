"""The admins' screens as text: previews, bulk progress and reports, cards, /docs lists, /stats, /log.

Every value from a user or the corpus is HTML-escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.admin.audit import AuditAction, AuditPage, LogEntry
from bot.admin.chart import ChartLabels
from bot.admin.documents import DocCard, DocPage
from bot.admin.stats import AdminStats
from bot.admin.uploads import BulkProgress, BulkReport, Preview
from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.ingest import IngestResult, Status
from bot.corpus.uploads import CHAT_SOURCE
from bot.i18n import LANGUAGE_NAMES
from handlers.errors import FORMATS, describe
from handlers.ui import render
from storage.models import Document

DOCS_PAGE = 8
LOG_PAGE = 15
REPORT_FAILURES = 15
# How the corpus figures name the texts without a date (storage's key, never shown as it is).
UNDATED = "undated"


def add_prompt() -> str:
    return _(
        "Send me the text as a message, forward a channel post, or send files ({formats}, one by one "
        "or several at once). /cancel to stop."
    ).format(formats=FORMATS)


def _language(code: str) -> str:
    """A text's language, named in the admin's (the picker names each language in itself instead)."""
    names = {"ru": _("Russian"), "kk": _("Kazakh"), "en": _("English")}
    return names.get(code) or LANGUAGE_NAMES.get(code, code)


def _source(name: str | None, url: str | None) -> str:
    label = name or url or _("unknown source")
    return html.link(html.quote(label), url) if url else html.quote(label)


def preview_text(preview: Preview, locale: str, existing_link: str | None = None) -> str:
    prepared = preview.prepared
    lines = [
        html.bold(_("📝 Preview of the text")),
        "",
        html.bold(html.quote(prepared.title)),
        _("Date: {date}").format(date=html.quote(render.fmt_date(prepared.published, locale))),
        _("Source: {source}").format(source=_source(prepared.source_name, prepared.url)),
        _("Language: {language}").format(language=html.quote(_language(prepared.lang))),
        _("Length: {chars} characters, {words} words").format(chars=len(prepared.text), words=preview.words),
    ]
    if prepared.input.source and prepared.input.source != CHAT_SOURCE:
        lines.append(_("From: {name}").format(name=html.quote(render.short(prepared.input.source, 80))))
    if preview.summary:
        lines += ["", html.italic(html.quote(" ".join(preview.summary)))]
    lines.append("")
    if prepared.duplicate is not None:
        original = prepared.duplicate
        title = html.quote(render.short(original.title, 100))
        lines.append(
            _("⛔ Not saved: this exact text is already in the corpus as #{id} «{title}».").format(
                id=original.id, title=html.link(title, existing_link) if existing_link else title
            )
        )
    elif prepared.near_duplicate is not None:
        near = prepared.near_duplicate
        lines.append(
            _(
                "🔗 A near-duplicate ({similarity}% similar) of #{id} «{title}»: it will join that story."
            ).format(
                similarity=round(prepared.near_similarity * 100),
                id=near.id,
                title=html.quote(render.short(near.title, 100)),
            )
        )
    else:
        lines.append(_("✅ New: no such text in the corpus yet."))
    return render.fit("\n".join(lines))


def progress_text(progress: BulkProgress) -> str:
    return "\n".join(
        [
            _("⏳ Saving texts: {done} of {total}…").format(done=progress.done, total=progress.total),
            _("Added {added}, duplicates {duplicates}, failed {failed} so far.").format(
                added=progress.added, duplicates=progress.duplicates, failed=progress.failed
            ),
        ]
    )


def report_text(report: BulkReport, name: str, i18n: I18n) -> str:
    quoted = html.quote(render.short(name, 80))
    heading = (
        _("⛔ Upload stopped: {name}").format(name=quoted)
        if report.stopped is not None
        else _("📦 Upload finished: {name}").format(name=quoted)
    )
    lines = [
        html.bold(heading),
        ngettext("{n} item in it.", "{n} items in it.", report.total).format(n=report.total),
        _("✅ Added: {n}").format(n=report.added),
        _("🔗 Of them near-duplicates: {n} (saved, linked to the text they repeat)").format(n=report.joined),
        _("♻️ Duplicates skipped: {n}").format(n=report.duplicates),
        _("⚠️ Failed: {n}").format(n=report.failed),
    ]
    if report.stopped is not None:
        # Said before the list of failures, which may be cut to fit the message.
        lines += _stop_lines(report, i18n)
    for failure in report.failures[:REPORT_FAILURES]:
        lines.append(f"• {html.quote(render.short(failure.source, 80))} — {describe(failure.error, i18n)}")
    if report.failed > REPORT_FAILURES:
        lines.append(_("…and {n} more.").format(n=report.failed - REPORT_FAILURES))
    return render.fit("\n".join(lines))


def _stop_lines(report: BulkReport, i18n: I18n) -> list[str]:
    """Why a bulk upload stopped early and which items it did not save (the first and the last named)."""
    assert report.stopped is not None
    lines = [_("⛔ Not saved: {n}").format(n=len(report.not_saved)), describe(report.stopped, i18n)]
    if report.not_saved:
        first, last = (html.quote(render.short(s, 80)) for s in (report.not_saved[0], report.not_saved[-1]))
        lines.append(
            _("The upload stopped at {first}; everything from there on was not saved.").format(first=first)
            if first == last
            else _("Not saved: from {first} to {last}.").format(first=first, last=last)
        )
    lines.append(_("What was saved is complete. Texts already saved will be skipped as duplicates."))
    return lines


def saved_text(result: IngestResult) -> str:
    title = html.quote(render.short(result.title or "", 100))
    if result.status is Status.NEAR_DUPLICATE:
        return _("✅ Saved as #{id} «{title}»; it joined the story of #{original}.").format(
            id=result.id, title=title, original=result.duplicate_of
        )
    return _("✅ Saved as #{id} «{title}». Readers can find it now.").format(id=result.id, title=title)


def card_text(card: DocCard, locale: str) -> str:
    doc = card.document
    head = []
    if doc.hidden:
        head.append(html.bold(_("🙈 Hidden: not in search, digests or inline results.")))
    info = _("#{id} · {language} · {chars} characters · added {added}").format(
        id=doc.id,
        language=html.quote(_language(doc.lang)),
        chars=len(doc.text),
        added=html.quote(render.fmt_date(doc.created_at.date(), locale)),
    )
    body = render.card(doc, card.summary, card.story_size, locale)
    if card.near_duplicate_of is not None:
        original = card.near_duplicate_of
        head.append(
            _("🔗 A near-duplicate of #{id} «{title}» (it is in that story).").format(
                id=original.id, title=html.quote(render.short(original.title, 100))
            )
        )
    return render.fit("\n\n".join([*head, body, info]))


def docs_text(docs: Sequence[Document], query: str, total: int, page: int, pages: int, locale: str) -> str:
    if query:
        header = _("📚 Texts matching «{query}»: {n}").format(
            query=html.quote(render.short(query, 60)), n=total
        )
    else:
        header = _("📚 All texts: {n}, newest first").format(n=total)
    parts = [html.bold(header)]
    if pages > 1:
        parts[0] += "\n" + _("Page {page} of {pages}").format(page=page + 1, pages=pages)
    for n, doc in enumerate(docs, start=page * DOCS_PAGE + 1):
        mark = "🙈 " if doc.hidden else ""
        parts.append(
            f"{n}. {mark}{html.bold(html.quote(render.short(doc.title, render.TITLE_CHARS)))}\n"
            f"{render.source_line(doc, locale)} · #{doc.id}"
        )
    return render.fit("\n\n".join(parts))


def _action_label(action: AuditAction) -> str:
    labels: dict[str, str] = {
        AuditAction.ADD: _("added"),
        AuditAction.EDIT_TITLE: _("changed the title of"),
        AuditAction.EDIT_DATE: _("changed the date of"),
        AuditAction.EDIT_SOURCE: _("changed the source of"),
        AuditAction.HIDE: _("hid"),
        AuditAction.SHOW: _("showed again"),
        AuditAction.DELETE: _("deleted"),
        AuditAction.RESTORE: _("restored"),
        AuditAction.CHANNEL_ADD: _("connected the channel"),
        AuditAction.CHANNEL_REMOVE: _("disconnected the channel"),
        AuditAction.DIGEST_RESEND: _("resent digests of unknown outcome, chats:"),
        AuditAction.SOURCE_ADD: _("added the source"),
        AuditAction.SOURCE_FILTER: _("changed the filter of the source"),
        AuditAction.SOURCE_PAUSE: _("paused the source"),
        AuditAction.SOURCE_RESUME: _("resumed the source"),
        AuditAction.SOURCE_REMOVE: _("removed the source"),
    }
    return labels[action]


def stats_text(stats: AdminStats) -> str:
    corpus = stats.corpus
    lines = [
        html.bold(_("📊 Statistics")),
        "",
        _("Texts: {n} (hidden {hidden})").format(n=corpus.documents, hidden=corpus.hidden),
    ]
    if corpus.by_language:
        languages = ", ".join(f"{html.quote(_language(k))} {v}" for k, v in corpus.by_language.items())
        lines.append(_("By language: {list}").format(list=languages))
    if corpus.by_month:
        lines.append(_("By month: {list}").format(list=_months(corpus.by_month)))
    lines.append(_("People who used the bot: {n}").format(n=stats.readers))
    subs = stats.subscriptions
    lines.append(
        _("Digest subscribers: {subscribers} (paused {paused}); channels: {channels}").format(
            subscribers=subs.subscribers, paused=subs.paused, channels=subs.channels
        )
    )
    lines.append(
        _("Digests delivered: {sent}; failed: {failed}").format(
            sent=subs.digests_sent, failed=subs.digests_failed
        )
    )
    if subs.digests_unknown:
        lines.append(
            _("Digests of unknown outcome: {n} (/digest unknown to see and resend)").format(
                n=subs.digests_unknown
            )
        )
    if stats.searches_per_day:
        days = ", ".join(f"{d.strftime('%m-%d')}: {n}" for d, n in stats.searches_per_day)
        lines.append(_("Searches per day: {list}").format(list=days))
    else:
        lines.append(_("No searches yet."))
    return render.fit("\n".join(lines))


def _months(by_month: dict[str, int]) -> str:
    """Every month that has texts, oldest first (a year-month needs no translation), then the undated."""
    undated = by_month.get(UNDATED, 0)
    parts = [f"{month}: {n}" for month, n in sorted(by_month.items()) if month != UNDATED]
    if undated:
        parts.append(_("undated: {n}").format(n=undated))
    return ", ".join(parts)


def _log_line(logged: LogEntry, zone: ZoneInfo) -> str:
    entry = logged.entry
    when = entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    who = logged.admin_name
    who_text = f"{html.quote(who)} ({entry.admin_id})" if who else str(entry.admin_id)
    what = f"#{entry.doc_id}" if entry.doc_id is not None else ""
    details = f" «{html.quote(render.short(entry.details, 80))}»" if entry.details else ""
    # An action this version does not know (written by another one) is shown as it was stored.
    label = _action_label(logged.action) if logged.action is not None else entry.action
    return f"{when} · {who_text} · {html.quote(label)} {what}{details}"


def log_text(log: AuditPage, timezone: str) -> str:
    header = html.bold(_("📜 Audit log"))
    if log.pages > 1:
        header += " " + _("(page {page} of {pages})").format(page=log.page + 1, pages=log.pages)
    if not log.entries:
        return header + "\n\n" + _("Nothing has been done yet.")
    zone = ZoneInfo(timezone)
    return render.fit(header + "\n\n" + "\n".join(_log_line(e, zone) for e in log.entries))


def chart_labels() -> ChartLabels:
    return ChartLabels(
        title=_("Texts per week, readers and subscribers over time"),
        documents=_("texts per week"),
        readers=_("people who used the bot"),
        subscribers=_("digest subscribers"),
        people=_("people"),
        empty=_("No data yet"),
    )


def docs_screen_text(result: DocPage, query: str, locale: str) -> str:
    """The /docs list, or why it is empty."""
    if not result.documents:
        if query:
            return _("No texts match «{query}».").format(query=html.quote(render.short(query, 60)))
        return _("There are no texts yet.") if result.page == 0 else _("This list is outdated.")
    return docs_text(result.documents, query, result.total, result.page, result.pages, locale)


def delete_question(doc: Document, undo_minutes: int) -> str:
    return _("Delete «{title}» (#{id})? For {minutes} minutes it can still be undone.").format(
        title=html.quote(render.short(doc.title, 100)), id=doc.id, minutes=undo_minutes
    )


def deleted_text(doc: Document, undo_minutes: int) -> str:
    return _("🗑 Deleted «{title}» (#{id}). You can undo this for {minutes} minutes.").format(
        title=html.quote(render.short(doc.title, 100)), id=doc.id, minutes=undo_minutes
    )


def saved_or_duplicate_text(result: IngestResult, i18n: I18n) -> str:
    if result.status is Status.DUPLICATE:
        return describe(UploadError(UploadReason.DUPLICATE, doc_id=result.id), i18n)
    return saved_text(result)
