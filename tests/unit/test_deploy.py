"""The deployment files agree with the program: images cannot be pulled here, so what they run is checked
instead — the commands parse, every environment name is a setting, the proxy points at the web workers,
and the image's HEALTHCHECK probe answers like the container runtime expects."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from bot.app.cli import _build_parser
from bot.app.healthcheck import health_url, probe
from bot.app.settings import BotMode, BotRole, Settings

ROOT = Path(__file__).resolve().parents[2]
BOT_SERVICES = ("web1", "web2", "worker", "webhook-set")
SETTINGS = {name.upper() for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_has_the_services_of_a_deployment(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "web1", "web2", "worker", "proxy"} <= set(services)
    roles = {name: services[name]["environment"]["BOT_ROLE"] for name in ("web1", "web2", "worker")}
    assert roles == {"web1": "web", "web2": "web", "worker": "worker"}
    assert {"pgdata", "redisdata"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]


@pytest.mark.parametrize("service", BOT_SERVICES)
def test_bot_services_run_commands_and_settings_that_exist(compose: dict[str, Any], service: str) -> None:
    spec = compose["services"][service]
    _build_parser().parse_args(spec["command"])  # exits (SystemExit) on a command the CLI does not have
    env = {key: str(value) for key, value in spec["environment"].items()}
    unknown = set(env) - SETTINGS
    assert not unknown, f"{service}: {unknown} are not settings of the bot"
    # The values pass the settings' own validation (a password placeholder stands in for interpolation).
    values = {k.lower(): v.replace("${POSTGRES_PASSWORD:-alatau}", "pw") for k, v in env.items()}
    settings = Settings(**values)  # type: ignore[arg-type]
    assert settings.database_url and settings.database_url.startswith("postgresql://alatau:pw@postgres:5432/")
    assert settings.redis_url == "redis://redis:6379/0"
    if service in ("web1", "web2"):
        assert settings.bot_role is BotRole.WEB and settings.bot_mode is BotMode.WEBHOOK


def test_the_proxy_sends_the_webhook_to_both_web_workers(compose: dict[str, Any]) -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    mounted = compose["services"]["proxy"]["volumes"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in mounted
    for service in ("web1", "web2"):
        env = compose["services"][service]["environment"]
        assert f"server {service}:{env['WEBHOOK_PORT']}" in conf
        assert f"location = {env['WEBHOOK_PATH']} {{" in conf
    assert "/metrics" not in re.sub(r"#.*", "", conf)  # metrics are not published to the internet


def test_dockerfile_runs_the_bot_unprivileged_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim AS build$", text, flags=re.MULTILINE)
    assert len(re.findall(r"^FROM ", text, flags=re.MULTILINE)) == 2
    assert re.search(r"^USER alatau$", text, flags=re.MULTILINE)
    assert 'ENTRYPOINT ["python", "-m", "bot"]' in text
    assert 'CMD ["python", "-m", "bot.app.healthcheck"]' in text
    assert "compile_catalogs()" in text
    env_names = set(re.findall(r"^\s+([A-Z_]+)=", text, flags=re.MULTILINE))
    assert env_names - {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"} <= SETTINGS
    ignored = [
        ln
        for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if not ln.startswith("#")
    ]
    for needed in ("bot", "handlers", "storage", "emulator", "pyproject.toml", "README.md"):
        assert needed not in ignored


def test_health_url_follows_the_role() -> None:
    polling = Settings(health_port=9001)
    assert health_url(polling) == "http://127.0.0.1:9001/healthz"
    web_role = Settings(bot_role=BotRole.WEB, webhook_port=9002, webhook_host="0.0.0.0")
    assert health_url(web_role) == "http://127.0.0.1:9002/healthz"
    webhook = Settings(bot_mode=BotMode.WEBHOOK, webhook_port=9003, webhook_host="10.0.0.5")
    assert health_url(webhook) == "http://10.0.0.5:9003/healthz"
    assert health_url(Settings(bot_role=BotRole.WORKER, health_port=0)) is None


@pytest.fixture
async def health_server() -> AsyncIterator[int]:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/broken", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


async def test_the_healthcheck_command_exits_0_only_when_healthz_answers(health_server: int) -> None:
    assert await asyncio.to_thread(probe, f"http://127.0.0.1:{health_server}/healthz") is None
    assert await asyncio.to_thread(probe, f"http://127.0.0.1:{health_server}/broken") == "HTTP 500"

    def run(port: int) -> subprocess.CompletedProcess[str]:
        keep = {k: v for k, v in os.environ.items() if k not in ("BOT_ROLE", "BOT_MODE", "HEALTH_PORT")}
        return subprocess.run(
            [sys.executable, "-m", "bot.app.healthcheck"],
            env={**keep, "HEALTH_PORT": str(port)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    ok = await asyncio.to_thread(run, health_server)
    assert ok.returncode == 0, ok.stderr
    with socket_closed() as port:
        down = await asyncio.to_thread(run, port)
    assert down.returncode == 1 and str(port) in down.stderr


class socket_closed:
    """A port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None
