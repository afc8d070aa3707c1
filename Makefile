# Two entry points: `make demo` (install, run the main job) and `make test` (install, lint, test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: demo test install install-test web-assets browser bench docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

# Leaflet for the web page comes from the npm registry and is served locally (no CDN).
web-assets:
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python scripts/web_assets.py

# Debian's Chromium for the end-to-end browser tests (installed only where we are root).
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != "0" ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

demo: install
	$(BIN)/corridor demo -o $(OUT)

test: install-test web-assets browser
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 tests

# the documentation site with the API reference from the docstrings, built offline into site/
docs: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[docs]'
	$(BIN)/mkdocs build --strict

bench: install-test
	$(BIN)/python bench/bench_route.py
	$(BIN)/python bench/bench_assign.py
	$(BIN)/python bench/bench_load.py
