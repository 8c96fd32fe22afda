"""Sources: the feeds and channels the corpus follows.

The fetching layer (feeds: the public interface; errors, http, parse, extract, decode, robots, urls) is a
pure library — no storage, no aiogram, no services (an import-linter contract); the service, its schedule
and the filters build on it."""
