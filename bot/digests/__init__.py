"""bot/digests."""
