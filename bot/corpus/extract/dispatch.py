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
from bot.corpus.extract.html import extract_html
from bot.corpus.extract.jsonl import extract_json
from bot.corpus.extract.md import extract_markdown
from bot.corpus.extract.txt import extract_txt
from bot.corpus.extract.zip import extract_zip


def extract_docx(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    # Imported on first use, as is pdf below: lxml and pypdf (~14 MB) are for admins' uploads only, which
    # the bot reads in a worker process; the bot itself need not hold them.
    from bot.corpus.extract.docx import extract_docx

    return extract_docx(source, data, limits)


def extract_pdf(source: str, data: bytes, limits: Limits) -> RawItem | ExtractFailure:
    from bot.corpus.extract.pdf import extract_pdf

    return extract_pdf(source, data, limits)


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


def extract_path(
    path: Path, limits: Limits = DEFAULT_LIMITS, *, follow_symlinks: bool = False
) -> Iterator[RawItem | ExtractFailure]:
    """Items of a file, or of every file under a folder (recursively, in sorted order, hidden ones skipped).

    Sources of files found in a folder are their paths relative to that folder. A folder's symbolic links
    are followed only where they stay inside it: a link to a file or folder outside is refused
    (LINK_OUTSIDE), unless `follow_symlinks` (then linked folders are walked too, each real folder once).
    """
    if path.is_dir():
        empty = True
        for file_path, relative in _walk_folder(path, follow_symlinks):
            empty = False
            if isinstance(file_path, UploadError):
                yield ExtractFailure(relative, file_path)
                continue
            yield from _extract_file(file_path, relative, limits)
        if empty:
            yield ExtractFailure(str(path), UploadError(UploadReason.EMPTY_FOLDER))
    elif path.exists():
        yield from _extract_file(path, path.name, limits)
    else:
        yield ExtractFailure(str(path), UploadError(UploadReason.NO_SUCH_PATH))


def _walk_folder(root: Path, follow_symlinks: bool = False) -> Iterator[tuple[Path | UploadError, str]]:
    found: list[tuple[str, Path | UploadError]] = []
    real_root = root.resolve()
    visited = {real_root}
    # os.walk rather than rglob; linked folders are walked only when asked, and each real folder once, so a
    # link loop cannot recurse forever.
    for dir_name, sub_dirs, file_names in os.walk(root, followlinks=follow_symlinks):
        kept = []
        for d in sub_dirs:
            if is_skipped_name(d):
                continue
            sub = Path(dir_name, d)
            if sub.is_symlink():
                real = sub.resolve()
                if not follow_symlinks:
                    if not real.is_relative_to(real_root):
                        found.append((sub.relative_to(root).as_posix(), _outside(sub)))
                    continue  # a link inside the folder: its files are found at their real place
                if real in visited:
                    continue
                visited.add(real)
            kept.append(d)
        sub_dirs[:] = kept
        for file_name in file_names:
            if not is_skipped_name(file_name):
                file_path = Path(dir_name, file_name)
                relative = file_path.relative_to(root).as_posix()
                outside = not follow_symlinks and not file_path.resolve().is_relative_to(real_root)
                found.append((relative, _outside(file_path) if outside else file_path))
    for relative, entry in sorted(found, key=lambda pair: pair[0]):
        yield entry, relative


def _outside(link: Path) -> UploadError:
    return UploadError(UploadReason.LINK_OUTSIDE, path=str(link.resolve()))


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
