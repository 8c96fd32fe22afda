"""Files the upload tests send: archives and a scanned-looking PDF, built in memory."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

from fpdf import FPDF


def make_zip(members: Iterable[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def scan_pdf() -> bytes:
    """A PDF with a drawing and no text layer, as a scanner makes them."""
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())
