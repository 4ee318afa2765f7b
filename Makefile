# Civic Map Kraków — the two commands: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format install system system-test db-down clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	@touch $@

install: $(STAMP)
	@if [ -d app/translations ]; then $(VENV)/bin/pybabel compile -f -d app/translations >/dev/null; fi

system:
	@sh tools/system-deps.sh

system-test:
	@sh tools/system-deps.sh --test

## Serve the app on http://127.0.0.1:$${PORT:-5000} with the embedded PostGIS (or DATABASE_URL).
run: system install
	$(VENV)/bin/civicmap up
	BASEMAP=$${BASEMAP:-osm} $(VENV)/bin/civicmap serve

## Lint, import rules, and every test against a throwaway PostGIS and real Chromium.
test: system-test install lint
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

db-down:
	$(VENV)/bin/civicmap db down

clean: db-down
	rm -rf var $(VENV)
