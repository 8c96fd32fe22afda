"""Why an admin's upload or edit was refused: the typed `UploadError` of the corpus, and the checks that
belong to the chat's side of uploads (a file judged before it is downloaded).

The sentence is chosen by the handlers (handlers/errors.py), in the admin's language, from the reason and
its parameters; nothing here is prose.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.extract.base import SUPPORTED_LIST
from bot.corpus.uploads import MB, extension, is_supported

__all__ = ["Failure", "UploadError", "UploadReason", "download_too_big", "file_problem"]


@dataclass(frozen=True)
class Failure:
    """One file, archive member or line of a bulk upload that was not saved, and why."""

    source: str
    error: UploadError


def file_problem(file_name: str | None, size: int | None, max_download_mb: int) -> UploadError | None:
    """What is wrong with a file before it is even downloaded."""
    if not is_supported(file_name):
        ext = extension(file_name)
        if not ext:
            return UploadError(UploadReason.NO_EXTENSION, supported=SUPPORTED_LIST)
        return UploadError(UploadReason.UNSUPPORTED_FORMAT, ext=ext, supported=SUPPORTED_LIST)
    if size is not None and size > max_download_mb * MB:
        return download_too_big(size, max_download_mb)
    return None


def download_too_big(size: int | None, max_download_mb: int) -> UploadError:
    """Telegram refuses to hand a bot a file this large (`size` None: the update did not say how large)."""
    return UploadError(UploadReason.DOWNLOAD_TOO_BIG, size=size, limit=max_download_mb * MB)
