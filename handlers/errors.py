"""Errors in one place.

`describe` puts a typed refusal (`UploadError`: a reason and its parameters) into the user's language; the
handlers use it where a refusal is part of a longer answer (a bulk upload's report, an edited preview).
The error router answers a refusal that escapes a handler with that sentence, and anything else with the
traceback in the log and a short apology for the user.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiogram import Router, html
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.corpus.errors import MB, UploadError, UploadReason, human_size
from bot.digests.channels import ChannelProblem
from bot.i18n import pick_language
from bot.sources.errors import FetchReason
from bot.sources.service import SourceError, SourceProblem

log = logging.getLogger(__name__)

# The formats admins are told the bot reads.
FORMATS = ".txt, .md, .html, .docx, .pdf, .json, .jsonl, .zip"

_PDF_UNREADABLE = frozenset({UploadReason.PDF_ENCRYPTED, UploadReason.PDF_DAMAGED, UploadReason.PDF_NO_PAGES})
_EMPTY = frozenset(
    {UploadReason.NO_TEXT, UploadReason.TEXT_EMPTY, UploadReason.ZIP_EMPTY, UploadReason.JSON_TEXT_EMPTY}
)
_BAD_JSON = frozenset(
    {
        UploadReason.JSON_INVALID,
        UploadReason.JSON_NOT_A_LIST,
        UploadReason.JSON_LINE_INVALID,
        UploadReason.JSON_NOT_OBJECT,
        UploadReason.JSON_NO_TEXT_FIELD,
        UploadReason.JSON_TEXT_NOT_STRING,
        UploadReason.MORE_FAILURES,
    }
)
_ZIP_TOO_BIG = frozenset({UploadReason.ZIP_TOO_BIG, UploadReason.ZIP_BOMB, UploadReason.ZIP_OVER_BUDGET})


def _megabytes(size: object) -> str:
    return f"{size / MB:.1f}".removesuffix(".0") if isinstance(size, int) else "?"


def describe(error: UploadError, i18n: I18n) -> str:
    """The refusal in the current locale of `i18n`, as HTML; every value from the input is escaped."""
    _ = i18n.gettext
    reason = error.reason
    p = {k: html.quote(str(v)) for k, v in error.params.items()}
    if reason is UploadReason.DOWNLOAD_TOO_BIG:
        return _(
            "The file is {size} MB, but a bot may download at most {limit} MB from Telegram. Send it "
            "in parts (several smaller files, or a .zip of them), or run a self-hosted Bot API server "
            "and set TELEGRAM_API_URL and MAX_DOWNLOAD_MB."
        ).format(size=_megabytes(error.params.get("size")), limit=_megabytes(error.params.get("limit")))
    if reason in (UploadReason.UNSUPPORTED_FORMAT, UploadReason.NO_EXTENSION):
        return _("Unknown format «{ext}». I can read: {formats}.").format(
            ext=p.get("ext", "?"), formats=FORMATS
        )
    if reason is UploadReason.TOO_SHORT:
        return _("The text is too short to be news: {chars} characters, at least {min} are needed.").format(
            chars=p["chars"], min=p["min"]
        )
    if reason is UploadReason.TOO_LONG:
        return _("The text is too long: {chars} characters, the limit is {max} (MAX_TEXT_CHARS).").format(
            chars=p["chars"], max=p["max"]
        )
    if reason in _EMPTY:
        return _("There is no text in it.")
    if reason is UploadReason.PDF_NO_TEXT:
        return _(
            "The PDF has no text layer (it is probably a scan). Send the text itself, or a PDF with "
            "selectable text."
        )
    if reason in _PDF_UNREADABLE or reason is UploadReason.PDF_PAGES_UNREADABLE:
        return _("The PDF is damaged or password-protected, so I cannot read it.")
    if reason is UploadReason.UNDECODABLE:
        return _("I could not decode the text: it is not in UTF-8, UTF-16, cp1251 or koi8-r.")
    if reason is UploadReason.DOCX_DAMAGED:
        return _("The .docx file is damaged or is not a Word document.")
    if reason is UploadReason.DOCX_TOO_COMPLEX:
        return _("The Word document is too large inside to read safely. Save it as .txt, or split it.")
    if reason is UploadReason.EXTRACT_TIMEOUT:
        return _(
            "Reading the file took longer than {seconds} s, so I stopped. Save it as .txt, or split it."
        ).format(seconds=p["limit"])
    if reason is UploadReason.MIXED_ENCODING:
        return _("The file mixes text encodings line by line in a way I cannot untangle. Save it as UTF-8.")
    if reason is UploadReason.ZIP_RATIO:
        return _("The archive unpacks to {ratio} times its size: too much repeated content to read.").format(
            ratio=p["ratio"]
        )
    if reason is UploadReason.HTML_DAMAGED:
        return _("The HTML file is damaged beyond repair.")
    if reason is UploadReason.ZIP_TOO_MANY:
        return _(
            "The archive has {count} files, the limit is {limit} (MAX_ZIP_FILES). Nothing was taken from it."
        ).format(count=p["count"], limit=p["limit"])
    if reason in _ZIP_TOO_BIG:
        return _(
            "The archive unpacks to more than {limit} MB (MAX_ZIP_UNPACKED_MB), so it was not unpacked."
        ).format(limit=_megabytes(error.params.get("limit")))
    if reason is UploadReason.ZIP_UNSAFE_PATH:
        return _(
            "The archive contains a path that leads outside it ({path}); nothing was taken from it."
        ).format(path=p["path"])
    if reason in (UploadReason.ZIP_DAMAGED, UploadReason.ZIP_MEMBER_DAMAGED):
        return _("The archive is damaged.")
    if reason is UploadReason.ZIP_NESTED:
        return _("Archives inside archives are not supported: unpack the inner .zip and send its files.")
    if reason in (UploadReason.ZIP_MEMBER_ENCRYPTED, UploadReason.ZIP_MEMBER_METHOD):
        return _("The file is password-protected or packed in a way I cannot unpack; use an ordinary .zip.")
    if reason in (UploadReason.FILE_TOO_BIG, UploadReason.ZIP_MEMBER_TOO_BIG):
        limit = error.params.get("limit")
        return _("The file is too large (the limit is {limit}).").format(
            limit=human_size(limit) if isinstance(limit, int) else "?"
        )
    if reason in _BAD_JSON:
        return _(
            'Not a usable JSON record: each line must be an object with a "text" field ({reason}).'
        ).format(reason=_json_problem(error, i18n))
    if reason is UploadReason.DUPLICATE:
        return _("This text is already in the corpus as #{doc_id}.").format(doc_id=p["doc_id"])
    if reason is UploadReason.BAD_DATE:
        return _("I could not read that date. Write it like 2026-01-24 or 24.01.2026.")
    if reason is UploadReason.BAD_TITLE:
        return _("A title must be 1 to {max} characters long.").format(max=p["max"])
    if reason is UploadReason.BAD_SOURCE:
        return _("Send the outlet's name, a link, or both (up to {max} characters).").format(max=p["max"])
    if reason is UploadReason.UNDO_EXPIRED:
        return _("It is too late to undo: the deleted text is no longer kept.")
    if reason is UploadReason.DISK_FULL:
        return _("Not saved: the disk is full. Free some space on the bot's server and send it again.")
    if reason is UploadReason.READ_ONLY:
        return _(
            "Not saved: the bot's database is read-only. Make the database file writable and send it again."
        )
    if reason is UploadReason.INTERNAL:
        return _("It could not be saved because of an internal error (it is logged); nothing was changed.")
    # Only files read from disk (the CLI, a folder) fail these ways.
    if reason is UploadReason.NOT_REGULAR_FILE:
        return _("It is not a regular file.")
    if reason is UploadReason.READ_FAILED:
        return _("The file could not be read.")
    if reason is UploadReason.NO_SUCH_PATH:
        return _("There is no such file or folder.")
    if reason is UploadReason.LINK_OUTSIDE:
        return _("A symbolic link to {path}, outside the folder: skipped.").format(path=p.get("path", "?"))
    if reason is UploadReason.EMPTY_FOLDER:
        return _("The folder contains no files.")
    return _("It could not be used: {reason}").format(reason=html.quote(error.english()))


def _json_problem(error: UploadError, i18n: I18n) -> str:
    """What is wrong with one JSON record, in the admin's language (never the English of the CLI)."""
    _ = i18n.gettext
    problems = {
        UploadReason.JSON_INVALID: _("the .json file is not valid JSON"),
        UploadReason.JSON_NOT_A_LIST: _('the .json file must hold a list of objects with a "text" field'),
        UploadReason.JSON_LINE_INVALID: _("not valid JSON"),
        UploadReason.JSON_NOT_OBJECT: _("not a JSON object"),
        UploadReason.JSON_NO_TEXT_FIELD: _('no "text" field'),
        UploadReason.JSON_TEXT_NOT_STRING: _('the "text" field is not a string'),
    }
    if error.reason is UploadReason.MORE_FAILURES:
        return _("{count} more bad entries were not listed").format(
            count=html.quote(str(error.params.get("count", "?")))
        )
    return problems.get(error.reason) or html.quote(error.english(located=False))


