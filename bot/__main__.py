from bot.app.lazy_models import defer_aiogram_models

# Before anything imports aiogram: its models are built as they are first used (~100 MB less).
defer_aiogram_models()

from bot.app.cli import run  # noqa: E402

run()
