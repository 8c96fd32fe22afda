"""Alatau News Bot: the application (settings, entry point, corpus engine, digests, delivery)."""
