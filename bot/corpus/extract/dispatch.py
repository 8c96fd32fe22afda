"""Which reader a file goes to (its extension decides), for a file's bytes or for files and folders on disk.

Bad input never raises: the files come from admins' uploads and from folders of whatever was collected,
and one broken file must not stop the rest of a batch. Each failure is an `ExtractFailure` with a typed
`UploadError`.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.extract.base import (
    DEFAULT_LIMITS,
    ExtractFailure,
    Limits,
    RawItem,
    extension,
    is_skipped_name,
    name_problem,
)
from bot.corpus.extract.docx import extract_docx
from bot.corpus.extract.html import extract_html
from bot.corpus.extract.jsonl import extract_json
from bot.corpus.extract.md import extract_markdown
from bot.corpus.extract.pdf import extract_pdf
from bot.corpus.extract.txt import extract_txt
from bot.corpus.extract.zip import extract_zip

# The formats that give one document per file; they raise UploadError on input they cannot read.
_SINGLE: dict[str, Callable[[str, bytes, Limits], RawItem | ExtractFailure]] = {
    ".txt": extract_txt,
    ".md": extract_markdown,
    ".markdown": extract_markdown,
    ".html": extract_html,
    ".htm": extract_html,
    ".docx": extract_docx,
    ".pdf": extract_pdf,
}


def extract_bytes(
    name: str, data: bytes, limits: Limits = DEFAULT_LIMITS
) -> Iterator[RawItem | ExtractFailure]:
    """Items of one file given by its name (which decides the format) and content."""
    return _extract(name, name, data, limits, nested=False)


def extract_path(path: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[RawItem | ExtractFailure]:
    """Items of a file, or of every file under a folder (recursively, in sorted order, hidden ones skipped).

    Sources of files found in a folder are their paths relative to that folder.
    """
    if path.is_dir():
        empty = True
        for file_path, relative in _walk_folder(path):
            empty = False
            yield from _extract_file(file_path, relative, limits)
        if empty:
            yield ExtractFailure(str(path), UploadError(UploadReason.EMPTY_FOLDER))
    elif path.exists():
        yield from _extract_file(path, path.name, limits)
    else:
        yield ExtractFailure(str(path), UploadError(UploadReason.NO_SUCH_PATH))


def _walk_folder(root: Path) -> Iterator[tuple[Path, str]]:
    found: list[tuple[str, Path]] = []
    # os.walk rather than rglob: it does not follow symlinked folders, so a link loop cannot recurse forever.
    for dir_name, sub_dirs, file_names in os.walk(root):
        sub_dirs[:] = [d for d in sub_dirs if not is_skipped_name(d)]
        for file_name in file_names:
            if not is_skipped_name(file_name):
                file_path = Path(dir_name, file_name)
                found.append((file_path.relative_to(root).as_posix(), file_path))
    for relative, file_path in sorted(found):
        yield file_path, relative


def _extract_file(path: Path, source: str, limits: Limits) -> Iterator[RawItem | ExtractFailure]:
    problem = name_problem(source)
    if problem is not None:
        yield ExtractFailure(source, problem)
        return
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # reading a FIFO or a device would block or never end
            yield ExtractFailure(source, UploadError(UploadReason.NOT_REGULAR_FILE))
            return
        # Checked before reading so that a huge file is never loaded just to be refused.
        size = status.st_size
        if size > limits.max_file_bytes:
            too_big = UploadError(UploadReason.FILE_TOO_BIG, size=size, limit=limits.max_file_bytes)
            yield ExtractFailure(source, too_big)
            return
        data = path.read_bytes()
    except OSError as exc:
        failed = UploadError(UploadReason.READ_FAILED, error=exc.strerror or exc.__class__.__name__)
        yield ExtractFailure(source, failed)
        return
    yield from _extract(source, source, data, limits, nested=False)


def _extract(
    source: str, file_name: str, data: bytes, limits: Limits, *, nested: bool
) -> Iterator[RawItem | ExtractFailure]:
    """`source` labels the results; `file_name` (the archive member's own name inside an archive) decides
    the format."""
    problem = name_problem(file_name)
    if problem is not None:
        yield ExtractFailure(source, problem)
        return
    if len(data) > limits.max_file_bytes:
        too_big = UploadError(UploadReason.FILE_TOO_BIG, size=len(data), limit=limits.max_file_bytes)
        yield ExtractFailure(source, too_big)
        return
    ext = extension(file_name)
    if ext == ".zip":
        if nested:
            yield ExtractFailure(source, UploadError(UploadReason.ZIP_NESTED))
        else:
            member = functools.partial(_extract, limits=limits, nested=True)
            yield from extract_zip(source, data, limits, member)
    elif ext in (".jsonl", ".json"):
        yield from extract_json(source, data, limits, lines=ext == ".jsonl")
    else:
        try:
            result = _SINGLE[ext](source, data, limits)
        except UploadError as exc:
            result = ExtractFailure(source, exc)
        yield result
