"""What is particular to the SQLite backend: its file, its migrations, its query syntax, its hops."""

from __future__ import annotations

import inspect
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from storage import interfaces
from storage.backend import sqlite_backend, sqlite_path
from storage.db import Database
from storage.documents import compile_match
from storage.migrations import MIGRATIONS
from storage.models import Alternatives, Frequency, Kind, NewSubscription, TermQuery
from tests.storage.conftest import new_document


async def test_migrations_from_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    path.write_bytes(b"")
    async with Database(path) as db:
        assert await db.schema_version() == len(MIGRATIONS)
        assert await db.scalar("PRAGMA journal_mode") == "wal"
        assert await db.scalar("PRAGMA foreign_keys") == 1
        assert await db.int_scalar("PRAGMA busy_timeout") >= 1000


@pytest.mark.parametrize("previous", range(1, len(MIGRATIONS) + 1))
async def test_migrations_from_each_previous_version_keep_data(tmp_path: Path, previous: int) -> None:
    path = tmp_path / "old.db"
    async with Database(path, migrations=MIGRATIONS[:previous]) as old:
        await old.conn.execute(
            "INSERT INTO documents (title, text, lang, content_hash, created_at, updated_at) "
            "VALUES ('t', 'body', 'ru', 'h1', '2025-01-01T00:00:00', '2025-01-01T00:00:00')"
        )
    async with Database(path) as db:
        assert await db.schema_version() == len(MIGRATIONS)
        assert await db.scalar("SELECT title FROM documents WHERE content_hash = 'h1'") == "t"


async def test_failed_migration_leaves_version_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    broken = [*MIGRATIONS, "CREATE TABLE half_done (x INTEGER); SELECT no_such_function();"]
    with pytest.raises(sqlite3.OperationalError):
        async with Database(path, migrations=broken):
            pass
    async with Database(path) as db:
        assert await db.schema_version() == len(MIGRATIONS)
        assert await db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'") == 0


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    async with Database(path) as db:
        await db.conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    with pytest.raises(RuntimeError, match="newer than this program"):
        async with Database(path):
            pass


def test_match_expression_quotes_everything() -> None:
    query = TermQuery(
        required=(Alternatives(phrases=(('a"b',), ("near", "and"))),),
        excluded=(Alternatives(phrases=(("x",),), prefix=True),),
    )
    assert compile_match(query) == '(("a""b" OR "near and")) NOT (("x"*))'


async def test_document_ids_are_never_reused(tmp_path: Path) -> None:
    async with Database(tmp_path / "ids.db") as db:
        insert = (
            "INSERT INTO documents (title, text, lang, content_hash, created_at, updated_at) "
            "VALUES ('t', 'b', 'ru', ?, 'x', 'x') RETURNING id"
        )
        first = (await db.write(insert, ("h1",)))[0][0]
        await db.write("DELETE FROM documents WHERE id = ?", (first,))
        second = (await db.write(insert, ("h2",)))[0][0]
        assert second > first


async def test_saved_queries_of_before_users_are_readable_by_nobody(tmp_path: Path) -> None:
    path = tmp_path / "queries.db"
    async with Database(path, migrations=MIGRATIONS[:6]) as old:
        await old.conn.execute(
            "INSERT INTO saved_queries (id, query, created_at) VALUES (41, 'аэропорт', '2026-01-01T00:00:00')"
        )
    async with Database(path) as db:
        queries = sqlite_backend(db).queries
        assert await queries.get(41, 1) is None
        assert await queries.save(1, "аэропорт") > 41, "new ids start above the old ones"


async def test_subscriptions_per_topic_keep_their_ids_and_deliveries(tmp_path: Path) -> None:
    """The table rebuild that lets a group have a subscription per forum topic keeps every row and id, and
    the deliveries' links to them (dropping the old table would have emptied those)."""
    path = tmp_path / "topics.db"
    before = next(i for i, script in enumerate(MIGRATIONS) if "subscriptions_v14" in script)
    stamp = "2026-01-01T00:00:00+00:00"
    async with Database(path, migrations=MIGRATIONS[:before]) as old:
        await old.conn.execute(
            "INSERT INTO subscriptions (id, chat_id, kind, language, frequency, local_time, timezone, "
            "created_at, updated_at, thread_id) VALUES (17, -1001, 'channel', 'ru', 'daily', '09:00', "
            "'Asia/Almaty', ?, ?, 5)",
            (stamp, stamp),
        )
        await old.conn.execute(
            "INSERT INTO digests (id, created_at, language, cursor_from, cursor_to, stories, text) "
            "VALUES (3, ?, 'ru', 0, 1, '[]', 'x')",
            (stamp,),
        )
        await old.conn.execute(
            "INSERT INTO deliveries (id, digest_id, chat_id, subscription_id, created_at, updated_at) "
            "VALUES (8, 3, -1001, 17, ?, ?)",
            (stamp, stamp),
        )
        await old.conn.commit()
    async with Database(path) as db:
        subs = sqlite_backend(db).subscriptions
        kept = await subs.get(-1001, 5)
        assert kept is not None and kept.id == 17
        assert await db.scalar("SELECT subscription_id FROM deliveries WHERE id = 8") == 17
        other = await subs.upsert(replace_topic(kept.chat_id, 6))
        assert other.id != 17 and other.thread_id == 6
        assert await db.scalar("PRAGMA foreign_key_check") is None


