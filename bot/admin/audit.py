"""The audit log: what each admin did, as an action with its parameters (never a sentence).

The handlers translate an action when /log shows it, so the log reads in the admin's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.interfaces import AuditStore, UserStore
from storage.models import AuditEntry


class AuditAction(StrEnum):
    """Everything the audit log records; the values are what the database holds."""

    ADD = "add"
    EDIT_TITLE = "edit_title"
    EDIT_DATE = "edit_date"
    EDIT_SOURCE = "edit_source"
    HIDE = "hide"
    SHOW = "show"
    DELETE = "delete"
    RESTORE = "restore"
    CHANNEL_ADD = "channel_add"
    CHANNEL_REMOVE = "channel_remove"
    DIGEST_RESEND = "digest_resend"  # deliveries of unknown outcome sent again; details: how many
    # sources (feeds and channels); details: "#id address", and the new filter for SOURCE_FILTER
    SOURCE_ADD = "source_add"
    SOURCE_FILTER = "source_filter"
    SOURCE_PAUSE = "source_pause"
    SOURCE_RESUME = "source_resume"
    SOURCE_REMOVE = "source_remove"


@dataclass(frozen=True)
class LogEntry:
    """An entry with its action typed; `action` is None for one this version does not know (an older or
    newer program wrote it), shown as it was stored (`entry.action`)."""

    entry: AuditEntry
    action: AuditAction | None
    admin_name: str | None


@dataclass(frozen=True)
class AuditPage:
    entries: tuple[LogEntry, ...]
    page: int
    pages: int


def _action(value: str) -> AuditAction | None:
    try:
        return AuditAction(value)
    except ValueError:
        return None


class AuditLog:
    def __init__(self, repo: AuditStore, users: UserStore) -> None:
        self.repo = repo
        self.users = users

    async def record(
        self,
        admin_id: int,
        action: AuditAction,
        doc_id: int | None = None,
        details: str = "",
    ) -> None:
        """`details` are the action's parameters (a title, "old → new"), not words about it; inside a
        transaction the entry is written with the change it records."""
        await self.repo.record(admin_id, action.value, doc_id, details)

    async def page(self, page: int, size: int) -> AuditPage:
        page = max(0, page)
        total = await self.repo.count()
        entries = await self.repo.recent(limit=size, offset=page * size)
        names: dict[int, str] = {}
        for admin_id in {e.admin_id for e in entries}:
            user = await self.users.get(admin_id)
            if user is not None and (user.first_name or user.username):
                names[admin_id] = user.first_name or f"@{user.username}"
        logged = tuple(LogEntry(e, _action(e.action), names.get(e.admin_id)) for e in entries)
        return AuditPage(logged, page, max(1, -(-total // size)))

    async def count(self) -> int:
        return await self.repo.count()

    async def recent(self, limit: int = 20) -> list[AuditEntry]:
        return await self.repo.recent(limit=limit)
