"""Why the program cannot start, in one line for the operator: which setting, and what to do about it.

The traceback stays in the log at DEBUG; the operator gets the line and a non-zero exit code.
"""

from __future__ import annotations

from storage.db import DatabaseUnusable, Unusable

ELSEWHERE = "or point DATABASE_PATH (or --db) to another file"
_DATABASE_ADVICE = {
    Unusable.CANNOT_OPEN: ("cannot be opened or created", "use a file path in a folder this user can write"),
    Unusable.DAMAGED: ("is not an SQLite database or is damaged", f"restore it from a backup, {ELSEWHERE}"),
    Unusable.NOT_OURS: ("belongs to another program", f"check the path, {ELSEWHERE}"),
    Unusable.READ_ONLY: ("is read-only", f"make the file and its folder writable, {ELSEWHERE}"),
    Unusable.TOO_NEW: ("was written by a newer version of this bot", "upgrade the program, or use a backup"),
    Unusable.FAILED: ("cannot be used", f"check the disk, {ELSEWHERE}"),
}


class StartupFailure(Exception):
    """The program cannot start; the message is the one line to show, `exit_code` the status to exit with
    (2 for a missing or wrong setting, as for a setting that does not validate; 1 for the rest)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


_POSTGRES_ADVICE = {
    Unusable.CANNOT_OPEN: (
        "cannot be reached",
        "check that the server runs and the user, password, host and database",
    ),
    Unusable.NOT_OURS: ("holds tables of another program", "give the bot an empty database of its own"),
    Unusable.TOO_NEW: ("was written by a newer version of this bot", "upgrade the program, or use a backup"),
}


def database_failure(exc: DatabaseUnusable) -> StartupFailure:
    if str(exc.path).startswith(("postgresql://", "postgres://")):
        what, fix = _POSTGRES_ADVICE.get(exc.reason, ("cannot be used", "see the server's log"))
        return StartupFailure(f"DATABASE_URL {exc.path} {what} ({exc.detail}): {fix}.")
    what, fix = _DATABASE_ADVICE[exc.reason]
    return StartupFailure(f"DATABASE_PATH {exc.path} {what} ({exc.detail}): {fix}.")