def replace_topic(chat_id: int, thread_id: int) -> NewSubscription:
    return NewSubscription(
        chat_id=chat_id,
        kind=Kind.CHANNEL,
        language="ru",
        frequency=Frequency.DAILY,
        local_time="09:00",
        timezone="Asia/Almaty",
        cursor=0,
        next_due=None,
        thread_id=thread_id,
    )


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("data/alatau.db", Path("data/alatau.db")),
        ("sqlite:///data/alatau.db", Path("data/alatau.db")),
        ("sqlite:////var/lib/alatau.db", Path("/var/lib/alatau.db")),
        (":memory:", ":memory:"),
    ],
)
def test_sqlite_locations(location: str, expected: object) -> None:
    assert sqlite_path(location) == expected


def test_sqlite_paths_refuse_other_schemes() -> None:
    with pytest.raises(ValueError, match="postgresql"):
        sqlite_path("postgresql://localhost/alatau")


def _public(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def test_each_repository_offers_exactly_its_protocol(tmp_path: Path) -> None:
    """A method added to a repository but not to its Protocol would be out of reach of a typed domain (and
    of the next backend); one in the Protocol but not here would fail at run time."""
    backend = sqlite_backend(Database(tmp_path / "unused.db"))
    pairs = {
        interfaces.DocumentStore: backend.documents,
        interfaces.UserStore: backend.users,
        interfaces.QueryStore: backend.queries,
        interfaces.AuditStore: backend.audit,
        interfaces.PendingStore: backend.pending,
        interfaces.ReportStore: backend.reports,
        interfaces.SubscriptionStore: backend.subscriptions,
        interfaces.DeliveryStore: backend.deliveries,
    }
    for protocol, repo in pairs.items():
        assert _public(type(repo)) == _public(protocol), protocol.__name__


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call queued on an aiosqlite connection's thread: each is a round trip."""
    calls: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object, **kwargs: object) -> object:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls


async def test_writes_cost_one_round_trip(tmp_path: Path, hops: list[str]) -> None:
    async with Database(tmp_path / "hops.db") as db:
        backend = sqlite_backend(db)
        hops.clear()
        await backend.users.touch(1, "Имя", None)
        assert len(hops) == 1, "a one-statement write outside a transaction: no BEGIN, no COMMIT"
        hops.clear()
        await backend.documents.add(new_document(1, words=("слово",), story_keys=("k",)))
        assert len(hops) == 1, "a document with all its index rows, in one hop"
        hops.clear()
        async with db.transaction():
            await backend.documents.add(new_document(2))
            await backend.audit.record(1, "add", 2)
        assert len(hops) == 4, "BEGIN, the document, the audit entry, COMMIT"


async def test_candidate_lookups_read_a_candidates_metadata_from_its_own_index(tmp_path: Path) -> None:
    # Story and near-duplicate candidates need a stored text's story, original, date and language. In the
    # table those come after the text, which for most texts continues in overflow pages: the lookups take
    # them from `documents_meta` instead. Long texts here, so that the table's way would walk overflow.
    from dataclasses import replace
    from datetime import date

    from storage.documents import DocumentRepository, _near_candidates, _story_candidates

    async with Database(tmp_path / "meta.db") as db:
        repo = DocumentRepository(db)
        docs = [
            replace(
                new_document(i, story_keys=("алатау", "совет", f"k{i % 3}"), bands=(1, 2, i % 2)),
                text="Длинный текст. " * 600,
            )
            for i in range(6)
        ]
        docs[4] = replace(docs[4], duplicate_of=None, copy_of=1)
        ids = await repo.add_many(docs)

        def lookups(conn: sqlite3.Connection) -> tuple[list[str], list[object], list[object]]:
            statements: list[str] = []
            conn.set_trace_callback(statements.append)
            try:
                near = _near_candidates(conn, (1, 2, 0), 50)
                window = (date(2026, 1, 1), date(2026, 1, 20))
                story = _story_candidates(conn, ("алатау", "совет", "k1"), *window, 10, 25, 2, False)
            finally:
                conn.set_trace_callback(None)
            plans = [
                " | ".join(str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
                for sql in statements
                if sql.startswith("SELECT")
            ]
            return plans, list(near), list(story)

        plans, near, story = await db.atomic(lookups)
        assert len(plans) == 2
        assert plans[0].count("COVERING INDEX documents_meta") == 2, plans[0]  # the text and its original
        assert plans[1].count("COVERING INDEX documents_meta") == 1, plans[1]
        assert not any(f"SEARCH {t} USING INTEGER PRIMARY KEY" in p for p in plans for t in "do"), plans
        assert {c.doc_id for c in near} == set(ids[:6]) - {None}
        copy = next(c for c in near if c.doc_id == ids[4])
        assert (copy.original_id, copy.original_story_id) == (ids[1], ids[1])
        # All share two keys and texts 1 and 4 a third («k1»): more shared keys first, then the newest.
        stored = [i for i in ids if i is not None]
        order = sorted(stored, key=lambda i: (-(3 if stored.index(i) % 3 == 1 else 2), -i))
        assert [(r.doc_id, r.shared, r.published, r.lang) for r in story] == [
            (i, 3 if stored.index(i) % 3 == 1 else 2, date(2026, 1, 10), "ru") for i in order
        ]
