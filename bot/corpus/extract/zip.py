"""ZIP archives: every member is read as its own file, after the archive as a whole is judged safe.

Archives come from strangers: members may claim false sizes, hold paths that lead outside, or inflate a
thousandfold. Everything is checked and counted before and while unpacking, never trusted.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator

from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.extract.base import ExtractFailure, Limits, RawItem, extension, is_skipped_name, name_problem

# Reads one member: (its source label, its own name, its bytes) to items.
MemberExtractor = Callable[[str, str, bytes], Iterator[RawItem | ExtractFailure]]

# What zipfile raises on damaged archives: BadZipFile for most damage, zlib.error for corrupt deflate
# data, NotImplementedError for unknown format versions, RuntimeError for encrypted members, ValueError and
# EOFError for impossible offsets and cut data.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,
)


# Only these: bzip2 and LZMA decompress a whole input chunk at once, however large the output, so zipfile
# cannot bound the memory they take.
_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_READ_CHUNK = 1024 * 1024


def zip_bomb(infos: list[zipfile.ZipInfo], limits: Limits) -> UploadError | None:
    """Why an archive (a .zip, or a .docx, which is one) must not be unpacked at all, if it must not."""
    if len(infos) > limits.max_zip_members:
        return UploadError(UploadReason.ZIP_TOO_MANY, count=len(infos), limit=limits.max_zip_members)
    total = sum(info.file_size for info in infos)
    if total > limits.max_zip_unpacked_bytes:
        return UploadError(UploadReason.ZIP_TOO_BIG, size=total, limit=limits.max_zip_unpacked_bytes)
    for info in infos:
        if info.file_size >= limits.zip_ratio_min_bytes and info.file_size > limits.max_zip_ratio * max(
            info.compress_size, 1
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            return UploadError(
                UploadReason.ZIP_BOMB, name=info.filename, ratio=ratio, limit=limits.max_zip_unpacked_bytes
            )
    # Many members each just under the ratio add up to the same work as one bomb.
    packed = max(sum(info.compress_size for info in infos), 1)
    if total >= limits.zip_ratio_min_bytes and total > limits.max_archive_ratio * packed:
        return UploadError(UploadReason.ZIP_RATIO, ratio=total // packed, limit=int(limits.max_archive_ratio))
    return None


def _unsafe_member_path(name: str) -> bool:
    parts = re.split(r"[/\\]", name)
    return name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) is not None or ".." in parts


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author wrote it.

    Without the UTF-8 flag zipfile reads names as cp437, but Russian Windows archivers write cp866 and some
    tools write UTF-8 without setting the flag.
    """
    name = info.filename
    if info.flag_bits & 0x800 or name.isascii():
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    for codec in ("utf-8", "cp866"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return name


def extract_zip(
    source: str, data: bytes, limits: Limits, extract_member: MemberExtractor
) -> Iterator[RawItem | ExtractFailure]:
    """The items of every member, each read by `extract_member` (the dispatcher: a member may be any
    format but another archive)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS:
        yield ExtractFailure(source, UploadError(UploadReason.ZIP_DAMAGED))
        return
    with archive:
        yield from _extract_members(source, archive, limits, extract_member)


def _extract_members(
    source: str, archive: zipfile.ZipFile, limits: Limits, extract_member: MemberExtractor
) -> Iterator[RawItem | ExtractFailure]:
    infos = archive.infolist()
    # The whole archive is judged before anything in it is used: a refused archive yields nothing else.
    for info in infos:
        if not info.filename:  # zipfile cuts names at a NUL byte, so a damaged name can come out empty
            yield ExtractFailure(source, UploadError(UploadReason.ZIP_DAMAGED))
            return
        if _unsafe_member_path(info.filename):
            yield ExtractFailure(source, UploadError(UploadReason.ZIP_UNSAFE_PATH, path=info.filename))
            return
    bomb = zip_bomb(infos, limits)
    if bomb is not None:
        yield ExtractFailure(source, bomb)
        return
    members = [
        info
        for info in infos
        if not info.is_dir() and not any(is_skipped_name(part) for part in info.filename.split("/"))
    ]
    if not members:
        yield ExtractFailure(source, UploadError(UploadReason.ZIP_EMPTY))
        return
    budget = limits.max_zip_unpacked_bytes
    for info in sorted(members, key=lambda info: info.filename):
        name = _member_name(info)
        member_source = f"{source}:{name}"
        problem = name_problem(name)
        if problem is None and extension(name) == ".zip":
            problem = UploadError(UploadReason.ZIP_NESTED)
        elif problem is None and info.flag_bits & 0x1:
            problem = UploadError(UploadReason.ZIP_MEMBER_ENCRYPTED)
        elif problem is None and info.compress_type not in _ZIP_METHODS:
            problem = UploadError(UploadReason.ZIP_MEMBER_METHOD)
        elif problem is None and info.file_size > limits.max_file_bytes:
            problem = UploadError(UploadReason.FILE_TOO_BIG, size=info.file_size, limit=limits.max_file_bytes)
        if problem is not None:
            yield ExtractFailure(member_source, problem)
            continue
        try:
            content = _read_member(archive, info, min(limits.max_file_bytes, budget))
        except ZIP_ERRORS:
            yield ExtractFailure(member_source, UploadError(UploadReason.ZIP_MEMBER_DAMAGED))
            continue
        if content is None:
            if budget < limits.max_file_bytes:
                yield ExtractFailure(
                    source, UploadError(UploadReason.ZIP_OVER_BUDGET, limit=limits.max_zip_unpacked_bytes)
                )
                return
            too_big = UploadError(UploadReason.ZIP_MEMBER_TOO_BIG, limit=limits.max_file_bytes)
            yield ExtractFailure(member_source, too_big)
            continue
        budget -= len(content)
        yield from extract_member(member_source, name, content)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes | None:
    """The member's bytes, or None when they run past `cap`.

    Counted while inflating rather than trusting the sizes the archive declares, which are whatever its
    author wrote.
    """
    chunks: list[bytes] = []
    size = 0
    with archive.open(info) as member:
        while chunk := member.read(_READ_CHUNK):
            size += len(chunk)
            if size > cap:
                return None
            chunks.append(chunk)
    return b"".join(chunks)
