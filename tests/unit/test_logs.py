"""LOG_FORMAT=json: one JSON object per line, with the traceback and `extra=` fields, and no secret in it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.app.logs import JsonFormatter, make_handler
from bot.app.redaction import MASK, Redactor, install_redaction
from bot.app.settings import LogFormat

TOKEN = "7301234567:AAE-secret_secret-secret_secret-secret1"
SECRET_PART = TOKEN.split(":")[1]
WEBHOOK_SECRET = "hook-Secret_value_9"


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing JSON to a buffer, with the record redaction installed as the CLI does."""
    undo = install_redaction([TOKEN, WEBHOOK_SECRET])
    stream = io.StringIO()
    handler = make_handler(LogFormat.JSON, [TOKEN, WEBHOOK_SECRET])
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logger = logging.getLogger("tests.logs.json")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        undo()


def entries(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_object(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_log
    logger.info("started: %d documents", 12)
    logger.warning("a line\nwith a newline «и кириллица»", extra={"chat_id": 5, "when": object()})
    first, second = entries(stream)
    assert first["message"] == "started: 12 documents"
    assert first["level"] == "INFO" and first["logger"] == "tests.logs.json"
    assert str(first["time"]).endswith("+00:00")
    assert second["message"] == "a line\nwith a newline «и кириллица»"
    assert second["chat_id"] == 5
    assert isinstance(second["when"], str)  # whatever JSON cannot hold becomes its str()
    assert len(stream.getvalue().splitlines()) == 2


def test_json_lines_are_redacted_message_traceback_and_extra(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_log
    logger.info("GET https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"no such route /bot{TOKEN}/deleteWebhook")
    except RuntimeError:
        logger.exception("start-up failed")
    logger.info(
        "request", extra={"url": f"https://api.telegram.org/file/bot{TOKEN}/x", "secret": WEBHOOK_SECRET}
    )
    raw = stream.getvalue()
    assert SECRET_PART not in raw
    assert WEBHOOK_SECRET not in raw
    first, failure, extra = entries(stream)
    assert first["message"] == f"GET https://api.telegram.org/bot{MASK}/getMe"
    assert "RuntimeError" in str(failure["exc"]) and MASK in str(failure["exc"])
    assert extra["url"] == f"https://api.telegram.org/file/bot{MASK}/x"
    assert extra["secret"] == MASK


def test_the_formatter_alone_redacts_a_token_nobody_named() -> None:
    # Without the record factory (a library's own logger configured before ours): the line is still clean.
    record = logging.makeLogRecord({"msg": "bot%s", "args": ("555666777:" + "Z" * 35,), "levelno": 20})
    line = JsonFormatter(Redactor()).format(record)
    assert "Z" * 35 not in line
    assert json.loads(line)["message"] == f"bot{MASK}"


def test_text_format_stays_the_default() -> None:
    handler = make_handler(LogFormat.TEXT, [])
    record = logging.makeLogRecord({"msg": "hello", "levelname": "INFO", "name": "x"})
    assert handler.format(record).endswith("INFO x: hello")
