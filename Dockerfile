# syntax=docker/dockerfile:1
# The bot's image: `docker build -t alatau-news-bot .` (or `docker compose build`).
# One image for every role: BOT_ROLE=all (default), web or worker; see README, "Deploy".

# -- build: the virtualenv with the bot and its dependencies, the translations compiled -------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from pyproject alone: this layer is reused while only the code changes.
COPY pyproject.toml README.md ./
RUN mkdir -p bot handlers storage emulator \
    && touch bot/__init__.py handlers/__init__.py storage/__init__.py emulator/__init__.py \
    && pip install . \
    && pip uninstall --yes alatau-news-bot
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY emulator ./emulator
RUN pip install --no-deps . \
    # The .mo catalogs are built here, so that the read-only install never needs to write them at start.
    && python -c "from bot.i18n import compile_catalogs; compile_catalogs()" \
    && python -c "import bot.i18n, pathlib; p = pathlib.Path(bot.i18n.__file__).parent; \
assert len(list(p.glob('locales/*/LC_MESSAGES/*.mo'))) == 3, 'catalogs not compiled'" \
    && python -m compileall -q /opt/venv/lib

# -- run: the virtualenv only, as an unprivileged user --------------------------------------------------------
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_PATH=/data/alatau.db \
    HEALTH_HOST=0.0.0.0 \
    HEALTH_PORT=8081 \
    WEBHOOK_HOST=0.0.0.0 \
    WEBHOOK_PORT=8080 \
    LOG_FORMAT=json
RUN groupadd --system --gid 10001 alatau \
    && useradd --system --uid 10001 --gid alatau --home-dir /data --shell /usr/sbin/nologin alatau \
    && mkdir /data && chown alatau:alatau /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /data
USER alatau
# SQLite's database (when DATABASE_URL is not set) and the playground's log live here.
VOLUME ["/data"]
# 8080: the webhook (and its /healthz, /readyz, /metrics); 8081: /healthz, /readyz, /metrics otherwise.
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot.app.healthcheck"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
