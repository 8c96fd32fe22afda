"""A Telegram Bot API emulator on loopback: the real HTTP protocol, an in-memory world, a test driver.

Point aiogram at it with ``AiohttpSession(api=emulator.api_server())`` (or
``TelegramAPIServer.from_base(emulator.base_url)``); create users, groups and channels with the
``create_*`` methods and make them talk to the bot.  Everything runs in the caller's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from .driver import EmulatedChannel, EmulatedChat, EmulatedGroup, EmulatedUser
from .errors import ApiError, bad_request, not_found, unauthorized
from .faults import EmulatorStats, Fault, FaultInjector, FaultKind, RateLimitConfig, RateLimiter
from .methods import MAX_UPLOAD_BYTES, BotApiMethods
from .models import ApiCall, ChatInfo, ChatRecord, Membership, UserInfo, UserRecord
from .params import Params, UploadedFile
from .state import EmulatorState

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:AAEmulatorTokenForOfflineTests_0000000"


class BotAPIEmulator:
    """An in-process Bot API server.  Use ``async with BotAPIEmulator() as emulator: ...``."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "emulated_bot",
        bot_name: str = "Emulated Bot",
        host: str = "127.0.0.1",
        port: int = 0,
        supports_inline_queries: bool = True,
        can_join_groups: bool = True,
        can_read_all_group_messages: bool = False,
        strict_html: bool = True,
        fast_text: bool = False,
        query_timeout: float = 15.0,
        rate_limits: RateLimitConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        local_files: Path | None = None,
    ) -> None:
        """`local_files`: act as a server started with --local, keeping files under that folder."""
        bot_id_text, _, secret = token.partition(":")
        if not bot_id_text.isdigit() or not secret:
            raise ValueError("token must look like '<digits>:<secret>'")
        self.token = token
        self.host = host
        self._requested_port = port
        self.state = EmulatorState(
            bot=UserInfo(id=int(bot_id_text), first_name=bot_name, is_bot=True, username=bot_username),
            supports_inline_queries=supports_inline_queries,
            can_join_groups=can_join_groups,
            can_read_all_group_messages=can_read_all_group_messages,
            strict_html=strict_html,
            fast_text=fast_text,
            query_timeout=query_timeout,
            clock=clock,
            rate_limits=rate_limits,
        )
        self.methods = BotApiMethods(self.state, local_files)
        self.faults = FaultInjector()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ================================================================== lifecycle

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        # Cancelling handlers of dropped connections ends abandoned long polls and stalls right away.
        runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self.state.closing = False

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        # Wake long polls and stalled calls first so the server can shut down without waiting on them.
        self.state.closing = True
        self.state.notify()
        await runner.cleanup()

    async def __aenter__(self) -> BotAPIEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("emulator is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """Root URL for ``TelegramAPIServer.from_base``; serves /bot<token>/<method> and /file/bot<token>/…"""
        return f"http://{self.host}:{self.port}"

    def api_server(self) -> TelegramAPIServer:
        return TelegramAPIServer.from_base(self.base_url)

    def api_url(self, method: str) -> str:
        return f"{self.base_url}/bot{self.token}/{method}"

    # ================================================================== observation

    @property
    def bot_user(self) -> UserInfo:
        return self.state.bot

    @property
    def calls(self) -> list[ApiCall]:
        """Every request the bot made, in arrival order (getUpdates included)."""
        return self.state.calls

    def calls_to(self, method: str) -> list[ApiCall]:
        wanted = method.lower()
        return [call for call in self.state.calls if call.method.lower() == wanted]

    @property
    def stats(self) -> EmulatorStats:
        return self.state.stats

    @property
    def version(self) -> int:
        """A counter that grows with every change (bot request finished, message sent or edited, ...)."""
        return self.state.notifier.version

    async def wait_for_change(self, since: int, timeout: float | None = None) -> int:  # noqa: ASYNC109
        """Wait until :attr:`version` moves past ``since`` and return the new version; for a
        playground that redraws whatever changed.  Returns ``since`` on timeout."""
        await self.state.wait_for(lambda: self.state.notifier.version != since, timeout)
        return self.state.notifier.version

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (via a later getUpdates offset)."""
        return list(self.state.updates)

    @property
    def webhook(self) -> dict[str, Any] | None:
        return self.state.webhook

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        since: int = 0,
        finished: bool = True,
    ) -> ApiCall:
        """The first call of ``method`` at index >= ``since`` in :attr:`calls`; with ``finished=False``
        a call still being answered counts too (e.g. to see that a long poll has begun)."""
        wanted = method.lower()
        found: list[ApiCall] = []

        def ready() -> bool:
            for call in self.state.calls[since:]:
                if call.method.lower() != wanted or (finished and not call.finished):
                    continue
                if predicate is None or predicate(call):
                    found.append(call)
                    return True
            return False

        if not await self.state.wait_for(ready, timeout):
            raise TimeoutError(f"bot did not call {method} within {timeout}s")
        return found[0]

    async def wait_idle(self, timeout: float = 5.0, *, quiet: float = 0.05) -> None:  # noqa: ASYNC109
        """Wait until every update was fetched and confirmed, no bot request is in flight, and the bot
        has made no request for ``quiet`` seconds.  Prefer ``chat.wait_for_message`` when possible:
        a bot that computes silently for longer than ``quiet`` looks idle."""
        state = self.state
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        def settled() -> bool:
            return not state.updates and state.in_flight == 0

        while True:
            if not await state.wait_for(settled, deadline - loop.time()):
                raise TimeoutError(
                    f"bot not idle after {timeout}s: {len(state.updates)} unconfirmed updates, "
                    f"{state.in_flight} requests in flight"
                )
            marker = state.activity

            def busy(marker: int = marker) -> bool:
                return state.activity != marker or not settled()

            woke = await state.wait_for(busy, quiet)
            if not woke:
                return
            if loop.time() >= deadline:
                raise TimeoutError(f"bot kept working for more than {timeout}s")

    # ================================================================== driver: world building

    def create_user(
        self,
        first_name: str = "Test",
        *,
        id: int | None = None,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        is_premium: bool = False,
        started: bool = False,
    ) -> EmulatedUser:
        """A user with a private chat with the bot.  The bot may write first only if ``started``
        (otherwise it gets 403 until the user sends something), as on Telegram."""
        user_id = self.state.next_user_id() if id is None else id
        if user_id <= 0 or user_id in self.state.chats:
            raise ValueError(f"user id {user_id} is invalid or taken")
        info = UserInfo(
            id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            is_premium=is_premium,
        )
        self.state.register_username(username, user_id)
        record = UserRecord(info=info, started=started)
        self.state.users[user_id] = record
        chat_info = ChatInfo(
            id=user_id, type="private", username=username, first_name=first_name, last_name=last_name
        )
        self.state.chats[user_id] = ChatRecord(info=chat_info, bot_membership=Membership("member"))
        return EmulatedUser(self.state, record)

    def create_group(
        self,
        title: str = "Test Group",
        *,
        id: int | None = None,
        supergroup: bool = True,
        username: str | None = None,
        bot_status: str = "member",
        members: tuple[EmulatedUser, ...] | list[EmulatedUser] = (),
        owner: EmulatedUser | None = None,
        forum: bool = False,
    ) -> EmulatedGroup:
        """A (super)group the bot is in with ``bot_status`` (member, administrator, left, kicked...); a
        ``forum`` has topics (``EmulatedGroup.create_topic``), and only a supergroup can be one."""
        if forum and not supergroup:
            raise ValueError("only a supergroup can be a forum")
        chat_id = self.state.next_group_id(supergroup=supergroup) if id is None else id
        if chat_id >= 0 or chat_id in self.state.chats:
            raise ValueError(f"group id {chat_id} is invalid or taken")
        info = ChatInfo(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            username=username,
            is_forum=forum,
        )
        self.state.register_username(username, chat_id)
        record = ChatRecord(info=info, bot_membership=Membership(bot_status))
        if owner is not None:
            record.members[owner.id] = Membership("creator")
        for member in members:
            record.members.setdefault(member.id, Membership("member"))
        self.state.chats[chat_id] = record
        return EmulatedGroup(self.state, record)

    def create_channel(
        self,
        title: str = "Test Channel",
        *,
        id: int | None = None,
        username: str | None = None,
        bot_status: str = "administrator",
        can_post_messages: bool = True,
        can_edit_messages: bool = True,
    ) -> EmulatedChannel:
        """A channel; the bot is an admin that may post by default (see ``EmulatedChannel.set_bot_rights``)."""
        chat_id = self.state.next_group_id(supergroup=True) if id is None else id
        if chat_id >= 0 or chat_id in self.state.chats:
            raise ValueError(f"channel id {chat_id} is invalid or taken")
        info = ChatInfo(id=chat_id, type="channel", title=title, username=username)
        self.state.register_username(username, chat_id)
        membership = Membership(
            bot_status, can_post_messages=can_post_messages, can_edit_messages=can_edit_messages
        )
        record = ChatRecord(info=info, bot_membership=membership)
        self.state.chats[chat_id] = record
        return EmulatedChannel(self.state, record)

    def chat(self, chat_id: int) -> EmulatedChat:
        record = self.state.chats[chat_id]
        if record.info.type == "channel":
            return EmulatedChannel(self.state, record)
        if record.info.type in ("group", "supergroup"):
            return EmulatedGroup(self.state, record)
        return EmulatedChat(self.state, record)

    def user(self, user_id: int) -> EmulatedUser:
        return EmulatedUser(self.state, self.state.users[user_id])

    def visible_commands(
        self, chat: EmulatedChat, user: EmulatedUser | None = None, *, language_code: str | None = None
    ) -> list[dict[str, Any]]:
        """The command list a user would see in ``chat``, resolved through scopes and languages in the
        order the Bot API documents."""
        record = chat.record
        chat_id = record.info.id
        if record.info.type == "private":
            user_id = chat_id
            scopes = [("chat", chat_id, 0), ("all_private_chats", 0, 0), ("default", 0, 0)]
        else:
            user_id = user.id if user is not None else 0
            is_admin = record.members.get(user_id, Membership("left")).is_admin
            scopes = [("chat_member", chat_id, user_id)]
            if is_admin:
                scopes.append(("chat_administrators", chat_id, 0))
            scopes.append(("chat", chat_id, 0))
            if is_admin:
                scopes.append(("all_chat_administrators", 0, 0))
            scopes += [("all_group_chats", 0, 0), ("default", 0, 0)]
        user_record = self.state.users.get(user_id)
        language = language_code
        if language is None and user_record is not None:
            language = user_record.info.language_code
        languages = [language, ""] if language else [""]
        for scope in scopes:
            for code in languages:
                commands = self.state.commands.get((scope, code))
                if commands is not None:
                    return list(commands)
        return []

    # ================================================================== driver: faults & limits

    def inject(
        self,
        kind: FaultKind | str,
        *,
        method: str | None = None,
        chat: EmulatedChat | EmulatedUser | int | None = None,
        times: int | None = 1,
        retry_after: int = 5,
        stall_seconds: float = 1.0,
        description: str | None = None,
    ) -> Fault:
        """Make the next ``times`` matching calls fail (None = every call until removed).  ``method``
        None matches every method except getUpdates; ``chat`` None matches every chat."""
        chat_id = chat if isinstance(chat, int) or chat is None else chat.id
        return self.faults.add(
            kind,
            method=method,
            chat_id=chat_id,
            times=times,
            retry_after=retry_after,
            stall_seconds=stall_seconds,
            description=description,
        )

    def set_rate_limits(self, config: RateLimitConfig | None) -> None:
        """Turn flood control on (Telegram's defaults with ``RateLimitConfig()``) or off (None)."""
        self.state.rate_limiter = None if config is None else RateLimiter(config, self.state.clock)

    # ================================================================== HTTP

    def _respond(self, payload: dict[str, Any], status: int) -> web.Response:
        return web.json_response(payload, status=status)

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return self._respond(not_found().to_payload(), 404)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._respond(unauthorized().to_payload(), 401)
        stored = self.state.files_by_path.get(request.match_info["path"])
        if stored is None:
            return self._respond(not_found().to_payload(), 404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    async def _read_params(self, request: web.Request) -> Params:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if not request.body_exists:
            return Params(raw)
        content_type = request.content_type
        try:
            if content_type == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise bad_request("JSON object expected")
                raw.update(body)
            elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                    elif isinstance(value, bytes | bytearray):
                        raw[key] = bytes(value).decode("utf-8", "replace")
                    else:
                        raw[key] = value
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "Request Entity Too Large") from None
        except ValueError:
            raise bad_request("can't parse request body") from None
        return Params(raw, files)

    def _fault_chat_key(self, params: Params) -> int | str | None:
        try:
            chat_id = params.chat_id()
        except ApiError:
            return None
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            return self.state.usernames.get(chat_id[1:].lower(), chat_id)
        return chat_id

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._respond(unauthorized().to_payload(), 401)
        found = self.methods.lookup(request.match_info["method"])
        if found is None:
            return self._respond(not_found().to_payload(), 404)
        name, handler = found
        try:
            params = await self._read_params(request)
        except ApiError as error:
            return self._respond(error.to_payload(), error.error_code)

        state = self.state
        loop = asyncio.get_running_loop()
        call = ApiCall(method=name, params=params.for_log(), time=time.time(), monotonic=loop.time())
        state.calls.append(call)
        state.stats.requests[name] += 1
        polling = name == "getUpdates"
        if not polling:
            state.in_flight += 1
            state.activity += 1
        try:
            fault = self.faults.take(name, self._fault_chat_key(params))
            if fault is not None:
                state.stats.injected_faults[fault.kind.value] += 1
                if fault.kind is FaultKind.STALL:
                    await state.sleep(fault.stall_seconds)
                else:
                    injected = fault.to_error()
                    assert injected is not None
                    raise injected
            result = await handler(params)
            call.status, call.result = 200, result
            payload: dict[str, Any] = {"ok": True, "result": result}
        except ApiError as error:
            call.status, call.description = error.error_code, error.description
            state.stats.errors[error.error_code] += 1
            payload = error.to_payload()
        except Exception as exc:
            # An emulator bug: answer like Telegram's own 500 but keep the cause for the test to see.
            logger.exception("emulator failed while handling %s", name)
            state.internal_errors.append(exc)
            call.status, call.description = 500, f"Internal Server Error ({exc!r})"
            payload = ApiError(500, "Internal Server Error").to_payload()
        finally:
            if call.status is None:
                # The client went away (or the server is stopping) before the answer was ready.
                call.status, call.description = 499, "client closed request"
            if not polling:
                state.in_flight -= 1
            if not polling or call.result:
                # Handing out updates starts the bot's work, so it counts as activity for wait_idle.
                state.activity += 1
            state.notify()
        return self._respond(payload, call.status)
