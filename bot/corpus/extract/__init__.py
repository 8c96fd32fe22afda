"""Turning uploaded or ingested files into raw text items.

Every supported format (plain text, Markdown, HTML, Word, PDF, JSON Lines, ZIP archives of those) has its
own module and becomes a stream of `RawItem`s, one per document, or `ExtractFailure`s carrying a typed
`UploadError` (why a file, or a line of it, could not be used). `dispatch` picks the reader by extension.

The text is only decoded and stripped of markup here; normalization, language detection and deduplication
happen later in the pipeline.

`Limits` bound the work a file may cost, not only its bytes: archive ratios per member and for the whole
archive, Word XML size and element count, and markup stripping that stays linear in the input. The bot reads
uploads in `worker.ExtractionWorker`, a separate process with a wall-time budget per file.
"""

from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.extract.base import (
    DEFAULT_LIMITS,
    SUPPORTED_EXTENSIONS,
    ExtractFailure,
    Limits,
    RawItem,
)
from bot.corpus.extract.decode import decode_text
from bot.corpus.extract.dispatch import extract_bytes, extract_path

__all__ = [
    "DEFAULT_LIMITS",
    "SUPPORTED_EXTENSIONS",
    "ExtractFailure",
    "Limits",
    "RawItem",
    "UploadError",
    "UploadReason",
    "decode_text",
    "extract_bytes",
    "extract_path",
]
