"""No update waits for a worker thread in the dispatcher: aiogram runs a filter or handler that is not a
coroutine (a magic filter such as `F.text`, a bare `State`, a plain function) through `asyncio.to_thread`,
a thread hop per update for each. Every router the bot includes is checked, every filter of every handler."""

from __future__ import annotations

from collections.abc import Iterator

from aiogram import F, Router
from aiogram.fsm.state import State

from handlers import get_routers


def _walk(router: Router) -> Iterator[Router]:
    yield router
    for child in router.sub_routers:
        yield from _walk(child)


def _sync_callables(routers: list[Router]) -> list[str]:
    found = []
    for top in routers:
        for router in _walk(top):
            for name, observer in router.observers.items():
                for flt in observer._handler.filters or []:
                    if not flt.awaitable:
                        found.append(f"{router.name} {name} router filter {flt.callback!r}")
                for handler in observer.handlers:
                    label = (
                        f"{router.name} {name} {getattr(handler.callback, '__name__', handler.callback)!r}"
                    )
                    if not handler.awaitable:
                        found.append(f"{label}: the handler")
                    found.extend(
                        f"{label}: filter {f.callback!r}" for f in handler.filters or [] if not f.awaitable
                    )
    return found


def test_every_filter_and_handler_of_every_router_is_awaited_directly() -> None:
    assert _sync_callables(get_routers()) == []


def test_the_check_finds_a_magic_filter_a_bare_state_and_a_plain_function() -> None:
    router = Router(name="probe")
    inner = Router(name="inner")
    router.include_router(inner)

    async def handler() -> None: ...

    def plain() -> None: ...

    router.message.register(handler, F.text.startswith("/"))
    inner.callback_query.filter(State("waiting", "Probe"))
    inner.message.register(plain)
    assert len(_sync_callables([router])) == 3


def test_a_router_that_skips_non_commands_holds_only_command_handlers() -> None:
    """A router-level MaybeCommand lets a search skip every handler of a router at once (one check, not one
    per handler): a message handler there that takes anything but a command would never be reached."""
    from aiogram.filters import Command

    from handlers.filters import MaybeCommand

    guarded = 0
    for top in get_routers():
        for router in _walk(top):
            observer = router.message
            if not any(isinstance(f.callback, MaybeCommand) for f in observer._handler.filters or []):
                continue
            guarded += 1
            for inner in _walk(router):  # its filter keeps messages from the routers it includes too
                for handler in inner.message.handlers:
                    assert any(isinstance(f.callback, Command) for f in handler.filters or []), (
                        f"{inner.name}: {handler.callback!r} takes no command"
                    )
    assert guarded >= 2  # the reader's commands and the subscription settings
