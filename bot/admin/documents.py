"""Managing the stored texts: the admins' list (hidden ones included), hide and show, delete with undo,
and edits of the title, date and source. Every change is written to the audit log here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.admin.audit import AuditAction, AuditLog
from bot.admin.fields import clean_title, parse_day, parse_source
from bot.clock import Clock
from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.ingest import Corpus
from bot.search import SearchService
from bot.text.morph import iter_tokens
from bot.text.stories import features
from bot.text.summarize import summarize
from storage.interfaces import AuditStore, DocumentStore, QueryStore, Transactions
from storage.models import Document, RestoreConflict

# The list of hidden documents searched by /docs (they are not in the full-text index).
HIDDEN_SCAN = 2000
# /docs with a query shows at most this many matches, newest first.
MAX_MATCHES = 100


@dataclass(frozen=True)
class DocPage:
    documents: tuple[Document, ...]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class DocCard:
    """What an admin's card of a text shows."""

    document: Document
    summary: tuple[str, ...]
    story_size: int
    # The stored text this one nearly repeats (a republication), when it is still there.
    near_duplicate_of: Document | None = None


class DocumentService:
    def __init__(
        self,
        db: Transactions,
        corpus: Corpus,
        repo: DocumentStore,
        search: SearchService,
        audit: AuditLog,
        bin: AuditStore,
        queries: QueryStore,
        undo_minutes: int,
        clock: Clock,
    ) -> None:
        self.db = db
        self.corpus = corpus
        self.repo = repo
        self.search = search
        self.audit = audit
        self.bin = bin
        self.queries = queries
        self.undo_window = timedelta(minutes=undo_minutes)
        self.clock = clock

    async def document(self, doc_id: int) -> Document | None:
        return await self.repo.get(doc_id)

    async def card(self, doc_id: int) -> DocCard | None:
        doc = await self.repo.get(doc_id)
        if doc is None:
            return None
        original = await self.repo.get(doc.duplicate_of) if doc.duplicate_of is not None else None
        return DocCard(doc, tuple(self.summary(doc)), await self.story_size(doc), original)

    async def remember_query(self, admin_id: int, query: str) -> int:
        """A short reference to a /docs query, for the page buttons (callback data is too small for it)."""
        return await self.queries.save(admin_id, query)

    async def recall_query(self, admin_id: int, ref: int) -> str | None:
        return await self.queries.get(ref, admin_id)

    async def documents(self, query: str, page: int, size: int) -> DocPage:
        """The corpus newest first, hidden texts included; with a query, only the texts that match it."""
        page = max(0, page)
        if not query.strip():
            total = await self.repo.count(include_hidden=True)
            docs = await self.repo.latest(limit=size, offset=page * size, include_hidden=True)
        else:
            found = await self._matching(query)
            total = len(found)
            docs = found[page * size : (page + 1) * size]
        return DocPage(tuple(docs), page, max(1, -(-total // size)), total)

    async def _matching(self, query: str) -> list[Document]:
        found: dict[int, Document] = {}
        offset = 0
        while offset < MAX_MATCHES:
            result = await self.search.search(query, limit=50, offset=offset)
            # Closest matches are a reader's consolation; a filter must not pretend they match.
            if result.partial or result.problem is not None:
                break
            found.update((h.document.id, h.document) for h in result.hits)
            if not result.has_next:
                break
            offset += 50
        # Hidden texts are out of the search index; admins still need to find them to show them again.
        # There are few, so they are matched here, by the same terms the index would hold.
        morph = self.corpus.morph
        words = [(tok, morph.query_terms(tok)) for _, _, tok, _ in iter_tokens(query)]
        if words:
            for doc in await self.repo.hidden(HIDDEN_SCAN):
                content = f"{doc.title}\n{doc.text}"
                terms = set(morph.terms_of(content))
                lowered = content.casefold()
                if all(alternatives & terms or word in lowered for word, alternatives in words):
                    found[doc.id] = doc
        ordered = sorted(found.values(), key=lambda d: (d.published or date.min, d.id), reverse=True)
        return ordered[:MAX_MATCHES]

    async def set_hidden(self, admin_id: int, doc_id: int, hidden: bool) -> Document | None:
        """Hidden texts leave search, digests and inline results; showing one indexes it again."""
        doc = await self.repo.get(doc_id)
        if doc is None:
            return None
        title_terms = body_terms = ""
        if not hidden:
            feats = features(doc.text, doc.title, self.corpus.morph)
            title_terms, body_terms = " ".join(feats.title_terms), " ".join(feats.terms)
        changed = await self.repo.set_hidden(doc_id, hidden, title_terms, body_terms)
        # Searches remembered before this must not show a hidden text (nor miss a shown one).
        self.corpus.changed()
        if changed:
            action = AuditAction.HIDE if hidden else AuditAction.SHOW
            await self.audit.record(admin_id, action, doc_id, doc.title)
            if not hidden:
                self.corpus.indexed([*feats.terms, *feats.title_terms], feats.words)
        return await self.repo.get(doc_id)

    async def delete(self, admin_id: int, doc_id: int) -> Document | None:
        """Delete a text, keeping it in the bin for `undo_minutes`. Returns what was deleted."""
        await self.bin.purge_bin(self.undo_window)
        try:
            async with self.db.transaction():
                doc = await self.repo.move_to_bin(doc_id, admin_id)
                if doc is not None:
                    await self.audit.record(admin_id, AuditAction.DELETE, doc_id, doc.title)
        finally:
            self.corpus.changed()
        return doc

    async def undo_delete(self, admin_id: int, doc_id: int) -> Document:
        """Bring a deleted text back. Raises UploadError when it is too late or the text was added again."""
        since = self.clock.now() - self.undo_window
        try:
            async with self.db.transaction():
                new_id = await self.repo.restore_from_bin(doc_id, since)
                # Read inside the transaction: the restored row is visible there already.
                doc = await self.repo.get(new_id) if new_id is not None else None
                if doc is not None:
                    await self.audit.record(admin_id, AuditAction.RESTORE, doc.id, doc.title)
        except RestoreConflict as exc:
            raise UploadError(UploadReason.DUPLICATE, doc_id=exc.existing_id) from None
        finally:
            self.corpus.changed()
        if doc is None:
            raise UploadError(UploadReason.UNDO_EXPIRED)
        if not doc.hidden:
            feats = features(doc.text, doc.title, self.corpus.morph)
            self.corpus.indexed([*feats.terms, *feats.title_terms], feats.words)
        return doc

    async def last_deleted(self, admin_id: int) -> Document | None:
        """What `admin_id` deleted last, while it can still be restored: the lists offer it back."""
        return await self.repo.last_in_bin(admin_id, self.clock.now() - self.undo_window)

    async def undo_last(self, admin_id: int) -> Document | None:
        """/undo: restore the admin's last deletion; None when there is nothing to restore any more."""
        deleted = await self.last_deleted(admin_id)
        return None if deleted is None else await self.undo_delete(admin_id, deleted.id)

    async def edit_title(self, admin_id: int, doc_id: int, value: str) -> Document | None:
        title = clean_title(value)
        doc = await self.repo.get(doc_id)
        if doc is None:
            return None
        feats = features("", title, self.corpus.morph)
        await self.repo.update_meta(doc_id, title=title, title_terms=" ".join(feats.title_terms))
        self.corpus.changed()
        self.corpus.indexed(feats.title_terms, feats.words)
        await self.audit.record(admin_id, AuditAction.EDIT_TITLE, doc_id, f"{doc.title} → {title}")
        return await self.repo.get(doc_id)

    async def edit_date(self, admin_id: int, doc_id: int, value: str) -> Document | None:
        day = parse_day(value)
        doc = await self.repo.get(doc_id)
        if doc is None:
            return None
        await self.repo.update_meta(doc_id, published=day)
        self.corpus.changed()
        old = doc.published.isoformat() if doc.published else "—"
        await self.audit.record(admin_id, AuditAction.EDIT_DATE, doc_id, f"{old} → {day.isoformat()}")
        return await self.repo.get(doc_id)

    async def edit_source(self, admin_id: int, doc_id: int, value: str) -> Document | None:
        """`value` is an outlet's name, a link, or both ("Kursiv https://kursiv.media/…")."""
        name, url = parse_source(value)
        doc = await self.repo.get(doc_id)
        if doc is None:
            return None
        await self.repo.update_meta(doc_id, source_name=name, url=url)
        self.corpus.changed()
        details = " ".join(p for p in (name, url) if p)
        await self.audit.record(admin_id, AuditAction.EDIT_SOURCE, doc_id, details)
        return await self.repo.get(doc_id)

    async def story_size(self, doc: Document) -> int:
        return len(await self.repo.story_members(doc.story_id or doc.id))

    def summary(self, doc: Document, sentences: int = 3) -> list[str]:
        return summarize(doc.text, title=doc.title, sentences=sentences, morph=self.corpus.morph)
