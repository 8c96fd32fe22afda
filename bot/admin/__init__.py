"""The admins' side of the corpus, without Telegram: uploads (previews, pending texts, bulk runs),
documents (the list, hide and show, delete with undo, edits), stats (+ the chart), the audit log, and the
typed errors. The container (bot/app/container.py) builds each service once from its dependencies."""
