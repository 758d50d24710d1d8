# Everything a newcomer needs: `make run` serves, `make test` tests. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench fuzz lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## run: create the schema (keeps data) and serve with gunicorn on $PORT (default 8000)
run: $(VENV)/.runtime
	$(BIN)/flask --app app init-db
	$(BIN)/gunicorn app:app

## test: the whole test suite, real gunicorn workers included
test: $(VENV)/.dev
	$(BIN)/python -m pytest

## bench: load figures against their ceilings, written to bench/RESULTS.md
bench: $(VENV)/.dev
	$(BIN)/python bench/run.py

## lint: ruff's checks and formatting, as Flask itself uses them
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache
