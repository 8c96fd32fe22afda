"""handlers/subscriptions."""
