# The README's commands. Only Python 3.11+ is needed beforehand: everything else is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock requirements-dev.lock | cksum | cut -d' ' -f1)
CATALOG_PO := crm/translations/zh_Hans/LC_MESSAGES/messages.po
CATALOG_MO := $(CATALOG_PO:.po=.mo)
FLASK_DEV := KEHU_ENV=development $(BIN)/flask --app wsgi
PG_SUPERUSER_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: run test lint format install translations extract-messages migrate pg-setup worker

run: install translations
	$(FLASK_DEV) db upgrade
	$(FLASK_DEV) crm seed-demo
	$(FLASK_DEV) run --host 127.0.0.1 --port 5000

test: install translations
	KEHU_ENV=test $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

install: $(STAMP)

$(STAMP): requirements.lock requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	rm -f $(VENV)/.installed-*
	touch $@

translations: $(CATALOG_MO)

$(CATALOG_MO): $(CATALOG_PO) | install
	$(BIN)/pybabel compile -d crm/translations -l zh_Hans >/dev/null

# After adding or changing user-facing strings: refresh the catalogue, then translate the new entries.
# --ignore-dirs: Babel skips folders starting with "_" by default, and templates/_macros/ has texts too.
extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k _nl:1,2 -k N_ --ignore-dirs=".*" -o crm/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i crm/translations/messages.pot -d crm/translations -l zh_Hans --no-fuzzy-matching --ignore-obsolete

migrate: install
	$(FLASK_DEV) db upgrade

# One step for a newcomer or CI: owner and app roles plus the database, from a superuser URL.
pg-setup: install
	$(FLASK_DEV) crm pg-setup --superuser-url $(PG_SUPERUSER_URL) $(PG_SETUP_ARGS)

worker: install
	$(BIN)/flask --app wsgi crm worker

# Benchmarks (bench/README.md): SIZE=S|M, BENCH_DB=postgresql|sqlite. bench-data rebuilds that bench database.
.PHONY: bench-data bench bench-import
bench-data: install
	$(BIN)/python -m bench.data --size $(or $(SIZE),S) --db $(or $(BENCH_DB),postgresql)

bench: install translations
	$(BIN)/python -m bench.run --size $(or $(SIZE),S) --db $(or $(BENCH_DB),postgresql)

# Import speed (bench/imports.py): ROWS rows into a fresh database of its own (UPDATE=1: then again, changed, mode update).
bench-import: install translations
	$(BIN)/python -m bench.imports --rows $(or $(ROWS),100000) --db $(or $(BENCH_DB),postgresql) $(if $(UPDATE),--update)
