"""Every screen in the reader's language: the bot is driven through the emulator over every reader,
subscriber and admin screen and report kind, in Russian, Kazakh and English; every text, caption, button
label, alert and inline result it sends is collected, what we put in ourselves (the corpus, typed answers,
file names) is taken out, and what is left must be in that language's script: no Latin word in a Russian
or Kazakh screen beyond a short list (addresses, /commands, format and unit names, the brand), no Cyrillic
word in an English one beyond the examples of Russian input the bot shows on purpose.

The corpus is the Russian fixture stories (their few Latin words are corpus words too, taken out with the
rest), so a word that is the bot's own can never be mistaken for one of ours.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram.utils.i18n import I18n

from bot.admin.audit import AuditAction
from bot.app.playground import LocalBot
from bot.clock import ManualClock
from bot.corpus.errors import UploadError, UploadReason
from bot.corpus.ingest import TextInput
from bot.i18n import make_i18n
from emulator import BotAPIEmulator, EmulatedChat, EmulatedUser, StoredMessage
from handlers.errors import describe
from tests.e2e.helpers import REPLY_TIMEOUT, StartBot, button, callback_values

pytestmark = pytest.mark.timeout(240)

ADMIN_ID = 42
READER_ID = 501
MEMBER_ID = 502
STORIES = Path(__file__).resolve().parents[1] / "fixtures" / "stories"
# Monday 24 November 2025, 08:00 in Almaty (UTC+5); the reader's digest is at 09:00.
MONDAY_8AM_ALMATY = datetime(2025, 11, 24, 3, 0, tzinfo=UTC)
MONDAY_9AM_ALMATY = datetime(2025, 11, 24, 4, 0, tzinfo=UTC)

# The Russian reports (no English text among them); each outlet under a Cyrillic name.
FIXTURES = {
    "decree__alatau-times": "Алатау Таймс",
    "decree__alatau-zhanalyqtary": "Алатау Жаңалықтары",
    "decree__dala-news": "Дала Ньюс",
    "decree__zhetysu-info": "Жетысу Инфо",
    "airport__alatau-times": "Алатау Таймс",
    "airport__dala-news": "Дала Ньюс",
    "council__alatau-times": "Алатау Таймс",
    "council__qaz-region": "Каз Регион",
    "law__qaznews": "Казньюс",
    "railway__zhetysu-info": "Жетысу Инфо",
    "plan__zhetysu-info": "Жетысу Инфо",
    "embankment__qaznews": "Казньюс",
}
# Without any date: /stats counts it as undated.
UNDATED = (
    "В Алатау открыли ледовую арену\nНовая ледовая арена на тысячу зрителей открылась в Алатау. Хоккейные "
    "секции для детей будут работать бесплатно, сообщили в акимате. Строительство арены заняло полтора года."
)
# In Kazakh: /stats then names two languages of texts (in the admin's language).
KAZAKH = (
    "Алатауда жаңа мектеп ашылды\nАлатау қаласында мың оқушыға арналған жаңа мектеп ашылды. Мектепте "
    "заманауи зертханалар мен спорт залы бар, деп хабарлады қала әкімдігі. Құрылыс екі жылға созылды, ал "
    "келесі жылы тағы екі мектеп салынады."
)
PASTED = (
    "Метрополитен Алатау спроектируют к лету\nПроект первой линии метрополитена в Алатау подготовят к лету. "
    "Линия свяжет центр нового города с вокзалом и деловым кварталом, рассказали в управлении транспорта."
)
BOTANIC = (
    "В Алатау заложили ботанический сад\nБотанический сад площадью сорок гектаров появится на окраине "
    "Алатау. Первые деревья посадили волонтёры и студенты, а оранжерею обещают открыть через два года."
)

# Latin words a Russian or Kazakh screen may hold: names of formats, units, standards and brands.
LATIN_ALLOWED = frozenset(
    {
        "url",
        "utc",
        "utf",
        "gmt",
        "pdf",
        "docx",
        "txt",
        "md",
        "json",
        "jsonl",
        "zip",
        "html",
        "rss",
        "atom",
        "png",
        "alatau",
        "telegram",
        "word",
        "api",
        "bot",
        "deflate",
        "kursiv",  # an outlet named as an example
        "mb",
        "kb",
        "gb",
        "id",
    }
)
# Cyrillic words an English screen may hold: examples of what a person can type, and language names.
CYRILLIC_ALLOWED = frozenset(
    {
        *("астана", "алматы", "ақтөбе", "москва", "алатау"),
        # Search and topic examples: the corpus is Russian, so is what a reader types.
        *("криптовалюта", "криптовалюты", "криптовалютой", "крипто", "реклама", "аэропорт"),
        *("указ", "президента", "специальный", "правовой", "режим"),
    }
)
# A command with the words that belong to it (/channel add, /digest preview …): syntax, not prose.
_COMMAND = re.compile(
    r"/[A-Za-z_]+(?:@\w+)?(?:\s+(?:add|list|remove|preview|send|unknown|filter|pause|resume|poll))?"
)
_STRIP = [
    re.compile(r"https?://\S+|t\.me/\S+|www\.\S+"),
    re.compile(r"@\w+"),
    re.compile(r'"[A-Za-z_]+"'),  # a field's name in a JSON record: "text"
    re.compile(r"\b[A-Za-z]+/[A-Za-z_]+\b"),  # a time zone's name: Asia/Almaty
    _COMMAND,
    re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b"),  # a setting's name: MAX_TEXT_CHARS
    re.compile(r"[\w-]*\.[\w.-]+"),  # a file or a domain name, an extension (.zip)
    re.compile(r"\b\w*\d\w*\b"),  # UTF-8, cp1251, koi8, 2026-01-24
]
_LATIN = re.compile(r"[A-Za-z][A-Za-z'’]+")
_CYRILLIC = re.compile(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]+")
_WORD = re.compile(r"[^\W\d_]+")


@dataclass
class Inputs:
    """Everything we put in: its words are ours, not the bot's."""

    words: set[str] = field(default_factory=set)

    def add(self, *texts: str) -> None:
        for text in texts:
            for line in text.splitlines():
                if not line.startswith("date "):  # the fixtures' metadata line, read by the bot
                    self.words.update(w.lower() for w in _WORD.findall(line))


