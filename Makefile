# colcw: `make demo` runs the product on embedded defaults, `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5000
PYTEST_ARGS ?=
JOBS ?= 3

# The newest Python 3.11+ on this machine, probed once and quietly: a name on PATH may be a
# pyenv shim for a version that is not installed, which prints its complaint on stderr.
ifeq ($(origin PYTHON), undefined)
PYTHON := $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
endif

.PHONY: setup demo demo-setup test test-fast lint chromium bench clean

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (none found on PATH)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

setup: $(VENV)/.installed

# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; else \
			echo "chromium is missing and cannot be installed without root: apt-get install chromium"; exit 0; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# worksteal: a worker that runs out takes tests queued on the other, so the suite does not end on one worker still
# working through a batch of slow tests sent to it early.
# Bytecode is written even where the environment says not to (PYTHONDONTWRITEBYTECODE; __pycache__ is ignored by git):
# without it each worker compiled and assertion-rewrote every test module again (collection 11.5 s -> 3.8 s of CPU per
# worker), and every `colcw worker` a test starts compiled colcw again (about 0.3 s each).
test: setup chromium lint
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -n $(JOBS) --dist worksteal $(PYTEST_ARGS)

# The fast tier: every test that needs no PostgreSQL, Redis or browser and starts no other process
# (business rules on a plain session, the client, the sandbox); it runs with those services stopped.
test-fast: setup lint
	COLCW_FAST_TIER=1 $(PY) -m pytest -n $(JOBS) --dist worksteal -m "not postgres and not redis and not browser and not processes" $(PYTEST_ARGS)

# ruff, then the import-linter contracts in pyproject.toml (layers, what services may import, no cycles).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

demo: setup
	PORT=$(PORT) $(PY) scripts/demo.py

# The same from an empty ConnectWise tenant and no connection: a first install's set-up (data in var/setup).
demo-setup: setup
	PORT=$(PORT) $(PY) scripts/demo.py --setup

# Every benchmark (each prints its figures and floors and saves its rows under var/bench/), then the
# README's Performance table rewritten from those rows; exits 1 when a bench failed or a target is not met.
bench: setup
	@rm -f var/bench/*.json; status=0; \
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || { echo "!! $$f failed"; status=1; }; done; \
	$(PY) bench/perf_table.py || status=1; exit $$status

clean:
	rm -rf $(VENV) var .pytest_cache test-artifacts
