"""Admins: uploading texts through the chat and managing the corpus.

Every handler here that does something is guarded by `IsAdmin` (the user id in ADMIN_IDS), so that no
command, forged callback data, file or forwarded post from anyone else reaches the services. Their
attempts end in the refusals at the bottom of this module instead.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router, html
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, Filter, StateFilter, or_f
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardMarkup,
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    TelegramObject,
    User,
)
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.admin.service import (
    Action,
    AdminService,
    AdminStats,
    AlbumFile,
    BulkProgress,
    BulkReport,
    ChartLabels,
    Failure,
    Preview,
    Problem,
    ProblemKind,
    Refused,
    download_too_big,
    explain,
    file_problem,
    is_bulk,
)
from bot.app.settings import Settings
from bot.corpus.extract import ExtractFailure, RawItem
from bot.corpus.ingest import IngestResult, Status
from bot.corpus.uploads import CHAT_SOURCE, Origin, channel_post_url, post_input, to_input
from bot.i18n import LANGUAGE_NAMES
from handlers.admin import keyboards as kb
from handlers.callbacks import (
    AdminBack,
    AdminDoc,
    AdminDocsPage,
    AuditLogPage,
    DocAction,
    OpenDoc,
    PreviewAction,
    UploadPreview,
)
from handlers.ui import render
from storage.models import Document
from storage.users import QueryRepository

router = Router(name=__name__)
log = logging.getLogger(__name__)

DOCS_PAGE = 8
LOG_PAGE = 15
REPORT_FAILURES = 15
FORMATS = ".txt, .md, .html, .docx, .pdf, .jsonl, .zip"


class IsAdmin(Filter):
    async def __call__(
        self, event: TelegramObject, settings: Settings, event_from_user: User | None = None
    ) -> bool:
        return event_from_user is not None and event_from_user.id in settings.admin_ids


class AdminInput(StatesGroup):
    text = State()  # after /add
    pending_title = State()
    pending_date = State()
    doc_title = State()
    doc_date = State()
    doc_source = State()


PRIVATE = F.chat.type == ChatType.PRIVATE
# Commands typed while the bot waits for a text are commands, not the text.
PLAIN_TEXT = F.text & ~F.text.startswith("/")


# --- words ---------------------------------------------------------------------------------------------------


def problem_text(problem: Problem, settings: Settings) -> str:
    """The refusal in the admin's language; every value from the input is escaped."""
    p = {k: html.quote(str(v)) for k, v in problem.params.items()}
    match problem.kind:
        case ProblemKind.DOWNLOAD_TOO_BIG:
            return _(
                "The file is {size} MB, but a bot may download at most {limit} MB from Telegram. Send it "
                "in parts (several smaller files, or a .zip of them), or run a self-hosted Bot API server "
                "and set TELEGRAM_API_URL and MAX_DOWNLOAD_MB."
            ).format(size=p.get("size", "?"), limit=p.get("limit", settings.max_download_mb))
        case ProblemKind.UNKNOWN_FORMAT:
            return _("Unknown format «{ext}». I can read: {formats}.").format(
                ext=p.get("ext", "?"), formats=FORMATS
            )
        case ProblemKind.TOO_SHORT:
            return _(
                "The text is too short to be news: {chars} characters, at least {min} are needed."
            ).format(chars=p.get("chars", "?"), min=p.get("min", settings.min_text_chars))
        case ProblemKind.TOO_LONG:
            return _("The text is too long: {chars} characters, the limit is {max} (MAX_TEXT_CHARS).").format(
                chars=p.get("chars", "?"), max=p.get("max", settings.max_text_chars)
            )
        case ProblemKind.EMPTY:
            return _("There is no text in it.")
        case ProblemKind.PDF_NO_TEXT:
            return _(
                "The PDF has no text layer (it is probably a scan). Send the text itself, or a PDF with "
                "selectable text."
            )
        case ProblemKind.PDF_UNREADABLE:
            return _("The PDF is damaged or password-protected, so I cannot read it.")
        case ProblemKind.UNDECODABLE:
            return _("I could not decode the text: it is not in UTF-8, UTF-16, cp1251 or koi8-r.")
        case ProblemKind.DOCX_DAMAGED:
            return _("The .docx file is damaged or is not a Word document.")
        case ProblemKind.HTML_DAMAGED:
            return _("The HTML file is damaged beyond repair.")
        case ProblemKind.ZIP_TOO_MANY:
            return _(
                "The archive has {count} files, the limit is {limit} (MAX_ZIP_FILES). Nothing was taken from it."
            ).format(count=p.get("count", "?"), limit=settings.max_zip_files)
        case ProblemKind.ZIP_TOO_BIG:
            return _(
                "The archive unpacks to more than {limit} MB (MAX_ZIP_UNPACKED_MB), so it was not unpacked."
            ).format(limit=settings.max_zip_unpacked_mb)
        case ProblemKind.ZIP_UNSAFE_PATH:
            return _(
                "The archive contains a path that leads outside it ({path}); nothing was taken from it."
            ).format(path=p.get("path", "?"))
        case ProblemKind.ZIP_DAMAGED:
            return _("The archive is damaged.")
        case ProblemKind.ZIP_NESTED:
            return _("Archives inside archives are not supported: unpack the inner .zip and send its files.")
        case ProblemKind.ZIP_MEMBER_UNREADABLE:
            return _(
                "The file is password-protected or packed in a way I cannot unpack; use an ordinary .zip."
            )
        case ProblemKind.FILE_TOO_BIG:
            return _("The file is too large (the limit is {limit}).").format(limit=p.get("limit", "?"))
        case ProblemKind.BAD_JSON:
            return _(
                'Not a usable JSON record: each line must be an object with a "text" field ({reason}).'
            ).format(reason=p.get("reason", ""))
        case ProblemKind.DUPLICATE:
            return _("This text is already in the corpus as #{doc_id}.").format(doc_id=p.get("doc_id", "?"))
        case ProblemKind.BAD_DATE:
            return _("I could not read that date. Write it like 2026-01-24 or 24.01.2026.")
        case ProblemKind.BAD_TITLE:
            return _("A title must be 1 to {max} characters long.").format(max=p.get("max", "?"))
        case ProblemKind.BAD_SOURCE:
            return _("Send the outlet's name, a link, or both (up to {max} characters).").format(
                max=p.get("max", "?")
            )
        case ProblemKind.UNDO_EXPIRED:
            return _("It is too late to undo: the deleted text is no longer kept.")
        case ProblemKind.INTERNAL:
            return _(
                "It could not be saved because of an internal error (it is logged); nothing was changed."
            )
        case _:
            return _("It could not be used: {reason}").format(reason=p.get("reason", ""))