@dataclass(frozen=True)
class Shown:
    where: str
    text: str


def foreign_words(text: str, language: str, ours: set[str]) -> list[str]:
    for pattern in _STRIP:
        text = pattern.sub(" ", text)
    if language == "en":
        found, allowed = _CYRILLIC.findall(text), CYRILLIC_ALLOWED
    else:
        found, allowed = _LATIN.findall(text), LATIN_ALLOWED
    return [w for w in found if w.lower() not in allowed and w.lower() not in ours]


def shown_by_bot(local: LocalBot, language: str) -> Iterator[Shown]:
    """Every text, caption and button label of every bot message (each version of it), every callback
    answer, every inline result, and the command menus for that language."""
    state = local.emulator.state
    for chat in state.chats.values():
        for message in chat.messages:
            if not message.from_bot:
                continue
            for n, version in enumerate(message.versions):
                where = f"chat {chat.info.id} message {message.message_id} v{n}"
                for text in (version.text, version.caption):
                    if text:
                        yield Shown(where, text)
                for row in (version.reply_markup or {}).get("inline_keyboard", []):
                    for b in row:
                        # The language picker names each language in that language.
                        if not str(b.get("callback_data", "")).startswith("lang:"):
                            yield Shown(f"{where} button", str(b.get("text", "")))
            if message.document is not None and message.document.file_name:
                yield Shown(f"{where} file", message.document.file_name)
    for query in state.callback_queries.values():
        if query.answer is not None and query.answer.text:
            yield Shown(f"answer to {query.data}", query.answer.text)
    for call in local.emulator.calls_to("setMyCommands"):
        if call.params.get("language_code") != language:
            continue
        commands = call.params.get("commands") or []
        for command in json.loads(commands) if isinstance(commands, str) else commands:
            yield Shown(f"menu {call.params.get('language_code')}", str(command.get("description", "")))
    for inline in state.inline_queries.values():
        if inline.answer is not None:
            for result in inline.answer.results:
                for key in ("title", "description"):
                    if result.get(key):
                        yield Shown(f"inline {inline.query!r}", str(result[key]))


def untranslated(shown: Iterable[Shown], language: str, ours: set[str]) -> list[str]:
    found = []
    for item in shown:
        words = foreign_words(item.text, language, ours)
        if words:
            found.append(f"{item.where}: {sorted(set(words))} in {item.text[:300]!r}")
    return found


# -- driving the bot ----------------------------------------------------------------------------------------


