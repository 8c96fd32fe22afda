"""Admins add texts: typed or forwarded into the chat, or as files (one with a preview, many with a report).

The router only lets admins in (`IsAdmin`, router-level); refusals (`UploadError`) that end a handler are
answered by the error router in handlers/errors.py.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence

from aiogram import Bot, Router, html
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, MessageOriginChannel, MessageOriginChat
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.admin.errors import Failure, UploadError, download_too_big, file_problem
from bot.admin.uploads import (
    BulkBrokenOff,
    BulkProgress,
    Preview,
    ProgressMessage,
    UploadService,
    is_bulk,
)
from bot.app.settings import Settings
from bot.corpus.extract import ExtractFailure, RawItem
from bot.corpus.uploads import Origin, channel_post_url, post_input, to_input
from handlers.admin import keyboards as kb
from handlers.admin import render
from handlers.admin.albums import AlbumFile, Albums
from handlers.admin.states import AdminInput
from handlers.callbacks import PreviewAction, UploadPreview
from handlers.errors import describe
from handlers.filters import Forwarded, HasDocument, IsAdmin, PlainText, PrivateChat, command
from handlers.ui.edit import alert, edit, editable
from storage.models import UnfinishedUpload

log = logging.getLogger(__name__)

# --- helpers -------------------------------------------------------------------------------------------------


async def drop_buttons(bot: Bot, chat_id: int, message_id: int | None) -> None:
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
            render.preview_text(preview, locale, link),
            reply_markup=kb.open_card_keyboard(duplicate.id),
            disable_web_page_preview=True,
        )
        return
    assert preview.pending_id is not None
    await message.answer(
        render.preview_text(preview, locale),
        reply_markup=kb.preview_keyboard(preview.pending_id),
        disable_web_page_preview=True,
    )


async def _preview_input(
    message: Message, bot: Bot, uploads: UploadService, settings: Settings, locale: str, text: str
) -> None:
    assert message.from_user is not None
    item = post_input(text, _origin(message), settings.default_timezone)
    preview = await uploads.preview(message.from_user.id, item)
    await _send_preview(message, bot, preview, locale)


async def _download(bot: Bot, file_id: str, size: int | None, settings: Settings) -> bytes:
    """The file's bytes; raises UploadError when Telegram will not hand over a file that large."""
    try:
        buffer = await bot.download(file_id, destination=io.BytesIO())
    except TelegramBadRequest as exc:
        # Without a size in the update the limit is only learnt here, from Telegram itself.
        if "too big" in exc.message.lower():
            raise download_too_big(size, settings.max_download_mb) from None
        raise
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue()