def _language(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


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


def report_text(report: BulkReport, name: str, settings: Settings) -> str:
    lines = [
        html.bold(_("📦 Upload finished: {name}").format(name=html.quote(render.short(name, 80)))),
        ngettext("{n} item in it.", "{n} items in it.", report.total).format(n=report.total),
        _("✅ Added: {n}").format(n=report.added)
        + (_(" (of them {n} joined existing stories)").format(n=report.joined) if report.joined else ""),
        _("♻️ Duplicates skipped: {n}").format(n=report.duplicates),
        _("⚠️ Failed: {n}").format(n=report.failed),
    ]
    for failure in report.failures[:REPORT_FAILURES]:
        lines.append(
            f"• {html.quote(render.short(failure.source, 80))} — {problem_text(failure.problem, settings)}"
        )
    if report.failed > REPORT_FAILURES:
        lines.append(_("…and {n} more.").format(n=report.failed - REPORT_FAILURES))
    return render.fit("\n".join(lines))


def _saved_text(result: IngestResult) -> str:
    title = html.quote(render.short(result.title or "", 100))
    if result.status is Status.NEAR_DUPLICATE:
        return _("✅ Saved as #{id} «{title}»; it joined the story of #{original}.").format(
            id=result.id, title=title, original=result.duplicate_of
        )
    return _("✅ Saved as #{id} «{title}». Readers can find it now.").format(id=result.id, title=title)


def card_text(doc: Document, summary: Sequence[str], story_size: int, locale: str) -> str:
    head = []
    if doc.hidden:
        head.append(html.bold(_("🙈 Hidden: not in search, digests or inline results.")))
    info = _("#{id} · {language} · {chars} characters · added {added}").format(
        id=doc.id,
        language=html.quote(_language(doc.lang)),
        chars=len(doc.text),
        added=html.quote(render.fmt_date(doc.created_at.date(), locale)),
    )
    body = render.card(doc, summary, story_size, locale)
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


def _action_label(action: str) -> str:
    labels: dict[str, str] = {
        Action.ADD: _("added"),
        Action.EDIT_TITLE: _("changed the title of"),
        Action.EDIT_DATE: _("changed the date of"),
        Action.EDIT_SOURCE: _("changed the source of"),
        Action.HIDE: _("hid"),
        Action.SHOW: _("showed again"),
        Action.DELETE: _("deleted"),
        Action.RESTORE: _("restored"),
    }
    return labels.get(action, action)


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
        months = list(corpus.by_month.items())[-6:]
        lines.append(_("By month (latest): {list}").format(list=", ".join(f"{k}: {v}" for k, v in months)))
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
    if stats.searches_per_day:
        days = ", ".join(f"{d.strftime('%m-%d')}: {n}" for d, n in stats.searches_per_day)
        lines.append(_("Searches per day: {list}").format(list=days))
    else:
        lines.append(_("No searches yet."))
    return render.fit("\n".join(lines))


def log_text(entries_text: Sequence[str], page: int, pages: int) -> str:
    header = html.bold(_("📜 Audit log"))
    if pages > 1:
        header += " " + _("(page {page} of {pages})").format(page=page + 1, pages=pages)
    if not entries_text:
        return header + "\n\n" + _("Nothing has been done yet.")
    return render.fit(header + "\n\n" + "\n".join(entries_text))


# --- helpers -------------------------------------------------------------------------------------------------


def _message(query: CallbackQuery) -> Message | None:
    message = query.message
    return None if message is None or isinstance(message, InaccessibleMessage) else message


async def _edit(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    try:
        await message.edit_text(text, reply_markup=markup, disable_web_page_preview=True)
    except TelegramBadRequest as exc:
        if "message is not modified" not in str(exc):
            raise


async def _drop_buttons(bot: Bot, chat_id: int, message_id: int | None) -> None:
    """A superseded preview or card keeps its text but loses its buttons; it may be long gone."""
    if message_id is None:
        return
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=None)


def _origin(message: Message) -> Origin | None:
    origin = message.forward_origin
    if isinstance(origin, MessageOriginChannel):
        chat = origin.chat
        return Origin(chat.title, channel_post_url(chat.id, chat.username, origin.message_id), origin.date)
    if isinstance(origin, MessageOriginChat):
        return Origin(origin.sender_chat.title, None, origin.date)
    if origin is not None:
        return Origin(None, None, origin.date)
    return None


async def _send_preview(message: Message, bot: Bot, preview: Preview, locale: str) -> None:
    duplicate = preview.prepared.duplicate
    if duplicate is not None:
        link = await create_start_link(bot, f"doc_{duplicate.id}")
        await message.answer(
            preview_text(preview, locale, link),
            reply_markup=kb.open_card_keyboard(duplicate.id),
            disable_web_page_preview=True,
        )
        return
    assert preview.pending_id is not None
    await message.answer(
        preview_text(preview, locale),
        reply_markup=kb.preview_keyboard(preview.pending_id),
        disable_web_page_preview=True,
    )


async def _preview_input(
    message: Message,
    bot: Bot,
    admin: AdminService,
    settings: Settings,
    locale: str,
    text: str,
    origin: Origin | None,
) -> None:
    assert message.from_user is not None
    item = post_input(text, origin, settings.default_timezone)
    try:
        preview = await admin.preview(message.from_user.id, item)
    except Refused as exc:
        await message.answer(problem_text(exc.problem, settings))
        return
    await _send_preview(message, bot, preview, locale)


async def _download(bot: Bot, file_id: str, size: int | None, settings: Settings) -> bytes | Problem:
    try:
        buffer = await bot.download(file_id, destination=io.BytesIO())
    except TelegramBadRequest as exc:
        # Without a size in the update the limit is only learnt here, from Telegram itself.
        if "too big" in str(exc).lower():
            return download_too_big(size, settings.max_download_mb)
        raise
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue()


async def _run_bulk(
    message: Message,
    admin: AdminService,
    settings: Settings,
    name: str,
    entries: Sequence[RawItem | ExtractFailure],
    source_name: str | None,
    failures: Sequence[Failure] = (),
) -> None:
    assert message.from_user is not None
    total = len(entries) + len(failures)
    progress = await message.answer(_("⏳ Saving texts: 0 of {total}…").format(total=total))

    async def report_progress(state: BulkProgress) -> None:
        # A failed progress edit (Telegram busy, flood limits) must not stop the upload itself.
        with contextlib.suppress(TelegramAPIError):
            await progress.edit_text(progress_text(state))

    report = await admin.bulk(
        message.from_user.id, entries, report_progress, source_name=source_name, failures=failures
    )
    text = report_text(report, name, settings)
    try:
        await _edit(progress, text)
    except TelegramAPIError:
        # The texts are saved whatever happens to the progress message; the report must still arrive.
        await message.answer(text)


# --- uploads -------------------------------------------------------------------------------------------------


@router.message(Command("add"), PRIVATE, IsAdmin())
async def add_command(message: Message, state: FSMContext) -> None:
    await state.set_state(AdminInput.text)
    await message.answer(
        _(
            "Send me the text as a message, forward a channel post, or send files ({formats}, one by one "
            "or several at once). /cancel to stop."
        ).format(formats=FORMATS)
    )


@router.message(Command("cancel"), PRIVATE, IsAdmin(), StateFilter(AdminInput))
async def cancel_command(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Cancelled."))


@router.message(F.document, PRIVATE, IsAdmin())
async def upload_file(
    message: Message, bot: Bot, admin: AdminService, settings: Settings, state: FSMContext, i18n: I18n
) -> None:
    assert message.document is not None and message.from_user is not None
    if await state.get_state() == AdminInput.text:
        await state.clear()
    document = message.document
    name = document.file_name or "file"
    origin = _origin(message)
    source_name = origin.name if origin else None
    if message.media_group_id is not None:
        # The files of an album arrive as separate messages: the first one's handler waits for the rest
        # and uploads them together, with one report.
        files = await admin.albums.gather(
            f"{message.chat.id}:{message.media_group_id}",
            AlbumFile(document.file_id, name, document.file_size),
        )
        if files is not None:
            await _upload_album(message, bot, admin, settings, files, source_name)
        return
    problem = file_problem(name, document.file_size, settings.max_download_mb)
    if problem is not None:
        await message.answer(problem_text(problem, settings))
        return
    data = await _download(bot, document.file_id, document.file_size, settings)
    if isinstance(data, Problem):
        await message.answer(problem_text(data, settings))
        return
    entries = await admin.extract(name, data)
    if not is_bulk([name], entries):
        entry = entries[0]
        if isinstance(entry, ExtractFailure):
            await message.answer(problem_text(explain(entry.reason), settings))
            return
        try:
            preview = await admin.preview(message.from_user.id, to_input(entry, source_name))
        except Refused as exc:
            await message.answer(problem_text(exc.problem, settings))
            return
        await _send_preview(message, bot, preview, i18n.current_locale)
        return
    failures = [e for e in entries if isinstance(e, ExtractFailure)]
    if len(failures) == len(entries) == 1:
        # The archive as a whole was refused (too large, unsafe paths…): one clear sentence, no report.
        await message.answer(problem_text(explain(failures[0].reason), settings))
        return
    await _run_bulk(message, admin, settings, name, entries, source_name)


async def _upload_album(
    message: Message,
    bot: Bot,
    admin: AdminService,
    settings: Settings,
    files: Sequence[AlbumFile],
    source_name: str | None,
) -> None:
    entries: list[RawItem | ExtractFailure] = []
    failures: list[Failure] = []
    for file in files:
        problem = file_problem(file.file_name, file.size, settings.max_download_mb)
        data = problem or await _download(bot, file.file_id, file.size, settings)
        if isinstance(data, Problem):
            failures.append(Failure(file.file_name, data))
            continue
        entries += await admin.extract(file.file_name, data)
    name = ngettext("{n} file", "{n} files", len(files)).format(n=len(files))
    await _run_bulk(message, admin, settings, name, entries, source_name, failures)


@router.message(F.forward_origin, PRIVATE, IsAdmin())
async def upload_forward(
    message: Message, bot: Bot, admin: AdminService, settings: Settings, state: FSMContext, i18n: I18n
) -> None:
    if await state.get_state() == AdminInput.text:
        await state.clear()
    text = message.text or message.caption
    if not text:
        await message.answer(_("This post has no text to add."))
        return
    await _preview_input(message, bot, admin, settings, i18n.current_locale, text, _origin(message))


@router.message(AdminInput.text, PLAIN_TEXT, PRIVATE, IsAdmin())
async def upload_text(
    message: Message, bot: Bot, admin: AdminService, settings: Settings, state: FSMContext, i18n: I18n
) -> None:
    await state.clear()
    await _preview_input(message, bot, admin, settings, i18n.current_locale, message.text or "", None)


@router.callback_query(UploadPreview.filter(), IsAdmin())
async def preview_button(
    query: CallbackQuery,
    callback_data: UploadPreview,
    bot: Bot,
    admin: AdminService,
    settings: Settings,
    state: FSMContext,
) -> None:
    message = _message(query)
    pending_id = callback_data.pending_id
    admin_id = query.from_user.id
    gone = _("This preview is no longer available: the text was saved or cancelled.")
    action = callback_data.action
    if action is PreviewAction.CANCEL:
        if not await admin.cancel_pending(pending_id, admin_id):
            await query.answer(gone, show_alert=True)
            return
        await query.answer(_("Cancelled"))
        if message is not None:
            await _edit(message, _("✖️ Cancelled: the text was not saved."))
        return
    if action is PreviewAction.SAVE:
        try:
            result = await admin.save_pending(pending_id, admin_id)
        except Refused as exc:
            await query.answer()
            if message is not None:
                await _edit(message, problem_text(exc.problem, settings))
            return
        if result is None:
            await query.answer(gone, show_alert=True)
            return
        await query.answer(_("Saved"))
        assert result.id is not None
        text = (
            problem_text(Problem(ProblemKind.DUPLICATE, {"doc_id": result.id}), settings)
            if result.status is Status.DUPLICATE
            else _saved_text(result)
        )
        if message is not None:
            await _edit(message, text, kb.open_card_keyboard(result.id))
        return
    if not await admin.has_pending(pending_id, admin_id):
        await query.answer(gone, show_alert=True)
        return
    await state.set_state(
        AdminInput.pending_title if action is PreviewAction.TITLE else AdminInput.pending_date
    )
    await state.set_data({"pending_id": pending_id, "message_id": message.message_id if message else None})
    await query.answer()
    prompt = (
        _("Send the new title (or /cancel).")
        if action is PreviewAction.TITLE
        else _("Send the date, like 2026-01-24 or 24.01.2026 (or /cancel).")
    )
    if message is not None:
        await message.answer(prompt)


@router.message(
    StateFilter(AdminInput.pending_title, AdminInput.pending_date), PLAIN_TEXT, PRIVATE, IsAdmin()
)
async def preview_edit(
    message: Message, bot: Bot, admin: AdminService, settings: Settings, state: FSMContext, i18n: I18n
) -> None:
    assert message.from_user is not None and message.text is not None
    data = await state.get_data()
    pending_id = int(data["pending_id"])
    is_title = await state.get_state() == AdminInput.pending_title
    try:
        if is_title:
            preview = await admin.edit_pending(pending_id, message.from_user.id, title=message.text)
        else:
            preview = await admin.edit_pending(pending_id, message.from_user.id, published=message.text)
    except Refused as exc:
        # Wrong input: say why and keep waiting for a better one.
        await message.answer(problem_text(exc.problem, settings))
        return
    await state.clear()
    if preview is None:
        await message.answer(_("This preview is no longer available: the text was saved or cancelled."))
        return
    await _drop_buttons(bot, message.chat.id, data.get("message_id"))
    await _send_preview(message, bot, preview, i18n.current_locale)


# --- managing the texts --------------------------------------------------------------------------------------


async def _docs_screen(
    admin: AdminService, query_text: str, ref: int, page: int, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    result = await admin.documents(query_text, page, DOCS_PAGE)
    if not result.documents:
        if query_text:
            return _("No texts match «{query}».").format(query=html.quote(render.short(query_text, 60))), None
        return (_("There are no texts yet.") if page == 0 else _("This list is outdated.")), None
    text = docs_text(result.documents, query_text, result.total, result.page, result.pages, locale)
    markup = kb.docs_keyboard(
        [d.id for d in result.documents], result.page * DOCS_PAGE + 1, ref, result.page, result.pages
    )
    return text, markup


@router.message(Command("docs"), PRIVATE, IsAdmin())
async def docs_command(
    message: Message, command: CommandObject, admin: AdminService, queries: QueryRepository, i18n: I18n
) -> None:
    query_text = (command.args or "").strip()
    ref = await queries.save(query_text) if query_text else 0
    text, markup = await _docs_screen(admin, query_text, ref, 0, i18n.current_locale)
    await message.answer(text, reply_markup=markup, disable_web_page_preview=True)


@router.callback_query(AdminDocsPage.filter(), IsAdmin())
async def docs_page(
    query: CallbackQuery,
    callback_data: AdminDocsPage,
    admin: AdminService,
    queries: QueryRepository,
    i18n: I18n,
) -> None:
    message = _message(query)
    query_text = ""
    if callback_data.ref:
        query_text = await queries.get(callback_data.ref) or ""
        if not query_text:
            await query.answer(_("This list is outdated."), show_alert=True)
            return
    text, markup = await _docs_screen(
        admin, query_text, callback_data.ref, callback_data.page, i18n.current_locale
    )
    await query.answer()
    if message is not None:
        await _edit(message, text, markup)


async def _card(
    admin: AdminService, doc_id: int, back: AdminBack, ref: int, page: int, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    doc = await admin.document(doc_id)
    if doc is None:
        return _("This text no longer exists."), None
    text = card_text(doc, admin.summary(doc), await admin.story_size(doc), locale)
    return text, kb.card_keyboard(doc, back, ref, page)


@router.callback_query(OpenDoc.filter(), IsAdmin())
async def open_document_as_admin(
    query: CallbackQuery, callback_data: OpenDoc, admin: AdminService, i18n: I18n
) -> None:
    """Admins get their buttons on every card, also when they open it from a reader's list."""
    message = _message(query)
    text, markup = await _card(
        admin,
        callback_data.doc_id,
        kb.back_for(callback_data.source),
        callback_data.ref,
        callback_data.page,
        i18n.current_locale,
    )
    await query.answer()
    if message is not None:
        await _edit(message, text, markup)


_EDIT_STATES = {
    DocAction.TITLE: AdminInput.doc_title,
    DocAction.DATE: AdminInput.doc_date,
    DocAction.SOURCE: AdminInput.doc_source,
}


@router.callback_query(AdminDoc.filter(), IsAdmin())
async def document_button(
    query: CallbackQuery,
    callback_data: AdminDoc,
    admin: AdminService,
    settings: Settings,
    state: FSMContext,
    i18n: I18n,
) -> None:
    message = _message(query)
    data = callback_data
    admin_id = query.from_user.id
    locale = i18n.current_locale
    if data.action is DocAction.UNDO:
        try:
            restored = await admin.undo_delete(admin_id, data.doc_id)
        except Refused as exc:
            await query.answer(problem_text(exc.problem, settings), show_alert=True)
            return
        await query.answer(_("Restored"))
        if message is not None:
            text, markup = await _card(admin, restored.id, data.back, data.ref, data.page, locale)
            await _edit(message, text, markup)
        return
    doc = await admin.document(data.doc_id)
    if doc is None:
        await query.answer(_("This text no longer exists."), show_alert=True)
        return
    if data.action in _EDIT_STATES:
        await state.set_state(_EDIT_STATES[data.action])
        await state.set_data({"doc_id": doc.id, "message_id": message.message_id if message else None})
        prompts = {
            DocAction.TITLE: _("Send the new title (or /cancel)."),
            DocAction.DATE: _("Send the date, like 2026-01-24 or 24.01.2026 (or /cancel)."),
            DocAction.SOURCE: _(
                "Send the source: the outlet's name, a link, or both, e.g. «Kursiv https://kz.kursiv.media/…» "
                "(or /cancel)."
            ),
        }
        await query.answer()
        if message is not None:
            await message.answer(prompts[data.action])
        return
    if data.action is DocAction.DELETE:
        await query.answer()
        if message is not None:
            text = _("Delete «{title}» (#{id})? For {minutes} minutes it can still be undone.").format(
                title=html.quote(render.short(doc.title, 100)), id=doc.id, minutes=settings.undo_minutes
            )
            await _edit(message, text, kb.confirm_delete_keyboard(doc.id, data.back, data.ref, data.page))
        return
    if data.action is DocAction.CONFIRM_DELETE:
        deleted = await admin.delete(admin_id, doc.id)
        await query.answer(_("Deleted"))
        if message is not None and deleted is not None:
            text = _("🗑 Deleted «{title}» (#{id}). You can undo this for {minutes} minutes.").format(
                title=html.quote(render.short(deleted.title, 100)),
                id=deleted.id,
                minutes=settings.undo_minutes,
            )
            await _edit(message, text, kb.undo_keyboard(deleted.id, data.back, data.ref, data.page))
        return
    if data.action in (DocAction.HIDE, DocAction.SHOW):
        hidden = data.action is DocAction.HIDE
        await admin.set_hidden(admin_id, doc.id, hidden)
        await query.answer(_("Hidden") if hidden else _("Shown again"))
    else:
        await query.answer()
    if message is not None:
        text, markup = await _card(admin, doc.id, data.back, data.ref, data.page, locale)
        await _edit(message, text, markup)


@router.message(
    StateFilter(AdminInput.doc_title, AdminInput.doc_date, AdminInput.doc_source),
    PLAIN_TEXT,
    PRIVATE,
    IsAdmin(),
)
async def document_edit(
    message: Message, bot: Bot, admin: AdminService, settings: Settings, state: FSMContext, i18n: I18n
) -> None:
    assert message.from_user is not None and message.text is not None
    data = await state.get_data()
    doc_id = int(data["doc_id"])
    current = await state.get_state()
    edit = {
        AdminInput.doc_title.state: admin.edit_title,
        AdminInput.doc_date.state: admin.edit_date,
        AdminInput.doc_source.state: admin.edit_source,
    }[current]
    try:
        doc = await edit(message.from_user.id, doc_id, message.text)
    except Refused as exc:
        await message.answer(problem_text(exc.problem, settings))
        return
    await state.clear()
    if doc is None:
        await message.answer(_("This text no longer exists."))
        return
    await _drop_buttons(bot, message.chat.id, data.get("message_id"))
    text, markup = await _card(admin, doc.id, AdminBack.NONE, 0, 0, i18n.current_locale)
    await message.answer(_("✅ Updated.") + "\n\n" + text, reply_markup=markup, disable_web_page_preview=True)


@router.message(StateFilter(AdminInput), ~F.text.startswith("/"), PRIVATE, IsAdmin())
async def waiting_for_text(message: Message) -> None:
    await message.answer(_("Please send text, or /cancel."))


# --- the log and the figures -----------------------------------------------------------------------------------


async def _log_screen(
    admin: AdminService, settings: Settings, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    result = await admin.audit_page(page, LOG_PAGE)
    zone = ZoneInfo(settings.default_timezone)
    lines = []
    for entry in result.entries:
        when = entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        who = result.names.get(entry.admin_id)
        who_text = f"{html.quote(who)} ({entry.admin_id})" if who else str(entry.admin_id)
        what = f"#{entry.doc_id}" if entry.doc_id is not None else ""
        details = f" «{html.quote(render.short(entry.details, 80))}»" if entry.details else ""
        lines.append(f"{when} · {who_text} · {html.quote(_action_label(entry.action))} {what}{details}")
    return log_text(lines, result.page, result.pages), kb.log_keyboard(result.page, result.pages)


@router.message(Command("log"), PRIVATE, IsAdmin())
async def log_command(message: Message, admin: AdminService, settings: Settings) -> None:
    text, markup = await _log_screen(admin, settings, 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(AuditLogPage.filter(), IsAdmin())
async def log_page(
    query: CallbackQuery, callback_data: AuditLogPage, admin: AdminService, settings: Settings
) -> None:
    message = _message(query)
    text, markup = await _log_screen(admin, settings, callback_data.page)
    await query.answer()
    if message is not None:
        await _edit(message, text, markup)


@router.message(Command("stats"), PRIVATE, IsAdmin())
async def stats_command(message: Message, admin: AdminService) -> None:
    stats = await admin.stats()
    await message.answer(stats_text(stats))
    labels = ChartLabels(
        title=_("Texts per week, readers and subscribers over time"),
        documents=_("texts per week"),
        readers=_("people who used the bot"),
        subscribers=_("digest subscribers"),
        people=_("people"),
        empty=_("No data yet"),
    )
    png = await admin.chart(stats, labels)
    await message.answer_photo(BufferedInputFile(png, filename="stats.png"))


# --- everyone else ---------------------------------------------------------------------------------------------
# Registered after the admins' handlers: whatever reaches these is from someone not in ADMIN_IDS.


@router.message(Command("add", "docs", "stats", "log"), PRIVATE)
async def refuse_command(message: Message) -> None:
    await message.answer(_("This command is for the bot's admins only."))


@router.message(F.document | F.forward_origin, PRIVATE)
async def refuse_upload(message: Message) -> None:
    await message.answer(_("Only admins can add texts. To find news, just send me some words."))


@router.callback_query(
    or_f(UploadPreview.filter(), AdminDoc.filter(), AdminDocsPage.filter(), AuditLogPage.filter())
)
async def refuse_button(query: CallbackQuery) -> None:
    log.warning("user %s pressed an admin button (%s) without being an admin", query.from_user.id, query.data)
    await query.answer(_("This is for the bot's admins only."), show_alert=True)
