# Everything goes through a local virtualenv that is created and filled on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run chat test test-all lint format bench eval ci clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## run the bot (needs BOT_TOKEN; see README)
	$(PY) -m bot

chat: $(STAMP)  ## talk to the bot in the terminal, no token or network needed
	$(PY) -m bot chat

test: $(STAMP)  ## the test suite without the slow reliability/scale tests
	$(PY) -m pytest -m "not slow"

test-all: $(STAMP)  ## every test, the slow ones too
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(STAMP)  ## benchmarks; SIZES=1000,10000 to choose corpus sizes
	$(PY) -m bench $(if $(SIZES),--sizes $(SIZES),)

eval: $(STAMP)  ## quality on the evaluation set (search, summaries, stories, dates) beside baselines
	$(PY) -m bench.quality

ci: test lint

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
