# Mercato — the README's commands. Everything installs into .venv and node_modules.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres lint bench demo install install-test assets migrate clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

.stamp-install: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

.stamp-install-test: .stamp-install requirements-test.lock
	$(BIN)/pip install --quiet -r requirements-test.lock
	@touch $@

.stamp-assets: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p src/mercato/web/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js src/mercato/web/static/vendor/
	cp node_modules/hls.js/dist/hls.min.js src/mercato/web/static/vendor/
	mkdir -p src/mercato/web/static/vendor/uplot
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE \
	   src/mercato/web/static/vendor/uplot/
	mkdir -p src/mercato/web/static/vendor/swagger-ui
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	   node_modules/swagger-ui-dist/LICENSE src/mercato/web/static/vendor/swagger-ui/
	@touch $@

install: .stamp-install assets
install-test: .stamp-install-test assets
assets: .stamp-assets

migrate: install
	$(BIN)/mercato migrate

demo: install
	$(BIN)/mercato demo

## make run: install, migrate, seed the demo world if the database is empty, serve on SQLite.
run: install
	$(BIN)/mercato serve --demo --host $(HOST) --port $(PORT)

## make test: the whole suite on SQLite, then again on PostgreSQL, then make lint.
## What needs a missing system package is skipped (one line says what and how to install it);
## a pass with nothing left to run (pytest's exit status 5) is not a failure.
test: install-test
	@echo "=== test suite on SQLite ==="
	MERCATO_TEST_DB=sqlite $(BIN)/python -m pytest -q || [ $$? -eq 5 ]
	@echo "=== test suite on PostgreSQL ==="
	MERCATO_TEST_DB=postgresql $(BIN)/python -m pytest -q || [ $$? -eq 5 ]
	@$(MAKE) --no-print-directory lint

test-sqlite: install-test
	MERCATO_TEST_DB=sqlite $(BIN)/python -m pytest -q || [ $$? -eq 5 ]

test-postgres: install-test
	MERCATO_TEST_DB=postgresql $(BIN)/python -m pytest -q || [ $$? -eq 5 ]

## make lint: ruff, mypy --strict, the import-linter contracts (pyproject.toml) and tools/lint_architecture.py.
lint: install-test
	$(BIN)/ruff check src tests benchmarks migrations tools
	$(BIN)/mypy
	$(BIN)/mypy --strict tools
	$(BIN)/lint-imports --no-cache
	$(BIN)/python tools/lint_architecture.py

bench: install-test
	mkdir -p benchmarks/results
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) node_modules .stamp-* src/mercato/web/static/vendor
