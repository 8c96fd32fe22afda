"""The people who talk to the bot: who has been seen, and which interface language each chose."""

from __future__ import annotations

import logging

from storage.db import StorageWriteError
from storage.interfaces import UserStore

log = logging.getLogger(__name__)


class UserService:
    """Registers a person on first contact and remembers their /lang choice.

    The choices are cached for the life of the process: the language is needed on every update, and only
    this service changes it, so after a person's first update no update costs a query for it.
    """

    def __init__(self, repo: UserStore) -> None:
        self.repo = repo
        self._seen: set[int] = set()  # registered, or found registered, since start-up
        self._languages: dict[int, str | None] = {}  # user id → stored choice (None: never chose)

    async def seen(self, user_id: int, first_name: str | None, username: str | None) -> None:
        """Someone sent the bot an update: on their first one since start-up, register them if new."""
        if user_id in self._seen:
            return
        stored = await self.repo.get(user_id)
        if stored is None:
            try:
                await self.repo.touch(user_id, first_name, username)
            except StorageWriteError as exc:
                # A full disk must not keep a new reader from reading: registered on a later update.
                log.warning("could not register user %s (%s)", user_id, exc.reason)
                return
        self._seen.add(user_id)
        self._languages[user_id] = stored.language if stored else None

    async def language(self, user_id: int) -> str | None:
        """The interface language the person chose with /lang, if any."""
        if user_id not in self._languages:
            stored = await self.repo.get(user_id)
            self._languages[user_id] = stored.language if stored else None
        return self._languages[user_id]

    async def set_language(self, user_id: int, code: str) -> None:
        await self.repo.set_language(user_id, code)
        self._languages[user_id] = code
