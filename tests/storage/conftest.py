"""The storage contract: every backend runs the same tests through the `backend` fixture.

A backend is built from a location by `storage.backend.open_backend`; to run the suite against another
one (PostgreSQL), add its name to BACKENDS and how to make an empty database of it to `_location`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from storage.backend import Backend, open_backend
from storage.models import NewDocument

BACKENDS = ["sqlite"]


def _location(name: str, tmp_path: Path) -> str:
    if name == "sqlite":
        return f"sqlite:///{tmp_path / 'contract.db'}"
    raise NotImplementedError(name)


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    opened = await open_backend(_location(request.param, tmp_path))
    try:
        yield opened
    finally:
        await opened.close()


def new_document(
    n: int,
    *,
    published: date | None = date(2026, 1, 10),
    title_terms: str = "",
    body_terms: str = "",
    words: tuple[str, ...] = (),
    story_keys: tuple[str, ...] = (),
    bands: tuple[int, ...] = (),
    minhash: bytes = b"",
    fingerprint: str = "{}",
    duplicate_of: int | None = None,
    story_id: int | None = None,
    lang: str = "ru",
) -> NewDocument:
    """Document number `n`: its own text and hash; index terms as given (the domain computes them)."""
    return NewDocument(
        title=f"Заголовок {n}",
        text=f"Текст номер {n}.",
        url=f"https://example.kz/{n}",
        source_name="Пример",
        published=published,
        lang=lang,
        content_hash=f"hash-{n}",
        title_terms=title_terms or f"заголовок t{n}",
        body_terms=body_terms or f"текст номер n{n}",
        minhash=minhash or bytes([n % 256]) * 8,
        bands=bands or (n, n + 1000),
        fingerprint=fingerprint,
        words=words,
        story_keys=story_keys,
        duplicate_of=duplicate_of,
        story_id=story_id,
    )
