"""Why a file, a text or an admin's edit was refused, as data: a reason and its parameters.

The extractor, the corpus engine and the admin services raise (or report) `UploadError`; nothing parses a
sentence back into a kind. The chat translates the reason in one place (handlers/errors.py); the CLI and the
logs use the English sentence `str(error)` gives.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

MB = 1024 * 1024


class UploadReason(StrEnum):
    # The file as a whole.
    NO_EXTENSION = "no_extension"
    UNSUPPORTED_FORMAT = "unsupported_format"
    NOT_REGULAR_FILE = "not_regular_file"
    READ_FAILED = "read_failed"
    NO_SUCH_PATH = "no_such_path"
    LINK_OUTSIDE = "link_outside"
    EMPTY_FOLDER = "empty_folder"
    FILE_TOO_BIG = "file_too_big"
    DOWNLOAD_TOO_BIG = "download_too_big"
    UNDECODABLE = "undecodable"
    NO_TEXT = "no_text"
    DOCX_DAMAGED = "docx_damaged"
    DOCX_TOO_COMPLEX = "docx_too_complex"
    EXTRACT_TIMEOUT = "extract_timeout"
    MIXED_ENCODING = "mixed_encoding"
    HTML_DAMAGED = "html_damaged"
    PDF_ENCRYPTED = "pdf_encrypted"
    PDF_DAMAGED = "pdf_damaged"
    PDF_NO_PAGES = "pdf_no_pages"
    PDF_PAGES_UNREADABLE = "pdf_pages_unreadable"
    PDF_NO_TEXT = "pdf_no_text"
    # JSON and JSON Lines: a whole file, or one line / item of it (see `UploadError.line`, `.item`).
    JSON_INVALID = "json_invalid"
    JSON_NOT_A_LIST = "json_not_a_list"
    JSON_LINE_INVALID = "json_line_invalid"
    JSON_NOT_OBJECT = "json_not_object"
    JSON_NO_TEXT_FIELD = "json_no_text_field"
    JSON_TEXT_NOT_STRING = "json_text_not_string"
    JSON_TEXT_EMPTY = "json_text_empty"
    MORE_FAILURES = "more_failures"
    # Archives.
    ZIP_DAMAGED = "zip_damaged"
    ZIP_EMPTY = "zip_empty"
    ZIP_NESTED = "zip_nested"
    ZIP_UNSAFE_PATH = "zip_unsafe_path"
    ZIP_TOO_MANY = "zip_too_many"
    ZIP_TOO_BIG = "zip_too_big"
    ZIP_BOMB = "zip_bomb"
    ZIP_RATIO = "zip_ratio"
    ZIP_OVER_BUDGET = "zip_over_budget"
    ZIP_MEMBER_ENCRYPTED = "zip_member_encrypted"
    ZIP_MEMBER_METHOD = "zip_member_method"
    ZIP_MEMBER_DAMAGED = "zip_member_damaged"
    ZIP_MEMBER_TOO_BIG = "zip_member_too_big"
    # The text itself (the corpus engine).
    TEXT_EMPTY = "text_empty"
    TOO_LONG = "too_long"
    TOO_SHORT = "too_short"
    DUPLICATE = "duplicate"
    INTERNAL = "internal"
    # The storage refused to write (see storage.db.StorageWriteError): the upload stopped there.
    DISK_FULL = "disk_full"
    READ_ONLY = "read_only"
    # An admin's edit or undo.
    BAD_TITLE = "bad_title"
    BAD_DATE = "bad_date"
    BAD_SOURCE = "bad_source"
    UNDO_EXPIRED = "undo_expired"


# The English sentences (the CLI's output and the logs). Sizes in bytes are written out by `human_size`.
_ENGLISH: dict[UploadReason, str] = {
    UploadReason.NO_EXTENSION: "the file has no extension, so its type is unknown (supported: {supported})",
    UploadReason.UNSUPPORTED_FORMAT: "unsupported file type {ext} (supported: {supported})",
    UploadReason.NOT_REGULAR_FILE: "not a regular file",
    UploadReason.READ_FAILED: "could not read the file ({error})",
    UploadReason.NO_SUCH_PATH: "no such file or folder",
    UploadReason.LINK_OUTSIDE: "a symbolic link to {path}, outside the folder: skipped (--follow-symlinks reads it)",
    UploadReason.EMPTY_FOLDER: "the folder contains no files",
    UploadReason.FILE_TOO_BIG: "the file is {size}, the limit is {limit}",
    UploadReason.DOWNLOAD_TOO_BIG: "the file is {size}, but a bot may download at most {limit} from Telegram",
    UploadReason.UNDECODABLE: "could not decode the text (not UTF-8, UTF-16, cp1251 or koi8-r)",
    UploadReason.NO_TEXT: "the file contains no text",
    UploadReason.DOCX_DAMAGED: "the .docx file is damaged or not a Word document",
    UploadReason.DOCX_TOO_COMPLEX: "the Word document is too large inside (over {size} of XML or {count} elements); save it as plain text or split it",
    UploadReason.EXTRACT_TIMEOUT: "reading the file took longer than {limit} s, so it was stopped; save it as plain text or split it",
    UploadReason.MIXED_ENCODING: "the file mixes text encodings in a way that cannot be told apart line by line; save it as UTF-8",
    UploadReason.HTML_DAMAGED: "the HTML file is malformed beyond repair",
    UploadReason.PDF_ENCRYPTED: "the PDF is password-protected; send an unprotected copy or the text",
    UploadReason.PDF_DAMAGED: "the PDF file is damaged or encrypted and cannot be read",
    UploadReason.PDF_NO_PAGES: "the PDF has no pages",
    UploadReason.PDF_PAGES_UNREADABLE: "the PDF file is damaged: its pages could not be read",
    UploadReason.PDF_NO_TEXT: "the PDF has no text layer (a scanned image?); send the text instead",
    UploadReason.JSON_INVALID: "the .json file is not valid JSON",
    UploadReason.JSON_NOT_A_LIST: 'the .json file must hold a list of objects with a "text" field',
    UploadReason.JSON_LINE_INVALID: "not valid JSON",
    UploadReason.JSON_NOT_OBJECT: "not a JSON object",
    UploadReason.JSON_NO_TEXT_FIELD: 'no "text" field',
    UploadReason.JSON_TEXT_NOT_STRING: 'the "text" field is not a string',
    UploadReason.JSON_TEXT_EMPTY: 'the "text" field is empty',
    UploadReason.MORE_FAILURES: "{count} more bad entries were not listed",
    UploadReason.ZIP_DAMAGED: "the .zip archive is damaged",
    UploadReason.ZIP_EMPTY: "the .zip archive contains no files",
    UploadReason.ZIP_NESTED: "archives inside archives are not supported; unpack the inner .zip and send its files",
    UploadReason.ZIP_UNSAFE_PATH: "the archive contains an unsafe path {path!r} (absolute or with '..'); nothing was extracted",
    UploadReason.ZIP_TOO_MANY: "the archive has {count} entries, the limit is {limit}",
    UploadReason.ZIP_TOO_BIG: "the archive unpacks to {size}, the limit is {limit}",
    UploadReason.ZIP_BOMB: "the archive looks like a compression bomb: {name} expands {ratio} times",
    UploadReason.ZIP_RATIO: "the archive unpacks {ratio} times its size (the limit is {limit}): too much repeated content",
    UploadReason.ZIP_OVER_BUDGET: "the archive unpacks to more than its limit; the rest was skipped",
    UploadReason.ZIP_MEMBER_ENCRYPTED: "the file is password-protected inside the archive",
    UploadReason.ZIP_MEMBER_METHOD: "the file is compressed with a method the bot does not unpack; use ordinary ZIP (Deflate)",
    UploadReason.ZIP_MEMBER_DAMAGED: "the file could not be unpacked (the archive is damaged)",
    UploadReason.ZIP_MEMBER_TOO_BIG: "the file is over the {limit} limit",
    UploadReason.TEXT_EMPTY: "the text is empty",
    UploadReason.TOO_LONG: "the text is {chars} characters long, the limit is {max}",
    UploadReason.TOO_SHORT: "the text is too short to be news ({chars} characters, at least {min} needed)",
    UploadReason.DUPLICATE: "the same text is already stored as document {doc_id}",
    UploadReason.INTERNAL: "internal error (see the log)",
    UploadReason.DISK_FULL: "not saved: the disk is full (the upload stopped at the first failed write)",
    UploadReason.READ_ONLY: "not saved: the database is read-only (the upload stopped at the first failed write)",
    UploadReason.BAD_TITLE: "a title must be 1 to {max} characters long",
    UploadReason.BAD_DATE: "the date could not be read",
    UploadReason.BAD_SOURCE: "a source must be a name or a link of up to {max} characters",
    UploadReason.UNDO_EXPIRED: "it is too late to undo: the deleted text is no longer kept",
}  # fmt: skip

# Parameters that are sizes in bytes, written as "2 KB" / "21 MB" in sentences.
BYTE_PARAMS = frozenset({"size", "limit"})
_BYTE_REASONS = frozenset(
    {
        UploadReason.FILE_TOO_BIG,
        UploadReason.DOWNLOAD_TOO_BIG,
        UploadReason.ZIP_TOO_BIG,
        UploadReason.ZIP_MEMBER_TOO_BIG,
        UploadReason.DOCX_TOO_COMPLEX,
    }
)


def human_size(size: int) -> str:
    for unit, scale in (("MB", MB), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


class UploadError(Exception):
    """A refusal: `reason` says which, `params` fill its sentence. `line` / `item` locate it inside a JSON
    Lines or JSON file. Two errors are equal when they say the same thing (tests compare them)."""

    def __init__(
        self, reason: UploadReason, *, line: int | None = None, item: int | None = None, **params: Any
    ) -> None:
        self.reason = reason
        self.line = line
        self.item = item
        self.params: dict[str, Any] = params
        super().__init__(self.english())

    def english(self, *, located: bool = True) -> str:
        """The sentence; `located`: prefixed with the line or item of a JSON file it is about."""
        params = dict(self.params)
        if self.reason in _BYTE_REASONS:
            params.update(
                {k: human_size(v) for k, v in params.items() if k in BYTE_PARAMS and isinstance(v, int)}
            )
        prefix = (
            ""
            if not located
            else f"line {self.line}: "
            if self.line is not None
            else f"item {self.item}: "
            if self.item is not None
            else ""
        )
        return prefix + _ENGLISH[self.reason].format(**params)

    def __str__(self) -> str:
        return self.english()

    def __repr__(self) -> str:
        return f"UploadError({self.reason.name}, {self.english()!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UploadError):
            return NotImplemented
        return (self.reason, self.line, self.item, self.params) == (
            other.reason,
            other.line,
            other.item,
            other.params,
        )

    def __hash__(self) -> int:
        return hash((self.reason, self.line, self.item))

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses process boundaries (the analysis pool); keyword arguments are not in `args`.
        return (_rebuild, (self.reason, self.line, self.item, self.params))


def _rebuild(reason: UploadReason, line: int | None, item: int | None, params: dict[str, Any]) -> UploadError:
    return UploadError(reason, line=line, item=item, **params)