async def _tell(update: Update, text: str) -> bool:
    """Say `text` where the update came from: a reply to a message, an alert for a button. False when
    Telegram would not take it (it may be the failure itself)."""
    try:
        if update.message is not None:
            await update.message.answer(text)
        elif update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
    except TelegramAPIError:
        return False
    return True


async def on_refusal(event: ErrorEvent, i18n: I18n) -> bool:
    """A refusal that ended a handler: the user's input was at fault, so they are told why."""
    assert isinstance(event.exception, UploadError)
    if not await _tell(event.update, describe(event.exception, i18n)):
        log.warning("could not tell the user why update %s was refused", event.update.update_id)
    return True


async def on_source_refusal(event: ErrorEvent, i18n: I18n) -> bool:
    """A /source action the service refused: the admin is told why."""
    assert isinstance(event.exception, SourceError)
    if not await _tell(event.update, describe_source_error(event.exception, i18n)):
        log.warning("could not tell the admin why update %s was refused", event.update.update_id)
    return True


async def on_error(event: ErrorEvent, i18n: I18n) -> bool:
    update = event.update
    log.error("update %s failed", update.update_id, exc_info=event.exception)
    user = update.event.from_user if hasattr(update.event, "from_user") else None
    with i18n.context(), i18n.use_locale(pick_language(None, user.language_code if user else None)):
        text = _("Sorry, something went wrong. Please try again a bit later.")
        if not await _tell(update, text):
            # Telegram itself may be the failure; the log already has the original error.
            log.warning("could not tell the user about the failure of update %s", update.update_id)
    return True


