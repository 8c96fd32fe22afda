"""bot/corpus."""
