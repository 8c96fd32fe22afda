"""bot/admin."""