class Driver:
    def __init__(self, local: LocalBot, inputs: Inputs) -> None:
        self.local = local
        self.inputs = inputs

    async def idle(self) -> None:
        await self.local.emulator.wait_idle(timeout=REPLY_TIMEOUT, quiet=0.15)

    async def say(self, user: EmulatedUser, text: str, **where: object) -> StoredMessage | None:
        """Send `text`; the bot's last message in that chat once it has answered and gone quiet."""
        self.inputs.add(text)
        chat: EmulatedChat = where.get("chat") or user.chat  # type: ignore[assignment]
        before = len(chat.bot_messages)
        await user.send_text(text, **where)  # type: ignore[arg-type]
        await chat.wait_until(
            lambda: len(chat.bot_messages) > before, timeout=REPLY_TIMEOUT, what=f"an answer to {text!r}"
        )
        await self.idle()
        return chat.last_bot_message

    async def press(self, user: EmulatedUser, message: StoredMessage, data: str) -> None:
        query = await user.press(message, data)
        await query.wait_answer(timeout=REPLY_TIMEOUT)
        await self.idle()

    async def press_all(
        self, user: EmulatedUser, make: object, prefixes: tuple[str, ...], skip: tuple[str, ...] = ()
    ) -> None:
        """Open a fresh screen (`make()`) for each of its buttons with these prefixes and press it."""
        first = await make()  # type: ignore[operator]
        wanted = [d for d in callback_values(first) if d.startswith(prefixes) and not d.startswith(skip)]
        for data in wanted:
            screen = await make()  # type: ignore[operator]
            if data in callback_values(screen):
                await self.press(user, screen, data)

    async def upload(self, user: EmulatedUser, name: str, data: bytes) -> None:
        self.inputs.add(name)
        before = len(user.chat.bot_messages)
        await user.send_document(name, data)
        await user.chat.wait_until(
            lambda: len(user.chat.bot_messages) > before, timeout=REPLY_TIMEOUT, what="an answer"
        )
        report = user.chat.bot_messages[before]
        # A bulk upload's report is edited until it says how it ended.
        for _ in range(100):
            await self.idle()
            if not (report.text or "").startswith("⏳"):
                break
            await user.chat.wait_for_edit(report, timeout=REPLY_TIMEOUT)


async def reader_screens(d: Driver, reader: EmulatedUser) -> None:
    start = await d.say(reader, "/start")
    assert start is not None and start.buttons
    for data in callback_values(start):
        menu = await d.say(reader, "/start")
        assert menu is not None
        await d.press(reader, menu, data)
    for command in ("/help", "/lang", "/latest", "/summary", "/search", "/foo", "/cancel", "/undo"):
        await d.say(reader, command)

    results = await d.say(reader, "аэропорт")
    assert results is not None and results.buttons
    await d.press(reader, results, button(results, "d:"))
    card = results
    for prefix in ("f:", "sim:"):
        if any(v.startswith(prefix) for v in callback_values(card)):
            await d.press(reader, card, button(card, prefix))
    latest = await d.say(reader, "/latest")
    assert latest is not None
    if any(v.startswith("p:") for v in callback_values(latest)):
        await d.press(reader, latest, button(latest, "p:"))
    await d.say(reader, "ываываыва")  # nothing found
    await d.say(reader, "указы президента об аэропортах")
    query = await reader.inline_query("аэропорт")
    await query.wait_answer(timeout=REPLY_TIMEOUT)
    empty = await reader.inline_query("")
    await empty.wait_answer(timeout=REPLY_TIMEOUT)


