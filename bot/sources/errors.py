"""Typed failures of the fetching layer: a reason and its parameters, never prose to parse back."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class FetchReason(StrEnum):
    TIMEOUT = "timeout"
    NETWORK = "network"
    HTTP_STATUS = "http_status"
    TOO_LARGE = "too_large"
    NOT_A_FEED = "not_a_feed"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    ROBOTS_DISALLOWED = "robots_disallowed"
    BAD_URL = "bad_url"
    FORBIDDEN_ADDRESS = "forbidden_address"  # params: address, kind (bot.sources.addresses.AddressKind)


class FetchError(Exception):
    """`params` carries the figures the translation needs (status=404, limit_mb=5, ...)."""

    def __init__(self, reason: FetchReason, **params: Any) -> None:
        super().__init__(reason.value, params)
        self.reason = reason
        self.params: dict[str, Any] = params

    def __repr__(self) -> str:
        return f"FetchError({self.reason.value}, {self.params!r})"