async def _run_bulk(
    message: Message,
    uploads: UploadService,
    i18n: I18n,
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
            await progress.edit_text(render.progress_text(state))

    where = ProgressMessage(progress.chat.id, progress.message_id, name, i18n.current_locale)
    try:
        report = await uploads.bulk(
            message.from_user.id,
            entries,
            report_progress,
            source_name=source_name,
            failures=failures,
            progress_message=where,
        )
    except BulkBrokenOff as broken:
        # Never a frozen "⏳ 64 of 400" and a bare apology: the message itself says what happened.
        log.error("bulk upload %r broke off", name, exc_info=broken.__cause__ or broken)
        with contextlib.suppress(TelegramAPIError):
            await edit(progress, broken_off_text(broken), disable_web_page_preview=True)
        return
    text = render.report_text(report, name, i18n)
    try:
        await edit(progress, text, disable_web_page_preview=True)
    except TelegramAPIError:
        # The texts are saved whatever happens to the progress message; the report must still arrive.
        await message.answer(text)
    finally:
        # The upload finished: a restart must not call it interrupted.
        await uploads.forget_progress(report.upload_id)


def broken_off_text(broken: BulkBrokenOff) -> str:
    return "\n".join(
        [
            _("⚠️ The upload broke off because of an internal error (it is logged)."),
            _("Saved before it: {saved} of {total} items (each one complete, in the log).").format(
                saved=broken.saved, total=broken.total
            ),
            _("Send the file again: texts already saved will be skipped as duplicates."),
        ]
    )


def interrupted_text(upload: UnfinishedUpload) -> str:
    """The progress message of an upload the bot stopped in the middle of (a crash, a restart)."""
    return "\n".join(
        [
            html.bold(_("⚠️ Upload interrupted: {name}").format(name=html.quote(upload.name[:80]))),
            _("The bot stopped before this upload finished."),
            _("Saved: {saved} of {total} items (each one complete, in the log).").format(
                saved=upload.saved, total=upload.total
            ),
            _(
                "The rest was not saved. Send the file again: texts already saved will be skipped as duplicates."
            ),
        ]
    )


async def close_interrupted_uploads(bot: Bot, uploads: UploadService, i18n: I18n) -> None:
    """At start-up: the progress message of every upload a previous process left unfinished is edited to
    say so and what was saved, instead of staying at "⏳ 64 of 400…" for ever. Never stops the start."""
    try:
        unfinished = await uploads.unfinished()
    except Exception:
        log.exception("unfinished uploads could not be read")
        return
    for upload in unfinished:
        with i18n.context(), i18n.use_locale(upload.locale):
            text = interrupted_text(upload)
        try:
            await bot.edit_message_text(
                text, chat_id=upload.chat_id, message_id=upload.message_id, disable_web_page_preview=True
            )
        except TelegramAPIError as exc:
            # Deleted, too old to edit, or the chat is gone: a new message says it instead.
            log.info("progress message of upload %s not edited (%s); sending a new one", upload.id, exc)
            with contextlib.suppress(TelegramAPIError):
                await bot.send_message(upload.chat_id, text, disable_web_page_preview=True)
        await uploads.forget_progress(upload.id)


# --- handlers ------------------------------------------------------------------------------------------------


async def add_command(message: Message, state: FSMContext) -> None:
    await state.set_state(AdminInput.text)
    await message.answer(render.add_prompt())


async def cancel_command(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Cancelled."))


async def upload_file(
    message: Message,
    bot: Bot,
    uploads: UploadService,
    albums: Albums,
    settings: Settings,
    state: FSMContext,
    i18n: I18n,
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
        files = await albums.gather(
            f"{message.chat.id}:{message.media_group_id}",
            AlbumFile(document.file_id, name, document.file_size),
        )
        if files is not None:
            await _upload_album(message, bot, uploads, settings, i18n, files, source_name)
        return
    problem = file_problem(name, document.file_size, settings.max_download_mb)
    if problem is not None:
        raise problem
    data = await _download(bot, document.file_id, document.file_size, settings)
    entries = await uploads.extract(name, data)
    if not is_bulk([name], entries):
        entry = entries[0]
        if isinstance(entry, ExtractFailure):
            raise entry.error
        preview = await uploads.preview(message.from_user.id, to_input(entry, source_name))
        await _send_preview(message, bot, preview, i18n.current_locale)
        return
    failures = [e for e in entries if isinstance(e, ExtractFailure)]
    if len(failures) == len(entries) == 1:
        # The archive as a whole was refused (too large, unsafe paths…): one clear sentence, no report.
        raise failures[0].error
    await _run_bulk(message, uploads, i18n, name, entries, source_name)


async def _upload_album(
    message: Message,
    bot: Bot,
    uploads: UploadService,
    settings: Settings,
    i18n: I18n,
    files: Sequence[AlbumFile],
    source_name: str | None,
) -> None:
    entries: list[RawItem | ExtractFailure] = []
    failures: list[Failure] = []
    for file in files:
        try:
            problem = file_problem(file.file_name, file.size, settings.max_download_mb)
            if problem is not None:
                raise problem
            data = await _download(bot, file.file_id, file.size, settings)
        except UploadError as error:
            # One file of the album refused: the others are still uploaded, and the report says why.
            failures.append(Failure(file.file_name, error))
            continue
        entries += await uploads.extract(file.file_name, data)
    name = ngettext("{n} file", "{n} files", len(files)).format(n=len(files))
    await _run_bulk(message, uploads, i18n, name, entries, source_name, failures)


async def upload_forward(
    message: Message, bot: Bot, uploads: UploadService, settings: Settings, state: FSMContext, i18n: I18n
) -> None:
    if await state.get_state() == AdminInput.text:
        await state.clear()
    text = message.text or message.caption
    if not text:
        await message.answer(_("This post has no text to add."))
        return
    await _preview_input(message, bot, uploads, settings, i18n.current_locale, text)


async def upload_text(
    message: Message, bot: Bot, uploads: UploadService, settings: Settings, state: FSMContext, i18n: I18n
) -> None:
    """The text after /add. A refused one (too short, too long) is explained and the step goes on waiting:
    the admin's next message is the corrected text, never a search."""
    try:
        await _preview_input(message, bot, uploads, settings, i18n.current_locale, message.text or "")
    except UploadError as error:
        await message.answer(describe(error, i18n) + "\n\n" + _("Send the text again, or /cancel."))
        return
    await state.clear()


async def preview_button(
    query: CallbackQuery,
    callback_data: UploadPreview,
    callback_answer: CallbackAnswer,
    uploads: UploadService,
    state: FSMContext,
    i18n: I18n,
) -> None:
    message = editable(query)
    pending_id = callback_data.pending_id
    admin_id = query.from_user.id
    gone = _("This preview is no longer available: the text was saved or cancelled.")
    action = callback_data.action
    if action is PreviewAction.CANCEL:
        if not await uploads.cancel_pending(pending_id, admin_id):
            alert(callback_answer, gone)
            return
        callback_answer.text = _("Cancelled")
        if message is not None:
            await edit(message, _("✖️ Cancelled: the text was not saved."), disable_web_page_preview=True)
        return
    if action is PreviewAction.SAVE:
        try:
            result = await uploads.save_pending(pending_id, admin_id)
        except UploadError as error:
            # The preview itself turns into the refusal: it cannot be saved any more.
            if message is not None:
                await edit(message, describe(error, i18n), disable_web_page_preview=True)
            return
        if result is None:
            alert(callback_answer, gone)
            return
        callback_answer.text = _("Saved")
        assert result.id is not None
        if message is not None:
            text = render.saved_or_duplicate_text(result, i18n)
            await edit(message, text, kb.open_card_keyboard(result.id), disable_web_page_preview=True)
        return
    if not await uploads.has_pending(pending_id, admin_id):
        alert(callback_answer, gone)
        return
    await state.set_state(
        AdminInput.pending_title if action is PreviewAction.TITLE else AdminInput.pending_date
    )
    await state.set_data({"pending_id": pending_id, "message_id": message.message_id if message else None})
    prompt = (
        _("Send the new title (or /cancel).")
        if action is PreviewAction.TITLE
        else _("Send the date, like 2026-01-24 or 24.01.2026 (or /cancel).")
    )
    if message is not None:
        await message.answer(prompt)


async def preview_edit(
    message: Message, bot: Bot, uploads: UploadService, state: FSMContext, i18n: I18n
) -> None:
    """A wrong title or date is explained, and the bot keeps waiting for another."""
    assert message.from_user is not None and message.text is not None
    data = await state.get_data()
    pending_id = int(data["pending_id"])
    admin_id = message.from_user.id
    try:
        if await state.get_state() == AdminInput.pending_title:
            preview = await uploads.edit_pending(pending_id, admin_id, title=message.text)
        else:
            preview = await uploads.edit_pending(pending_id, admin_id, published=message.text)
    except UploadError as error:
        # The step stays: the next message is the corrected value.
        await message.answer(describe(error, i18n) + "\n\n" + _("Send it again, or /cancel."))
        return
    await state.clear()
    if preview is None:
        await message.answer(_("This preview is no longer available: the text was saved or cancelled."))
        return
    await drop_buttons(bot, message.chat.id, data.get("message_id"))
    await _send_preview(message, bot, preview, i18n.current_locale)


def make_router() -> Router:
    """Uploads: only admins, in private chats."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat(), IsAdmin())
    router.callback_query.filter(IsAdmin())
    router.message.register(add_command, command("add"))
    router.message.register(cancel_command, command("cancel"), StateFilter(AdminInput))
    router.message.register(upload_file, HasDocument())
    router.message.register(upload_forward, Forwarded())
    router.message.register(upload_text, StateFilter(AdminInput.text), PlainText())
    router.callback_query.register(preview_button, UploadPreview.filter())
    router.message.register(
        preview_edit, StateFilter(AdminInput.pending_title, AdminInput.pending_date), PlainText()
    )
    return router