async def subscriber_screens(d: Driver, reader: EmulatedUser, local: LocalBot, clock: ManualClock) -> None:
    screen = await d.say(reader, "/subscribe")
    assert screen is not None
    await d.press(reader, screen, "sf:weekly:0:1")
    await d.press(reader, screen, "sd:0:0:1")
    await d.press(reader, screen, "st::0:1")
    await d.say(reader, "25:00")  # refused, the step waits
    await d.say(reader, "09:00")
    zone_screen = reader.chat.last_bot_message
    assert zone_screen is not None
    await d.press(reader, zone_screen, "sz:-1:0:1")
    await d.say(reader, "Марсоград")  # refused
    topic_screen = await d.say(reader, "Астана")
    assert topic_screen is not None
    await d.press(reader, topic_screen, "sq:t:0:1")
    await d.say(reader, "!!!")  # refused
    await d.say(reader, "аэропорт")

    async def settings() -> StoredMessage:
        shown = await d.say(reader, "/settings")
        assert shown is not None
        return shown

    await d.press_all(reader, settings, ("ss:", "so:"), skip=("ss:u",))
    quiet = await settings()
    await d.press(reader, quiet, "so:q::0")
    await d.press(reader, quiet, "so:q:type:0")
    await d.say(reader, "25-7")  # refused
    await d.say(reader, "22:00-07:00")
    await d.say(reader, "/pause")
    await d.say(reader, "/resume")
    await d.say(reader, "/unsubscribe")
    await d.say(reader, "/settings")  # not subscribed
    again = await d.say(reader, "/subscribe")
    assert again is not None
    for data in ("sf:daily:0:1", "st:0900:0:1", "sz:0:0:1", "sq:a:0:1"):
        await d.press(reader, again, data)
    clock.set(MONDAY_9AM_ALMATY)
    await local.digests.scheduler.tick()
    await local.digests.engine.wait_idle()
    await d.idle()
    digest = next(m for m in reversed(reader.chat.bot_messages) if (m.text or "").startswith("📰"))
    if any(v.startswith("dg:") for v in callback_values(digest)):
        await d.press(reader, digest, button(digest, "dg:"))
    await d.say(reader, "/start sub_settings")
    await d.say(reader, "/start sub_stop")
    await d.say(reader, "/start sub_stop")  # not subscribed any more


async def group_screens(d: Driver, local: LocalBot, admin: EmulatedUser, member: EmulatedUser) -> None:
    group = local.emulator.create_group("Форум Алатау", forum=True, owner=admin, members=[member])
    topic = group.create_topic("Новости")
    await d.say(member, "/subscribe", chat=group, thread_id=topic)  # refused
    await d.say(member, "/settings", chat=group, thread_id=topic)  # refused
    await d.say(admin, "/subscribe", chat=group)  # outside a topic
    screen = await d.say(admin, "/subscribe", chat=group, thread_id=topic)
    assert screen is not None
    sub = await local.digests.subscriptions.get(group.id, topic)
    assert sub is not None
    for data in ("sf:daily", "st:0900", "sz:0", "sq:a"):
        await d.press(admin, screen, f"{data}:{sub.id}:1")
    await d.press(member, screen, f"ss:p:{sub.id}")  # refused, as an alert
    await d.say(admin, "/pause", chat=group, thread_id=topic)
    await d.say(admin, "/resume", chat=group, thread_id=topic)
    await d.say(member, f"/start sub_settings_{sub.id}")  # refused
    await d.say(admin, "/unsubscribe", chat=group, thread_id=topic)
    await d.say(admin, "/settings", chat=group, thread_id=topic)  # no digests here


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _scan_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)
    return bytes(pdf.output())


async def admin_upload_screens(d: Driver, admin: EmulatedUser) -> None:
    await d.say(admin, "/help")
    await d.say(admin, "/add")
    await d.say(admin, "Коротко.")  # too short, the step waits
    preview = await d.say(admin, PASTED)
    assert preview is not None and preview.buttons
    await d.press(admin, preview, button(preview, "aup:d"))
    await d.say(admin, "тридцать второе")  # a wrong date
    await d.say(admin, "24.01.2026")
    preview = admin.chat.last_bot_message
    assert preview is not None
    await d.press(admin, preview, button(preview, "aup:t"))
    titled = await d.say(admin, "Метро Алатау к лету")
    assert titled is not None
    await d.press(admin, titled, button(titled, "aup:s"))
    await d.say(admin, "/add")
    await d.say(admin, PASTED)  # a duplicate now
    await d.say(admin, "/cancel")
    await d.say(admin, "/add")
    cancelled = await d.say(admin, BOTANIC)
    assert cancelled is not None
    await d.press(admin, cancelled, button(cancelled, "aup:c"))

    lines = [
        json.dumps({"text": BOTANIC + " Сад откроют весной.", "date": "2026-01-20"}, ensure_ascii=False),
        "это не запись",
        json.dumps({"заголовок": "без текста"}, ensure_ascii=False),
        json.dumps(["список"], ensure_ascii=False),
        json.dumps({"text": 5}),
        json.dumps({"text": ""}),
    ]
    d.inputs.add(*lines)
    await d.upload(admin, "vygruzka.jsonl", "\n".join(lines).encode())
    await d.upload(admin, "spisok.json", json.dumps({"text": "не список"}, ensure_ascii=False).encode())
    await d.upload(admin, "slomannyj.json", b"{")
    await d.upload(
        admin,
        "arhiv.zip",
        _zip(
            [
                ("skan.pdf", _scan_pdf()),
                ("programma.exe", b"MZ\x90\x00"),
                ("korotko.txt", "Коротко.".encode()),
                ("vlozhennyj.zip", _zip([("a.txt", b"x")])),
                ("metro.txt", PASTED.encode()),
                ("slomannyj.docx", b"PK\x03\x04 not really"),
            ]
        ),
    )
    await d.upload(admin, "skan.pdf", _scan_pdf())
    await d.upload(admin, "dokument.docx", b"not a docx at all")
    await d.upload(admin, "bez_rasshirenija", "Текст без расширения".encode())
    await d.upload(admin, "pustoj.txt", b"   ")


