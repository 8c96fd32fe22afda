"""Word (.docx): paragraphs and table cells in document order; the title from the properties or a heading."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any

import docx

from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.extract.base import ExtractFailure, Limits, RawItem, make_item
from bot.corpus.extract.zip import ZIP_ERRORS, zip_bomb


def extract_docx(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    # A .docx is a ZIP archive, and python-docx inflates all of it: the same bomb guard applies.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bomb = zip_bomb(archive.infolist(), limits)
    except ZIP_ERRORS:
        raise UploadError(UploadReason.DOCX_DAMAGED) from None
    if bomb is not None:
        raise bomb
    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        heading = _docx_blocks(document.iter_inner_content(), blocks)
        core_title = document.core_properties.title
    except Exception:
        # python-docx surfaces damage as whatever zipfile, lxml or its own code hit (KeyError, ValueError,
        # XMLSyntaxError, ...); none of it is actionable beyond "damaged".
        raise UploadError(UploadReason.DOCX_DAMAGED) from None
    title = core_title if isinstance(core_title, str) and core_title.strip() else heading
    return make_item(source, "\n\n".join(blocks), limits, title=title)


def _docx_blocks(content: Iterable[Any], blocks: list[str]) -> str | None:
    """Appends the text of paragraphs and table cells in document order; returns the first heading."""
    heading: str | None = None
    for block in content:
        if hasattr(block, "rows"):
            # A merged cell comes back once per grid cell it spans, across columns and down rows; its
            # XML element is the same each time.
            seen: set[Any] = set()
            for row in block.rows:
                for cell in row.cells:
                    if cell._tc in seen:
                        continue
                    seen.add(cell._tc)
                    cell_blocks: list[str] = []
                    _docx_blocks(cell.iter_inner_content(), cell_blocks)
                    if cell_blocks:
                        blocks.append("\n".join(cell_blocks))
            continue
        text = block.text.strip()
        if not text:
            continue
        blocks.append(text)
        if heading is None:
            style = block.style.name if block.style is not None else ""
            if style == "Title" or str(style).startswith("Heading"):
                heading = text
    return heading
