# Two commands: `make run` (the desk with the demo incident) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test venv chromium lint bench clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; it never downloads a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: $(STAMP)
	$(PY) -m desk demo

test: $(STAMP) chromium
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check desk tests bench app.py
	$(VENV)/bin/mypy desk

bench: $(STAMP)
	$(PY) bench/ingest.py
	$(PY) bench/queue_page.py
	$(PY) bench/triage.py

clean:
	rm -rf var .pytest_cache