async def admin_document_screens(d: Driver, admin: EmulatedUser, local: LocalBot) -> None:
    listing = await d.say(admin, "/docs")
    assert listing is not None and listing.buttons
    card_data = button(listing, "adoc:o")
    await d.press(admin, listing, card_data)
    doc_id = int(card_data.split(":")[2])

    async def card() -> StoredMessage:
        shown = await d.say(admin, f"/start doc_{doc_id}")
        assert shown is not None and shown.buttons
        return shown

    screen = await card()
    for action in ("adoc:h", "adoc:v"):
        await d.press(admin, screen, button(screen, action))
    await d.press(admin, screen, button(screen, "adoc:t"))
    await d.say(admin, "/cancel")
    screen = await card()
    await d.press(admin, screen, button(screen, "adoc:d"))
    await d.say(admin, "тридцать второе")  # refused, the step waits
    await d.say(admin, "05.09.2025")
    screen = await card()
    await d.press(admin, screen, button(screen, "adoc:s"))
    await d.say(admin, "Новая Газета Алатау")
    screen = await card()
    await d.press(admin, screen, button(screen, "adoc:x"))
    await d.press(admin, screen, button(screen, "adoc:y"))
    if any(v.startswith("adoc:u") for v in callback_values(screen)):
        await d.press(admin, screen, button(screen, "adoc:u"))
    screen = await card()
    await d.press(admin, screen, button(screen, "adoc:x"))
    await d.press(admin, screen, button(screen, "adoc:y"))
    await d.say(admin, "/docs")  # with the restore button
    await d.say(admin, "/undo")
    await d.say(admin, "/undo")  # nothing to undo
    # A reader's list and card, opened by an admin: the admin's buttons on them.
    results = await d.say(admin, "аэропорт")
    assert results is not None
    await d.press(admin, results, button(results, "d:"))

    audit = local.services.audit_log
    for action in AuditAction:
        await audit.record(ADMIN_ID, action, doc_id=1, details="-100123 Канал Алатау")
    log = await d.say(admin, "/log")
    assert log is not None
    for _ in range(10):
        pages = [v for v in callback_values(log) if v.startswith("alog:")]
        if not pages:
            break
        await d.press(admin, log, pages[-1])
        if pages == [v for v in callback_values(log) if v.startswith("alog:")]:
            break

    before = len(admin.chat.bot_messages)
    await admin.send_text("/stats")
    await admin.chat.wait_until(
        lambda: len(admin.chat.bot_messages) >= before + 2, timeout=REPLY_TIMEOUT, what="/stats"
    )
    await d.idle()


async def admin_channel_screens(d: Driver, admin: EmulatedUser, local: LocalBot) -> None:
    local.emulator.create_channel("Новости Алатау", username="alatau_novosti")
    for command in ("/channel", "/channel list", "/channel add", "/cancel", "/channel add @nobody_here"):
        await d.say(admin, command)
    connected = await d.say(admin, "/channel add @alatau_novosti")
    assert connected is not None
    channel = await local.digests.subscriptions.get(
        next(c.info.id for c in local.emulator.state.chats.values() if c.info.username == "alatau_novosti")
    )
    assert channel is not None
    for data in ("sf:daily", "st:0900", "sz:0", "sq:a"):
        await d.press(admin, connected, f"{data}:{channel.id}:1")
    listing = await d.say(admin, "/channel list")
    assert listing is not None
    if listing.buttons:
        await d.press(admin, listing, listing.buttons[0]["callback_data"])
    for command in (
        "/digest",
        "/digest preview",
        "/digest preview @alatau_novosti",
        "/digest send @alatau_novosti",
        "/digest send @nobody_here",
        "/digest unknown",
        "/channel remove @alatau_novosti",
        "/channel remove @alatau_novosti",
    ):
        await d.say(admin, command)