def make_router() -> Router:
    """The error handlers: refusals first, then everything else."""
    router = Router(name=__name__)
    router.errors.register(on_refusal, ExceptionTypeFilter(UploadError))
    router.errors.register(on_source_refusal, ExceptionTypeFilter(SourceError))
    router.errors.register(on_error)
    return router


# -- sources -------------------------------------------------------------------------------------------------


def describe_fetch_failure(reason: str, params: Mapping[str, object], i18n: I18n) -> str:
    """A source's last failure (its stored reason code and parameters) in the current locale, as HTML."""
    _ = i18n.gettext
    p = {k: html.quote(str(v)) for k, v in params.items()}
    texts = {
        FetchReason.TIMEOUT.value: _("no answer within {seconds} s").format(seconds=p.get("seconds", "?")),
        FetchReason.NETWORK.value: _("the site cannot be reached (network error)"),
        FetchReason.HTTP_STATUS.value: _("the site answered with the error {status}").format(
            status=p.get("status", "?")
        ),
        FetchReason.TOO_LARGE.value: _("larger than {limit} MB, not read").format(
            limit=p.get("limit_mb", "?")
        ),
        FetchReason.NOT_A_FEED.value: _("not an RSS or Atom feed"),
        FetchReason.TOO_MANY_REDIRECTS.value: _("too many redirects (more than {limit})").format(
            limit=p.get("limit", "?")
        ),
        FetchReason.ROBOTS_DISALLOWED.value: _("the site's robots.txt forbids reading it"),
        FetchReason.BAD_URL.value: _("not a usable http(s) address"),
        FetchReason.FORBIDDEN_ADDRESS.value: (
            _("refused: {address} is a link-local or cloud metadata address, never fetched")
            if p.get("kind") == "metadata"
            else _("refused: {address} is a private or loopback address (SOURCES_ALLOW_PRIVATE=false)")
        ).format(address=p.get("address", "?")),
    }
    return texts.get(reason) or _("an internal error (it is logged)")


def describe_source_error(error: SourceError, i18n: I18n) -> str:
    """A refused /source action in the current locale, as HTML."""
    _ = i18n.gettext
    p = {k: html.quote(str(v)) for k, v in error.params.items()}
    problem = error.problem
    if problem is SourceProblem.BAD_ADDRESS:
        return _("Send a feed's address (https://…) or a channel's @name.")
    if problem is SourceProblem.EXISTS:
        return _("That is already source #{id}. /sources lists them.").format(id=p.get("id", "?"))
    if problem is SourceProblem.NOT_FOUND:
        return _("There is no source #{id}. /sources lists them.").format(id=p.get("id", "?"))
    if problem is SourceProblem.NEEDS_BOT:
        return _("A channel is added in the chat with the bot (/source add @channel).")
    if problem is SourceProblem.NOT_POLLED:
        return _("A channel's posts arrive by themselves as they are published: there is nothing to poll.")
    if problem is SourceProblem.FILTER_TOO_LONG:
        return _("The filter is too long (at most {max} characters).").format(max=p.get("max", "?"))
    channel = error.params.get("problem")
    if channel == ChannelProblem.NOT_A_CHANNEL:
        return _("That is not a channel.")
    if channel in (ChannelProblem.NOT_ADMIN, ChannelProblem.NOT_FOUND):
        return _(
            "I cannot read that channel: add me to it as an administrator first (I only read its posts)."
        )
    return _("I cannot read that channel.")
