"""What is particular to the PostgreSQL backend: migrations under a lock, its query syntax, and search that
gives what SQLite's FTS5 gives (same tokens, same matches, same BM25 order)."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import asyncpg
import pytest

from bot.app.container import Services
from bot.app.failures import database_failure
from bot.app.settings import Settings, SettingsError, load_settings
from storage import interfaces
from storage.backend import Backend, is_postgres, open_backend, postgres_backend
from storage.db import Database, DatabaseUnusable, Unusable
from storage.models import Alternatives, TermQuery
from storage.postgres.db import PostgresDatabase, redact
from storage.postgres.fulltext import compile_query, index_row, tokens
from storage.postgres.migrations import MIGRATIONS
from storage.postgres.scratch import scratch_schema
from tests.storage.conftest import new_document


async def test_concurrent_starts_migrate_once(postgres_url: str) -> None:
    databases = [PostgresDatabase(postgres_url) for _ in range(4)]
    await asyncio.gather(*(db.connect() for db in databases))
    try:
        for db in databases:
            assert await db.schema_version() == len(MIGRATIONS)
        rows = await databases[0].fetch("SELECT version FROM schema_version ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
    finally:
        await asyncio.gather(*(db.close() for db in databases))


async def test_a_failed_migration_leaves_version_and_schema(postgres_url: str) -> None:
    broken = [*MIGRATIONS, "CREATE TABLE half_done (x INTEGER); SELECT no_such_function();"]
    with pytest.raises(asyncpg.UndefinedFunctionError):
        async with PostgresDatabase(postgres_url, migrations=broken):
            pass
    async with PostgresDatabase(postgres_url) as db:
        assert await db.schema_version() == len(MIGRATIONS)
        assert await db.fetchval("SELECT to_regclass('half_done')") is None


async def test_newer_and_foreign_databases_are_refused(postgres_url: str, postgres_database: str) -> None:
    async with PostgresDatabase(postgres_url) as db:
        await db.execute("INSERT INTO schema_version (version) VALUES ($1)", len(MIGRATIONS) + 5)
    with pytest.raises(DatabaseUnusable) as refused:
        async with PostgresDatabase(postgres_url):
            pass
    assert refused.value.reason is Unusable.TOO_NEW
    async with scratch_schema(postgres_database) as other:
        conn = await asyncpg.connect(other)
        await conn.execute("CREATE TABLE invoices (id INTEGER)")
        await conn.close()
        with pytest.raises(DatabaseUnusable) as refused:
            async with PostgresDatabase(other):
                pass
        assert refused.value.reason is Unusable.NOT_OURS


async def test_an_unreachable_server_is_unusable_without_its_password_in_the_message() -> None:
    url = "postgresql://bot:secret@127.0.0.1:1/alatau"
    with pytest.raises(DatabaseUnusable) as refused:
        await open_backend(url)
    assert refused.value.reason is Unusable.CANNOT_OPEN
    assert "secret" not in str(refused.value)
    line = str(database_failure(refused.value))
    assert line.startswith("DATABASE_URL postgresql://bot@127.0.0.1:1/alatau cannot be reached"), line
    assert redact(url) == "postgresql://bot@127.0.0.1:1/alatau"


def test_locations() -> None:
    assert is_postgres("postgresql://u@h/db") and is_postgres("postgres://u@h/db")
    assert not is_postgres("sqlite:///data/a.db") and not is_postgres(Path("data/postgresql.db"))


def _public(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def test_each_repository_offers_its_protocol() -> None:
    backend = postgres_backend(PostgresDatabase("postgresql://unused@127.0.0.1/unused"))
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
        assert _public(protocol) <= _public(type(repo)), protocol.__name__


def test_query_text_is_never_syntax() -> None:
    query = TermQuery(
        required=(
            Alternatives(phrases=(("a'b",), ("x", "y")), prefix=True),
            Alternatives(phrases=(("c\\d",),)),
        ),
        excluded=(Alternatives(phrases=(("&!|",), ("e",))),),
    )
    compiled = compile_query(query)
    assert compiled is not None
    # As FTS5 reads a quoted string: the tokens of a term are a phrase, punctuation is no operator.
    assert compiled.tsquery == "((('a' <-> 'b':*) | ('x' <-> 'y':*)) & (('c' <-> 'd'))) & !('e')"
    assert compile_query(TermQuery(required=(Alternatives(phrases=(("!!",),)),))) is None
    any_of = TermQuery(
        required=(Alternatives(phrases=(("!!",),)), Alternatives(phrases=(("z",),))), any_of=True
    )
    assert compile_query(any_of) is not None


def test_index_rows_weight_the_title_and_keep_phrases_within_a_column() -> None:
    row = index_row("Аэропорт Алма-Ата", "аэропорт новый")
    assert row.tsv == "'аэропорт':1A,5 'алма':2A 'ата':3A 'новый':6"
    assert row.length == 5 and row.terms == ("алма", "ата", "аэропорт", "новый")
    assert row.tf == {"аэропорт": 5.0, "алма": 4.0, "ата": 4.0, "новый": 1.0}


async def _fts5_tokens(text: str, tmp_path: Path) -> list[str]:
    async with Database(tmp_path / "tok.db") as db:
        await db.execute("INSERT INTO doc_fts (rowid, title, body) VALUES (1, ?, '')", (text,))
        rows = await db.fetchall("SELECT term FROM doc_fts_vocab")
        return sorted(r[0] for r in rows)


async def test_tokens_are_fts5_tokens(tmp_path: Path) -> None:
    text = "Қазақстан ÖSKEMEN t1 n-2 İstanbul o'clock ½ x² 3.14 _a_ ЁЛКА ǅemal ﬁle Straße ΣΑΣ"
    assert sorted(set(tokens(text))) == await _fts5_tokens(text, tmp_path)


# -- the same search on both backends ---------------------------------------------------------------------

_CORPUS = [
    ("аэропорт алматы", "новый терминал аэропорт открыть рейс"),
    ("бюджет города", "аэропорт упомянуть бюджет бюджет расход"),
    ("погода", "снег мороз алматы"),
    ("рейс отменить", "аэропорт снег рейс отменить задержка рейс"),
    ("терминал", "новый терминал строить аэропорт аэропорт аэропорт"),
    ("алматы метро", "метро станция открыть алматы новый"),
    ("снегопад", "снег снег снег город транспорт"),
    ("экономика", "бюджет рост экономика инфляция"),
]


def _q(*words: str, prefix: bool = False, any_of: bool = False, excluded: tuple[str, ...] = ()) -> TermQuery:
    return TermQuery(
        required=tuple(Alternatives(phrases=((w,),), prefix=prefix) for w in words),
        excluded=tuple(Alternatives(phrases=((w,),)) for w in excluded),
        any_of=any_of,
    )


_QUERIES = [
    _q("аэропорт"),
    _q("снег"),
    _q("аэропорт", "рейс"),
    _q("аэропорт", "снег", "бюджет", any_of=True),
    _q("аэропорт", excluded=("бюджет",)),
    _q("алм", prefix=True),
    _q("ново", "терм", prefix=True),
    TermQuery(required=(Alternatives(phrases=(("новый", "терминал"), ("метро",))),)),
    TermQuery(required=(Alternatives(phrases=(("рейс",), ("снег",))),)),
    TermQuery(
        required=(Alternatives(phrases=(("рейс",), ("снег",))), Alternatives(phrases=(("аэропорт",),))),
        excluded=(Alternatives(phrases=(("бюджет",),)),),
    ),
]


async def _fill(backend: Backend) -> None:
    for n, (title, body) in enumerate(_CORPUS, start=1):
        await backend.documents.add(new_document(n, title_terms=title, body_terms=body))


async def test_search_gives_what_sqlite_gives(postgres_url: str, tmp_path: Path) -> None:
    lite = await open_backend(f"sqlite:///{tmp_path / 'same.db'}")
    pg = await open_backend(postgres_url)
    try:
        await _fill(lite)
        await _fill(pg)
        for query in _QUERIES:
            expected = await lite.documents.search_documents(query, limit=20)
            found = await pg.documents.search_documents(query, limit=20)
            assert [d.id for d, _ in found] == [d.id for d, _ in expected], query
            for (_, a), (_, b) in zip(found, expected, strict=True):
                assert a == pytest.approx(b, rel=1e-6), query
            assert await pg.documents.ranked_ids(query, 3) == [
                (d.id, pytest.approx(s, rel=1e-6), d.lang) for d, s in expected[:3]
            ]
            assert await pg.documents.count_matches(query, 100) == await lite.documents.count_matches(
                query, 100
            )
            # The bounded ranking: the same window, the same order, the same scores and counts.
            for window, order in ((0, False), (2, False), (3, False), (100, False), (2, True)):
                mine = await pg.documents.ranked(query, 3, window=window, by_recency=order)
                theirs = await lite.documents.ranked(query, 3, window=window, by_recency=order)
                assert (mine.matched, mine.bounded) == (theirs.matched, theirs.bounded), (query, window)
                assert mine.rows == [(i, pytest.approx(s, rel=1e-6), g) for i, s, g in theirs.rows], query
            for order in ({"by_recency": True}, {"by_date": True}):
                newest = await pg.documents.search_documents(query, 3, offset=1, **order)
                expected_newest = await lite.documents.search_documents(query, 3, offset=1, **order)
                assert [d.id for d, _ in newest] == [d.id for d, _ in expected_newest], (query, order)
        assert await pg.documents.term_frequencies() == await lite.documents.term_frequencies()
        for prefix in ("а", "ал", "сн", "я"):
            assert await pg.documents.prefix_freq(prefix, 3) == await lite.documents.prefix_freq(prefix, 3)
    finally:
        await lite.close()
        await pg.close()


async def test_two_processes_ingesting_batches_neither_deadlock_nor_miscount(postgres_url: str) -> None:
    """Two pools on one database (as two processes): batches touching the same terms in opposite orders."""
    first, second = await open_backend(postgres_url), await open_backend(postgres_url)

    async def batch(backend: Backend, numbers: list[int], terms: list[str]) -> None:
        async with backend.transactions.transaction():
            for n, term in zip(numbers, terms, strict=True):
                await backend.documents.add(
                    new_document(n, title_terms=term, body_terms="общий", words=(term,))
                )
                await asyncio.sleep(0.02)  # the other one gets to run in between

    try:
        await asyncio.wait_for(
            asyncio.gather(
                batch(first, [1, 2, 3], ["альфа", "бета", "гамма"]),
                batch(second, [4, 5, 6], ["гамма", "бета", "альфа"]),
            ),
            timeout=30,
        )
        frequencies = await first.documents.term_frequencies()
        assert {t: frequencies[t] for t in ("альфа", "бета", "гамма", "общий")} == {
            "альфа": 2,
            "бета": 2,
            "гамма": 2,
            "общий": 6,
        }
        assert await second.documents.indexed_count() == 6
        assert dict(await second.documents.vocabulary()) == {"альфа": 2, "бета": 2, "гамма": 2}
    finally:
        await first.close()
        await second.close()


async def test_the_bot_runs_on_the_database_of_database_url(postgres_url: str, tmp_path: Path) -> None:
    """The container opens PostgreSQL from DATABASE_URL (DATABASE_PATH unused), and the corpus and search
    work on it as on SQLite: the same sample texts give the same results."""
    results = []
    for url in (postgres_url, None):
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_path=tmp_path / "unused.db", database_url=url, load_sample_corpus=True
        )
        services = await Services.open(settings)
        try:
            assert isinstance(services.backend.database, PostgresDatabase if url else Database)
            assert (tmp_path / "unused.db").exists() == (url is None), (
                "DATABASE_PATH only without DATABASE_URL"
            )
            found = await services.search.search("Алатау", limit=5)
            assert found.hits
            results.append([(h.document.title, round(h.score, 6)) for h in found.hits])
        finally:
            await services.close()
    assert results[0] == results[1]
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(_env_file=None, database_url="mysql://localhost/alatau")
