# Two commands are the whole set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_DB ?= sqlite:///demo.sqlite3
PORT ?= 8000

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Another port: make demo PORT=8080.
# Re-runnable: the schema is upgraded, an unchanged study is left alone, existing demo users
# and subjects are kept (new users' random passwords are printed once, stored only hashed).
# Version 1 is loaded and seeded, then version 2 (amendment 1) is published and the demo
# subjects migrated to it: the designer's review of a draft can be tried with a version 3.
demo: $(STAMP)
	$(BIN)/edc db upgrade --db $(DEMO_DB)
	$(BIN)/edc study load metadata/bortezomib-retreatment.xml --db $(DEMO_DB)
	$(BIN)/edc demo seed --db $(DEMO_DB)
	$(BIN)/edc study load metadata/bortezomib-retreatment-v2.xml --publish --user demo --reason "Amendment 1: version 2 of the study" --db $(DEMO_DB)
	$(BIN)/edc study migrate --to 2 --user data-manager --reason "Amendment 1: version 2 of the study" --db $(DEMO_DB)
	exec $(BIN)/edc serve --host 127.0.0.1 --port $(PORT) --db $(DEMO_DB)

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
