"""Benchmarks: `make bench` (or `python -m bench`). Each prints its figures beside a baseline from the same run."""
