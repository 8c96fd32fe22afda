"""Uploads made to cost work rather than bytes (issue 14, item 10), built in the tests at chosen sizes."""

from __future__ import annotations

import io
import random
import zipfile

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)


_WORDS = (
    "акимат",
    "школа",
    "город",
    "строительство",
    "дорога",
    "парк",
    "министр",
    "жители",
    "район",
    "бюджет",
)


def huge_xml_docx(paragraphs: int, seed: int = 14) -> bytes:
    """A .docx whose document.xml holds `paragraphs` styled paragraphs of varied words: it deflates some 10-20
    times, like real Word XML (under every ratio limit), yet inflates to a hundred times more elements than
    a news text has (python-docx looked up every paragraph's style: minutes of CPU)."""
    rng = random.Random(seed)
    paragraph = (
        '<w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:rPr><w:b/></w:rPr><w:t>{}</w:t></w:r></w:p>'
    )
    body = "".join(
        paragraph.format(" ".join(rng.choice(_WORDS) for _ in range(8)) + f" {rng.randrange(10**6)}")
        for _ in range(paragraphs)
    )
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{_W_NS}"><w:body>{body}</w:body></w:document>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def emphasis_runs_md(size: int, seed: int = 14) -> bytes:
    """A Markdown file of random `*`, `_` and `[` runs on one line: every opening marker used to rescan the
    rest of the line for its closing one."""
    rng = random.Random(seed)
    return ("# Заголовок\n\n" + "".join(rng.choice("*_[") for _ in range(size))).encode()


def near_ratio_zip(members: int, member_bytes: int = 90_000, seed: int = 14) -> bytes:
    """A .zip of many text members, each deflating some 80 times: under the per-member bomb ratio (and
    under the size at which one member is judged at all), but together a lot of work for a small file."""
    rng = random.Random(seed)
    line = "Акимат Алатау сообщил о начале строительства новой школы.\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(members):
            lines = (line if i % 10 else f"{rng.randrange(10**9)} {line}" for i in range(member_bytes // 50))
            archive.writestr(f"news-{index:04}.txt", "".join(lines).encode()[:member_bytes])
    return buffer.getvalue()
