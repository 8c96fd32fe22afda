"""The guard against server-side request forgery of sources (bot/sources/addresses.py): link-local and cloud
metadata addresses are never fetched, private and loopback ones only while SOURCES_ALLOW_PRIVATE is true;
checked on the addresses a connection would use (after DNS), on every redirect, for feeds and pages."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bot.sources.addresses import AddressKind, AddressPolicy, ForbiddenAddress, GuardedResolver, kind_of
from bot.sources.errors import FetchError, FetchReason
from bot.sources.feeds import FeedFetcher, FetchSettings, Validators
from tests.sources_server import SourcesServer

RSS = "application/rss+xml; charset=utf-8"
FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet</title>
<item><title>Новость</title><link>{link}</link><guid>n1</guid>
<description>Текст новости из самой ленты, без страницы.</description></item></channel></rss>"""


def fetcher(allow_private: bool = True) -> FeedFetcher:
    return FeedFetcher(
        FetchSettings(user_agent="test", timeout_s=5, host_delay_s=0.0, allow_private=allow_private)
    )


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", AddressKind.METADATA),  # AWS, GCP, Azure, OpenStack
        ("169.254.0.1", AddressKind.METADATA),
        ("100.100.100.200", AddressKind.METADATA),  # Alibaba Cloud
        ("fd00:ec2::254", AddressKind.METADATA),  # AWS over IPv6
        ("fe80::1", AddressKind.METADATA),
        ("::ffff:169.254.169.254", AddressKind.METADATA),  # the same, IPv4-mapped
        ("127.0.0.1", AddressKind.PRIVATE),
        ("::1", AddressKind.PRIVATE),
        ("0.0.0.0", AddressKind.PRIVATE),
        ("10.1.2.3", AddressKind.PRIVATE),
        ("172.16.0.1", AddressKind.PRIVATE),
        ("192.168.1.10", AddressKind.PRIVATE),
        ("100.64.0.1", AddressKind.PRIVATE),  # shared (CGNAT)
        ("fd12:3456::1", AddressKind.PRIVATE),
        ("::ffff:10.0.0.1", AddressKind.PRIVATE),
        ("8.8.8.8", None),
        ("2a00:1450:4001::1", None),
    ],
)
def test_addresses_are_classified(address: str, kind: AddressKind | None) -> None:
    assert kind_of(ipaddress.ip_address(address)) is kind


def test_the_policy_lets_private_addresses_through_only_when_allowed() -> None:
    metadata, loopback = ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("127.0.0.1")
    assert AddressPolicy(allow_private=True).refusal(loopback) is None
    assert AddressPolicy(allow_private=True).refusal(metadata) is AddressKind.METADATA
    assert AddressPolicy(allow_private=False).refusal(loopback) is AddressKind.PRIVATE


class Answers(AbstractResolver):
    """A DNS that answers every name with the given addresses (a rebinding name: public and internal)."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


async def test_the_resolver_keeps_only_allowed_addresses() -> None:
    mixed = GuardedResolver(AddressPolicy(), Answers("93.184.216.34", "169.254.169.254"))
    assert [r["host"] for r in await mixed.resolve("news.example")] == ["93.184.216.34"]
    only_metadata = GuardedResolver(AddressPolicy(), Answers("169.254.169.254"))
    with pytest.raises(ForbiddenAddress) as caught:
        await only_metadata.resolve("metadata.example")
    assert caught.value.kind is AddressKind.METADATA and caught.value.address == "169.254.169.254"
    lan = Answers("192.168.1.5", "fe80::1%eth0")
    assert [r["host"] for r in await GuardedResolver(AddressPolicy(True), lan).resolve("nas.lan")] == [
        "192.168.1.5"
    ]
    with pytest.raises(ForbiddenAddress) as caught:
        await GuardedResolver(AddressPolicy(False), lan).resolve("nas.lan")
    assert caught.value.kind is AddressKind.METADATA, "the stricter reason is the one given"


async def test_loopback_feeds_work_by_default_and_are_refused_when_private_is_off(
    sources_server: SourcesServer,
) -> None:
    sources_server.route("/feed.xml", FEED.format(link=""), content_type=RSS)
    allowed = fetcher()
    refused = fetcher(allow_private=False)
    try:
        assert len((await allowed.poll(sources_server.url("/feed.xml"), Validators())).items) == 1
        served = sources_server.count("/feed.xml")
        for host in ("127.0.0.1", "localhost"):  # an IP literal, and a name resolved to loopback
            with pytest.raises(FetchError) as caught:
                await refused.poll(sources_server.url("/feed.xml", host=host), Validators())
            assert caught.value.reason is FetchReason.FORBIDDEN_ADDRESS, host
            assert caught.value.params["kind"] == "private"
            assert caught.value.params["address"] in ("127.0.0.1", "::1")
        assert sources_server.count("/feed.xml") == served, "no request reached the server"
    finally:
        await allowed.close()
        await refused.close()


async def test_a_redirect_to_a_metadata_address_is_refused_before_connecting(
    sources_server: SourcesServer,
) -> None:
    sources_server.redirect("/feed.xml", "http://169.254.169.254/latest/meta-data/iam/")
    sources_server.redirect("/v6.xml", "http://[fd00:ec2::254]/latest/meta-data/")
    guarded = fetcher()
    try:
        for path, address in (("/feed.xml", "169.254.169.254"), ("/v6.xml", "fd00:ec2::254")):
            with pytest.raises(FetchError) as caught:
                await guarded.poll(sources_server.url(path), Validators())
            assert caught.value.reason is FetchReason.FORBIDDEN_ADDRESS
            assert caught.value.params == {"address": address, "kind": "metadata"}
    finally:
        await guarded.close()


async def test_an_article_link_to_a_metadata_address_keeps_the_feed_content(
    sources_server: SourcesServer,
) -> None:
    sources_server.route(
        "/feed.xml", FEED.format(link="http://169.254.169.254/latest/meta-data/"), content_type=RSS
    )
    guarded = fetcher()
    try:
        (item,) = (await guarded.poll(sources_server.url("/feed.xml"), Validators())).items
    finally:
        await guarded.close()
    assert not item.full_text and item.text == "Текст новости из самой ленты, без страницы."


async def test_the_default_resolver_still_answers_public_lookups_of_localhost() -> None:
    """The guard wraps aiohttp's own resolver: names resolve as before when the policy allows them."""
    resolver = GuardedResolver(AddressPolicy(True), DefaultResolver())
    try:
        found = await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()
    assert found and all(kind_of(ipaddress.ip_address(r["host"])) is AddressKind.PRIVATE for r in found)
