"""Every callback-data shape in one place; each packs well under Telegram's 64-byte limit."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Menu(StrEnum):
    LATEST = "latest"
    SEARCH = "search"
    SUBSCRIBE = "subscribe"
    HELP = "help"
    SUMMARY = "summary"


class MenuAction(CallbackData, prefix="m"):
    action: Menu


class Source(StrEnum):
    SEARCH = "s"
    LATEST = "l"
    SIMILAR = "r"
    NONE = "n"


class ListPage(CallbackData, prefix="p"):
    """A page of a list: search results (ref = saved query id), latest (ref = 0), similar (ref = doc id)."""

    source: Source
    ref: int
    page: int


class OpenDoc(CallbackData, prefix="d"):
    doc_id: int
    source: Source = Source.NONE
    ref: int = 0
    page: int = 0


class FullText(CallbackData, prefix="f"):
    doc_id: int


class ShowSimilar(CallbackData, prefix="sim"):
    doc_id: int


class SetLanguage(CallbackData, prefix="lang"):
    code: str


class Noop(CallbackData, prefix="x"):
    pass


# --- admins (handlers/admin/): the admin routers let only admins in (IsAdmin), whatever the data says ----


class PreviewAction(StrEnum):
    SAVE = "s"
    TITLE = "t"
    DATE = "d"
    CANCEL = "c"


class UploadPreview(CallbackData, prefix="aup"):
    """A button under the preview of an uploaded text (pending_id: the row in pending_uploads)."""

    action: PreviewAction
    pending_id: int


class DocAction(StrEnum):
    CARD = "o"
    HIDE = "h"
    SHOW = "v"
    DELETE = "x"
    CONFIRM_DELETE = "y"
    UNDO = "u"
    TITLE = "t"
    DATE = "d"
    SOURCE = "s"


class AdminBack(StrEnum):
    """Where an admin's card goes back to: the /docs list, a reader's list, or nowhere."""

    NONE = "n"
    DOCS = "a"
    SEARCH = "s"
    LATEST = "l"
    SIMILAR = "r"


class AdminDoc(CallbackData, prefix="adoc"):
    action: DocAction
    doc_id: int
    back: AdminBack = AdminBack.NONE
    ref: int = 0
    page: int = 0


class AdminDocsPage(CallbackData, prefix="alist"):
    """A page of /docs; ref is the saved query's id (0: the whole corpus)."""

    ref: int
    page: int


class AuditLogPage(CallbackData, prefix="alog"):
    page: int


# --- subscriptions and digests (handlers/subscriptions/) ----------------------------------------------
# `sub` is whose subscription a button changes: 0 for the presser's own, else the id of a channel's or a
# group topic's subscription (who may change it is checked by the handler). `wizard`: part of the
# /subscribe walk-through, which goes on to the next question; otherwise the button changes one setting
# and shows the settings again.


class SubFrequency(CallbackData, prefix="sf"):
    value: str  # storage.subscriptions.Frequency
    sub: int = 0
    wizard: bool = False


class SubDay(CallbackData, prefix="sd"):
    day: int  # 0 = Monday
    sub: int = 0
    wizard: bool = False


class SubTime(CallbackData, prefix="st"):
    value: str  # "0900"; "" asks to type one
    sub: int = 0
    wizard: bool = False


class SubZone(CallbackData, prefix="sz"):
    index: int  # into bot.digests.schedule.COMMON_ZONES; -1 asks to type one
    sub: int = 0
    wizard: bool = False


class TopicAction(StrEnum):
    ALL = "a"  # no filter
    KEEP = "k"
    TYPE = "t"


class SubTopic(CallbackData, prefix="sq"):
    action: TopicAction
    sub: int = 0
    wizard: bool = False


class SubAction(StrEnum):
    SHOW = "s"
    FREQUENCY = "f"
    DAY = "d"
    TIME = "t"
    ZONE = "z"
    TOPIC = "q"
    PAUSE = "p"
    RESUME = "r"
    UNSUBSCRIBE = "u"


class SubMenu(CallbackData, prefix="ss"):
    action: SubAction
    sub: int = 0


class DigestMore(CallbackData, prefix="dg"):
    """ "Show the rest" under a digest: the stories from `start` on."""

    digest_id: int
    start: int


class DigestResend(CallbackData, prefix="dgr"):
    """An admin's resend of the deliveries whose outcome is unknown (admins only: a router-level filter)."""
