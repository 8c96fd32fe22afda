"""What every format shares: the item and failure types, the limits, and the checks on names and text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from bot.corpus.errors import UploadError, UploadReason


@dataclass(frozen=True)
class RawItem:
    """One document's text with whatever metadata the file itself carried."""

    text: str
    source: str
    title: str | None = None
    url: str | None = None
    date: str | None = None
    lang: str | None = None


@dataclass(frozen=True)
class ExtractFailure:
    """A file, archive member or line that gave no text, and why."""

    source: str
    error: UploadError

    @property
    def reason(self) -> str:
        """The English sentence (the CLI prints it)."""
        return str(self.error)


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one hostile or accidental upload from exhausting memory or time."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_text_chars: int = 200_000
    max_zip_members: int = 1000
    max_zip_unpacked_bytes: int = 200 * 1024 * 1024
    # Plain text deflates 3-10 times; hundreds of times means a run of repeated bytes made to blow up.
    max_zip_ratio: float = 100.0
    # Below this size a high ratio is harmless (a short file of repeated lines), so it is not judged.
    zip_ratio_min_bytes: int = 1024 * 1024
    # A renamed non-JSONL file would otherwise produce one failure per line; past this many the rest
    # are counted in a single summary failure.
    max_line_failures: int = 100
    # A whole archive deflating more than this is repeated content made to cost work, even when each member
    # stays under the per-member ratio (text deflates 3-10 times, Word's XML 10-20).
    max_archive_ratio: float = 40.0
    # Word's XML: a real document of `max_text_chars` characters takes a few megabytes and elements.
    max_docx_xml_bytes: int = 24 * 1024 * 1024
    max_docx_elements: int = 300_000
    # Wall time a file may take to read (in the bot's extraction worker), after which the worker is killed.
    max_extract_seconds: float = 30.0


DEFAULT_LIMITS = Limits()

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf", ".jsonl", ".json", ".zip"}
)
SUPPORTED_LIST = ", ".join(sorted(SUPPORTED_EXTENSIONS))


def extension(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).suffix.lower()


def name_problem(name: str) -> UploadError | None:
    ext = extension(name)
    if not ext:
        return UploadError(UploadReason.NO_EXTENSION, supported=SUPPORTED_LIST)
    if ext not in SUPPORTED_EXTENSIONS:
        return UploadError(UploadReason.UNSUPPORTED_FORMAT, ext=ext, supported=SUPPORTED_LIST)
    return None


def is_skipped_name(name: str) -> bool:
    # "~$" files are Word's lock files next to an open document: hidden on Windows, never real documents.
    return name.startswith((".", "~$")) or name == "__MACOSX"


def make_item(
    source: str,
    text: str,
    limits: Limits,
    *,
    title: str | None = None,
    url: str | None = None,
    date: str | None = None,
    lang: str | None = None,
    line: int | None = None,
    entry: int | None = None,
) -> RawItem | ExtractFailure:
    """The item, or why its text cannot be used; `line` / `entry` locate it inside a JSON (Lines) file."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ExtractFailure(source, UploadError(UploadReason.NO_TEXT, line=line, item=entry))
    if len(text) > limits.max_text_chars:
        error = UploadError(
            UploadReason.TOO_LONG, line=line, item=entry, chars=len(text), max=limits.max_text_chars
        )
        return ExtractFailure(source, error)
    return RawItem(text, source, _clean_meta(title), _clean_meta(url), _clean_meta(date), _clean_meta(lang))


def _clean_meta(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def without_html_comments(text: str) -> str:
    """HTML comments removed; an unclosed one runs to the end. A scan, since `<!--.*?-->` rescans to the
    end from every `<!--` when none closes."""
    parts: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) != -1:
        parts.append(text[position:start])
        end = text.find("-->", start + 4)
        if end == -1:
            return "".join(parts)
        position = end + 3
    parts.append(text[position:])
    return "".join(parts)
