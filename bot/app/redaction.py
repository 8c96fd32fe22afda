"""The bot token never reaches a log line, an exception text or a traceback.

It travels in every Bot API URL (`/bot<TOKEN>/method`, `/file/bot<TOKEN>/path`), so any error that quotes
a URL, or a server that echoes the path back, would carry it into the log. Two guards:
- `Redactor` as a log filter, installed through the record factory so that it sees every record of every
  logger whatever handlers come and go (pytest's, aiogram's); it redacts the message, its arguments and
  the formatted traceback;
- `RedactingSession` (bot/app/session.py), aiogram's session that rewrites the exceptions it raises, so
  that code which shows `str(exc)` anywhere (a reply to an admin, a start-up failure) shows none either.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

MASK = "<redacted>"
# Any Telegram bot token, known or not: digits, a colon (maybe URL-encoded), 30+ URL-safe characters.
TOKEN_PATTERN = re.compile(r"\d{3,}(?::|%3A)[A-Za-z0-9_-]{30,}", re.IGNORECASE)


class Redactor(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so that a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK).replace(secret.replace(":", "%3A"), MASK)
        return TOKEN_PATTERN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging reports it itself; leave the record be
            return True
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_redaction(secrets: Iterable[str]) -> Callable[[], None]:
    """Redacts `secrets` (and anything shaped like a bot token) from every log record and from uncaught
    tracebacks, from now on. Returns the function that undoes it (for tests)."""
    redactor = Redactor(secrets)
    previous_factory = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous_factory(*args, **kwargs)
        redactor.filter(record)
        return record

    previous_hook = sys.excepthook
    previous_thread_hook = threading.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        import traceback

        sys.stderr.write(redactor.redact("".join(traceback.format_exception(kind, exc, tb))))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            hook(args.exc_type, args.exc_value, args.exc_traceback)

    logging.setLogRecordFactory(factory)
    sys.excepthook = hook
    threading.excepthook = thread_hook

    def undo() -> None:
        logging.setLogRecordFactory(previous_factory)
        sys.excepthook = previous_hook
        threading.excepthook = previous_thread_hook

    return undo
