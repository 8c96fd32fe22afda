"""Quality evaluation: a labelled set of news texts and `python -m bench.quality`, which scores the bot on it."""