# -- the test ----------------------------------------------------------------------------------------------


async def ingest_corpus(local: LocalBot, inputs: Inputs) -> None:
    corpus = local.services.corpus
    for name, outlet in FIXTURES.items():
        text = (STORIES / f"{name}.txt").read_text(encoding="utf-8")
        inputs.add(text, outlet)
        saved = await corpus.ingest(TextInput(text, source="test", source_name=outlet))
        assert saved.id is not None, (name, saved)
    inputs.add(UNDATED, KAZAKH)
    saved = await corpus.ingest(TextInput(UNDATED, source="test"))
    assert saved.id is not None
    saved = await corpus.ingest(TextInput(KAZAKH, source="test", date="2025-11-20"))
    assert saved.id is not None
    assert (await corpus.repo.get(saved.id)).lang == "kk"  # type: ignore[union-attr]


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
async def test_every_screen_is_in_the_readers_language(
    start_bot: StartBot, language: str, tmp_path: Path
) -> None:
    emulator = BotAPIEmulator()
    # The admin exists before the bot starts (as on Telegram), so that the admin menu is set for them.
    admin = emulator.create_user("Әкімші", id=ADMIN_ID, language_code=language, started=True)
    clock = ManualClock(MONDAY_8AM_ALMATY)
    local = await start_bot(
        emulator=emulator,
        clock=clock,
        admin_ids=frozenset({ADMIN_ID}),
        min_text_chars=100,
        undo_minutes=30,
        upload_progress_seconds=0,
    )
    reader = emulator.create_user("Читатель", id=READER_ID, language_code=language, started=True)
    member = emulator.create_user("Участник", id=MEMBER_ID, language_code=language, started=True)
    inputs = Inputs()
    inputs.add("Форум Алатау", "Новости", "Новости Алатау", "Канал Алатау", "Әкімші", "Читатель", "Участник")
    await ingest_corpus(local, inputs)
    d = Driver(local, inputs)

    await reader_screens(d, reader)
    await subscriber_screens(d, reader, local, clock)
    await group_screens(d, local, admin, member)
    await admin_upload_screens(d, admin)
    await admin_document_screens(d, admin, local)
    await admin_channel_screens(d, admin, local)

    i18n = make_i18n()
    undated = i18n.gettext("undated: {n}", locale=language).format(n=1)
    assert any(undated in (m.text or "") for m in admin.chat.bot_messages), "/stats shows the undated text"
    shown = list(shown_by_bot(local, language))
    assert any(s.where.startswith("menu") for s in shown), "the command menus are looked at too"
    assert len(shown) > 300, "the walk shows the screens"
    problems = untranslated(shown, language, inputs.words)
    assert not problems, f"{len(problems)} screen(s) with words not in {language}:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
async def test_the_flood_warning_is_in_the_readers_language(start_bot: StartBot, language: str) -> None:
    local = await start_bot(throttle_rate=0.5)
    reader = local.emulator.create_user("Читатель", id=READER_ID, language_code=language, started=True)
    for _ in range(25):
        await reader.send_text("/help")
    await local.emulator.wait_idle(timeout=REPLY_TIMEOUT, quiet=0.3)
    warnings = [m for m in reader.chat.bot_messages if "/latest" not in (m.text or "")]
    assert len(warnings) == 1, "one warning, in the middle of the help texts"
    problems = untranslated(shown_by_bot(local, language), language, {"читатель"})
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_every_upload_refusal_is_in_the_admins_language(language: str) -> None:
    """Each UploadReason as the chat says it (most cannot be provoked through a chat upload)."""
    i18n: I18n = make_i18n()
    params = {
        "ext": ".exe",
        "supported": ".txt",
        "error": "—",
        "path": "../../секрет",
        "size": 30 * 1024 * 1024,
        "limit": 20 * 1024 * 1024,
        "count": 7,
        "ratio": 120,
        "name": "бомба",
        "chars": 5,
        "min": 100,
        "max": 200,
        "doc_id": 3,
    }
    shown = []
    with i18n.context(), i18n.use_locale(language):
        for reason in UploadReason:
            shown.append(Shown(reason.value, describe(UploadError(reason, **params), i18n)))
    ours = {"секрет", "бомба"}
    problems = untranslated(shown, language, ours)
    assert not problems, "\n".join(problems)
