"""PDF: the text layer, page by page, with paragraphs joined back together (a PDF stores placed lines)."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.extract.base import ExtractFailure, Limits, RawItem, make_item

# A line ending in a hyphen (or soft hyphen) right after a letter: a word broken across lines.
_BROKEN_WORD_RE = re.compile(r"(?<=\w)[-\u00ad\u2010]$")
_PDF_SPACES_RE = re.compile(r"[ \t]{2,}")
_PARAGRAPH_START = '«"“„—–-•*(['


def extract_pdf(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UploadError(UploadReason.PDF_ENCRYPTED)
        pages = list(reader.pages)
    except UploadError:
        raise
    except Exception:
        # pypdf reports damaged files through many exception types (PdfReadError, KeyError, ValueError,
        # RecursionError on cyclic objects, DependencyError for unsupported encryption, ...).
        raise UploadError(UploadReason.PDF_DAMAGED) from None
    if not pages:
        raise UploadError(UploadReason.PDF_NO_PAGES)
    page_texts: list[str] = []
    failed_pages = 0
    total = 0
    for page in pages:
        try:
            page_text = page.extract_text()
        except Exception:  # one broken page (a bad font or content stream) should not lose the others
            failed_pages += 1
            continue
        page_text = _reflow_pdf_text(page_text)
        if page_text:
            page_texts.append(page_text)
            total += len(page_text)
            if total > limits.max_text_chars:
                break  # the result is refused anyway; no need to parse the remaining pages
    if not page_texts:
        if failed_pages:
            raise UploadError(UploadReason.PDF_PAGES_UNREADABLE)
        raise UploadError(UploadReason.PDF_NO_TEXT)
    return make_item(source, "\n\n".join(page_texts), limits)


def _reflow_pdf_text(text: str) -> str:
    """Joins the lines of each paragraph, which a PDF stores as separately placed lines, and mends words
    hyphenated at line ends ("регулиро-" + "вания").

    A paragraph is taken to end at a blank line, or at a line clearly shorter than the page's usual line
    when the next line starts like a new paragraph: only last lines fall short of the full width.
    """
    # Justified lines come out with widened gaps between words, which carry no meaning.
    lines = [
        _PDF_SPACES_RE.sub(" ", line).strip()
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return ""
    usual = lengths[int(len(lengths) * 0.8)] if len(lengths) >= 3 else lengths[-1]
    paragraphs: list[str] = []
    current = ""
    previous = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = previous = ""
            continue
        if not current:
            current = line
        elif _BROKEN_WORD_RE.search(previous) and (line[0].islower() or previous.endswith("\u00ad")):
            current = current[:-1] + line
        elif previous.endswith(("-", "\u2010")) and previous[-2:-1].isalnum():
            current += line  # a compound split at its hyphen: Алатау-\nСити
        elif len(previous) < 0.75 * usual and (
            line[0].isupper() or line[0].isdigit() or line[0] in _PARAGRAPH_START
        ):
            paragraphs.append(current)
            current = line
        else:
            current += " " + line
        previous = line
    if current:
        paragraphs.append(current)
    return "\n\n".join(paragraphs)
