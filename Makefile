# Two commands for a new user: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench lint clean vendor-htmx system-packages

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py runserver $(HOST):$(PORT)

# Installs Debian's chromium, redis-server and nginx when missing (the browser,
# multi-process and proxy tests drive the real programs).
system-packages:
	scripts/ensure-system-packages.sh

test: $(VENV)/.dev system-packages
	$(PY) -m pytest

bench: $(VENV)/.dev
	$(PY) manage.py streamui_bench --summary
	$(PY) manage.py streamui_bench_json

# Fails on any finding: ruff (rules in pyproject.toml) over the tree, mypy strict over the app.
lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m mypy

vendor-htmx:
	scripts/vendor-htmx.sh

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache
