"""Where log lines go and how they look: LOG_FORMAT=text (people) or json (one object per line, for log
collectors). Secrets are redacted either way: the record factory of bot/app/redaction.py cleans every
record as it is made, and the JSON formatter redacts its finished line once more, so that fields a
caller passed with `extra=` cannot carry the token out either."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from bot.app.redaction import Redactor
from bot.app.settings import LogFormat

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What every LogRecord has; anything else on a record came with `extra=` and goes into the JSON too.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the traceback as `exc`,
    and any `extra=` fields."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        # Secrets are made of characters JSON never escapes, so they are found in the line as they are.
        return self.redactor.redact(json.dumps(entry, ensure_ascii=False, default=str))


def make_handler(
    log_format: LogFormat, secrets: Iterable[str], log_file: Path | None = None
) -> logging.Handler:
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler(sys.stderr)
    )
    if log_format is LogFormat.JSON:
        handler.setFormatter(JsonFormatter(Redactor(secrets)))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(
    level: str, log_format: LogFormat, secrets: Iterable[str], log_file: Path | None = None
) -> None:
    """The root logger's one handler (stderr, or `log_file`), at `level`, in `log_format`."""
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=level, handlers=[make_handler(log_format, secrets, log_file)])
    logging.getLogger("pymorphy3").setLevel(logging.WARNING)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
