"""All SQL lives here: the database and its transactions, migrations, the data models, the repository
Protocols (`storage.interfaces`) and their SQLite implementation. Nothing here knows the bot or aiogram."""

from storage.db import Database

__all__ = ["Database"]
