"""Bytes to text for feeds and pages: the charset the server or the document declares, else one detected
from the bytes. Servers often label cp1251 pages and feeds as UTF-8 (or not at all), so a label is trusted
only when the bytes are valid in it."""

from __future__ import annotations

import codecs
import re

# `<meta charset=...>` or `<meta http-equiv="Content-Type" content="...; charset=...">`, in the page's head.
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECL_RE = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECL_ENCODING_RE = re.compile(
    r"""^(\s*<\?xml[^>]*encoding\s*=\s*["'])([a-zA-Z0-9_.:-]+)""", re.IGNORECASE
)
_HEAD_BYTES = 4096
_DETECT_BYTES = 200_000
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    # Browsers read a page labelled Latin-1 as cp1252 (WHATWG), and so do the servers that label it so.
    return "cp1252" if codec == "iso8859-1" else codec


def declared_charsets(body: bytes, content_type: str | None) -> list[str]:
    """The HTTP header's charset, then the XML declaration's or the <meta> one, as codec names."""
    found: list[str | None] = []
    if content_type:
        for param in content_type.split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset":
                found.append(_codec(value.strip().strip("\"'")))
    head = body[:_HEAD_BYTES]
    for pattern in (_XML_DECL_RE, _META_CHARSET_RE):
        match = pattern.search(head)
        if match:
            found.append(_codec(match.group(1).decode("ascii", "ignore")))
    return list(dict.fromkeys(codec for codec in found if codec))


def decode_document(body: bytes, content_type: str | None) -> str:
    """A byte-order mark wins, then the first declared charset the bytes are valid in, then UTF-8, then
    what charset-normalizer detects; never raises (undecodable bytes become U+FFFD)."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace").lstrip("\ufeff")
    declared = declared_charsets(body, content_type)
    for candidate in [*declared, "utf-8"]:
        try:
            return body.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            pass
    from charset_normalizer import from_bytes  # only documents that are neither as declared nor UTF-8

    best = from_bytes(body[:_DETECT_BYTES]).best()
    codec = best.encoding if best is not None else (declared[0] if declared else "cp1251")
    return body.decode(codec, errors="replace")


def feed_as_utf8(body: bytes, content_type: str | None) -> tuple[bytes, str]:
    """The feed re-encoded as UTF-8 with its XML declaration and content type saying so, for feedparser,
    which otherwise believes a wrong HTTP label and falls back to cp1252 (mojibake for Cyrillic)."""
    text = decode_document(body, content_type)
    text = _XML_DECL_ENCODING_RE.sub(r"\g<1>utf-8", text, count=1)
    media_type = (content_type or "application/xml").split(";")[0].strip() or "application/xml"
    return text.encode("utf-8"), f"{media_type}; charset=utf-8"
