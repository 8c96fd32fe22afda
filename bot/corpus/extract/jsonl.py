"""JSON Lines (one object per line) and JSON (one object, or a list of them): each object with a "text"
field is a document; "title", "url", "date" and "lang" are taken when they are strings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.extract.base import ExtractFailure, Limits, RawItem, make_item
from bot.corpus.extract.decode import decode_text

_ITEM_FIELDS = ("title", "url", "date", "lang")


# A parsed entry: its line or item number (None for a lone object), the value, and the parse error if any.
_Entry = tuple[int | None, Any, UploadReason | None]


def extract_json(
    source: str, data: bytes, limits: Limits, *, lines: bool
) -> Iterator[RawItem | ExtractFailure]:
    try:
        text = decode_text(data)
    except UploadError as exc:
        yield ExtractFailure(source, exc)
        return
    entries: Iterator[_Entry]
    if lines:
        entries = _jsonl_entries(text)
    else:
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            yield ExtractFailure(source, UploadError(UploadReason.JSON_INVALID))
            return
        if isinstance(document, dict):
            entries = iter([(None, document, None)])
        elif isinstance(document, list):
            entries = ((n, value, None) for n, value in enumerate(document, start=1))
        else:
            yield ExtractFailure(source, UploadError(UploadReason.JSON_NOT_A_LIST))
            return
    any_entry = False
    failures = 0
    for number, value, error in entries:
        any_entry = True
        entry_source = source if number is None else f"{source}:{number}"
        # Where the entry is: a line of a .jsonl file, an item of a .json list.
        line, entry = (number, None) if lines else (None, number)
        result = (
            ExtractFailure(entry_source, UploadError(error, line=line, item=entry))
            if error
            else _json_item(entry_source, value, limits, line, entry)
        )
        if isinstance(result, ExtractFailure):
            failures += 1
            if failures > limits.max_line_failures:
                continue
        yield result
    if failures > limits.max_line_failures:
        more = failures - limits.max_line_failures
        yield ExtractFailure(source, UploadError(UploadReason.MORE_FAILURES, count=more))
    if not any_entry:
        yield ExtractFailure(source, UploadError(UploadReason.NO_TEXT))


def _jsonl_entries(text: str) -> Iterator[_Entry]:
    # Only "\n" separates records: str.splitlines() would also split at U+2028 and other separators that
    # JSON allows unescaped inside strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except (ValueError, RecursionError):
            yield number, None, UploadReason.JSON_LINE_INVALID


def _json_item(
    source: str, record: Any, limits: Limits, line: int | None, entry: int | None
) -> RawItem | ExtractFailure:
    problem: UploadReason | None = None
    if not isinstance(record, dict):
        problem = UploadReason.JSON_NOT_OBJECT
    elif "text" not in record:
        problem = UploadReason.JSON_NO_TEXT_FIELD
    elif not isinstance(record["text"], str):
        problem = UploadReason.JSON_TEXT_NOT_STRING
    elif not record["text"].strip():
        problem = UploadReason.JSON_TEXT_EMPTY
    if problem is not None:
        return ExtractFailure(source, UploadError(problem, line=line, item=entry))
    # Metadata of the wrong type is dropped rather than failing the item: the text is what matters.
    meta = [value if isinstance(value := record.get(name), str) else None for name in _ITEM_FIELDS]
    return make_item(
        source,
        record["text"],
        limits,
        title=meta[0],
        url=meta[1],
        date=meta[2],
        lang=meta[3],
        line=line,
        entry=entry,
    )
