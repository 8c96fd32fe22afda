"""All SQL lives here: the database, its migrations and the repositories. Nothing here knows aiogram."""

from storage.db import Database

__all__ = ["Database"]
