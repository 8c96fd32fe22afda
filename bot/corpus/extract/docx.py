"""Word (.docx): paragraphs and table cells in document order; the title from the properties or a heading.

The document's XML is read as a stream with caps on its size and on its number of elements, rather than
through python-docx: a few megabytes of deflated XML can hold hundreds of megabytes of paragraphs, and
python-docx builds the whole tree and looks every paragraph's style up in a linear scan of the styles
(minutes of CPU and a gigabyte of memory for a file well under the bomb ratio).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import IO

from lxml import etree  # type: ignore[import-untyped]

from bot.corpus.errors import MB, UploadError, UploadReason
from bot.corpus.extract.base import ExtractFailure, Limits, RawItem, make_item
from bot.corpus.extract.zip import ZIP_ERRORS, zip_bomb

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _TBL, _TR, _TC, _SDT, _SDT_CONTENT = (_W + t for t in ("p", "tbl", "tr", "tc", "sdt", "sdtContent"))
_BODY, _STYLE, _P_STYLE, _NAME = _W + "body", _W + "style", _W + "pStyle", _W + "name"
_VAL, _STYLE_ID = _W + "val", _W + "styleId"
# What a run's children stand for in its text (as python-docx reads them); deleted text is left out.
_RUN_TEXT = {_W + "tab": "\t", _W + "ptab": "\t", _W + "br": "\n", _W + "cr": "\n", _W + "noBreakHyphen": "-"}
_T = _W + "t"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_MAIN_PART = "word/document.xml"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
# The side parts (styles, properties) are small in any real document.
_SIDE_PART_BYTES = 4 * MB


def extract_docx(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS:
        raise UploadError(UploadReason.DOCX_DAMAGED) from None
    with archive:
        bomb = zip_bomb(archive.infolist(), limits)
        if bomb is not None:
            raise bomb
        try:
            main = archive.getinfo(_main_part(archive))
        except (KeyError, *ZIP_ERRORS, etree.LxmlError):
            raise UploadError(UploadReason.DOCX_DAMAGED) from None
        if main.file_size > limits.max_docx_xml_bytes:
            raise _too_complex(limits)
        try:
            styles = _heading_styles(archive)
            core_title = _core_title(archive)
            with archive.open(main) as stream:
                reader = _DocumentReader(styles, limits)
                blocks = list(reader.read(_Capped(stream, limits.max_docx_xml_bytes, limits)))
        except UploadError:
            raise
        except (*ZIP_ERRORS, etree.LxmlError):
            raise UploadError(UploadReason.DOCX_DAMAGED) from None
    title = core_title or reader.heading
    return make_item(source, "\n\n".join(blocks), limits, title=title)


def _too_complex(limits: Limits) -> UploadError:
    return UploadError(
        UploadReason.DOCX_TOO_COMPLEX,
        size=limits.max_docx_xml_bytes,
        count=limits.max_docx_elements,
    )


class _Capped(io.RawIOBase):
    """The member's stream, refused once more than `cap` bytes came out (declared sizes may lie)."""

    def __init__(self, stream: IO[bytes], cap: int, limits: Limits) -> None:
        self._stream = stream
        self._left = cap
        self._limits = limits

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size if size >= 0 else 1024 * 1024)
        self._left -= len(chunk)
        if self._left < 0:
            raise _too_complex(self._limits)
        return chunk


def _parse_part(archive: zipfile.ZipFile, name: str) -> etree._Element | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > _SIDE_PART_BYTES:
        return None
    with archive.open(info) as stream:
        content = stream.read(_SIDE_PART_BYTES + 1)
    if len(content) > _SIDE_PART_BYTES:
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(content, parser)


def _main_part(archive: zipfile.ZipFile) -> str:
    """The document's own part, as the package's relationships name it (almost always word/document.xml)."""
    root = _parse_part(archive, "_rels/.rels")
    for relationship in root.iter(_RELATIONSHIP) if root is not None else ():
        if relationship.get("Type", "").endswith("/officeDocument") and relationship.get("Target"):
            return str(relationship.get("Target")).lstrip("/")
    return _MAIN_PART


def _heading_styles(archive: zipfile.ZipFile) -> frozenset[str]:
    """Ids of the paragraph styles that make a heading: by name, since localized Word numbers its ids."""
    root = _parse_part(archive, "word/styles.xml")
    ids = set()
    for style in root.iter(_STYLE) if root is not None else ():
        name_element = style.find(_NAME)
        name = (name_element.get(_VAL, "") if name_element is not None else "").lower()
        if name == "title" or name.startswith("heading"):
            ids.add(style.get(_STYLE_ID, ""))
    return frozenset(ids)


def _core_title(archive: zipfile.ZipFile) -> str | None:
    root = _parse_part(archive, "docProps/core.xml")
    element = root.find(_DC_TITLE) if root is not None else None
    title = element.text if element is not None else None
    return title if title and title.strip() else None


class _DocumentReader:
    """Top-level blocks of the body, each handled and dropped as soon as it ends, so that memory stays
    bounded by the largest block; the number of elements is counted as they start."""

    def __init__(self, heading_styles: frozenset[str], limits: Limits) -> None:
        self.heading_styles = heading_styles
        self.limits = limits
        self.heading: str | None = None

    def read(self, stream: _Capped) -> Iterator[str]:
        events = etree.iterparse(
            stream, events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=False
        )
        depth = 0
        elements = 0
        for event, element in events:
            if event == "start":
                depth += 1
                elements += 1
                if elements > self.limits.max_docx_elements:
                    raise _too_complex(self.limits)
                continue
            depth -= 1
            # document (1) > body (2) > block (3)
            if depth == 2 and element.getparent() is not None and element.getparent().tag == _BODY:
                yield from self._block(element)
                element.clear()
                parent = element.getparent()
                if parent is not None:
                    parent.remove(element)

    def _block(self, element: etree._Element) -> Iterator[str]:
        if element.tag == _P:
            text = _paragraph_text(element).strip()
            if text:
                if self.heading is None and self._is_heading(element):
                    self.heading = text
                yield text
        elif element.tag == _TBL:
            yield from _table(element)
        elif element.tag == _SDT:
            content = element.find(_SDT_CONTENT)
            for child in content if content is not None else ():
                yield from self._block(child)

    def _is_heading(self, paragraph: etree._Element) -> bool:
        style = paragraph.find(f"{_W}pPr/{_P_STYLE}")
        if style is None:
            return False
        style_id = style.get(_VAL, "")
        return (
            style_id in self.heading_styles or style_id.lower() == "title" or style_id.startswith("Heading")
        )


def _paragraph_text(paragraph: etree._Element) -> str:
    parts: list[str] = []
    for node in paragraph.iter(_T, *_RUN_TEXT):
        if node.tag == _T:
            parts.append(node.text or "")
        elif node.tag == _W + "br" and node.get(_W + "type") == "page":
            continue
        else:
            parts.append(_RUN_TEXT[node.tag])
    return "".join(parts)


def _table(table: etree._Element) -> Iterator[str]:
    """Each cell once, as one block of its paragraphs and of its nested tables' cells. A cell merged across
    columns is one element; one merged down rows is continued by empty cells, which give nothing."""
    for row in table.iterchildren(_TR):
        for cell in row.iterchildren(_TC):
            cell_blocks: list[str] = []
            for child in cell:
                if child.tag == _P:
                    text = _paragraph_text(child).strip()
                    if text:
                        cell_blocks.append(text)
                elif child.tag == _TBL:
                    cell_blocks.extend(_table(child))
            if cell_blocks:
                yield "\n".join(cell_blocks)
