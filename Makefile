# Everything a newcomer needs: `make run` serves, `make test` tests. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Bytecode of test runs goes outside the working tree, like every other cache of the tests.
TEST_CACHE ?= $(or $(TMPDIR),/tmp)/rewards-test-cache

.PHONY: run test bench profile lint clean translations screenshots

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

## test: the whole test suite, real gunicorn workers and a real browser included
test: $(VENV)/.dev
	PYTHONPYCACHEPREFIX=$(TEST_CACHE)/pycache $(BIN)/python -m pytest

## bench: load figures against their ceilings, written to bench/RESULTS.md
bench: $(VENV)/.dev
	$(BIN)/python bench/run.py

## profile: CPU µs and SQL statements per request of the hot routes, in one process (SQLite and PostgreSQL)
profile: $(VENV)/.dev
	$(BIN)/python bench/profile.py --postgres

## lint: ruff's checks and formatting, as Flask itself uses them
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## translations: gather the pages' strings, update the Hindi catalogue, compile it
translations: $(VENV)/.runtime
	mkdir -p $(TEST_CACHE)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext --no-location --omit-header -o $(TEST_CACHE)/messages.pot .
	$(BIN)/pybabel update -i $(TEST_CACHE)/messages.pot -d rewards/translations --ignore-obsolete
	$(BIN)/pybabel compile -d rewards/translations --statistics

## screenshots: every customer page at a phone's size, in English and Hindi, and the console's pages (two in Hindi too), into docs/screenshots
screenshots: $(VENV)/.dev
	REWARDS_SCREENSHOTS=$(CURDIR)/docs/screenshots PYTHONPYCACHEPREFIX=$(TEST_CACHE)/pycache \
		$(BIN)/python -m pytest -q tests/test_pages_browser.py -k "fits_the_screen and phone and sqlite"
	REWARDS_SCREENSHOTS=$(CURDIR)/docs/screenshots PYTHONPYCACHEPREFIX=$(TEST_CACHE)/pycache \
		$(BIN)/python -m pytest -q tests/test_console_browser.py tests/test_console_customers_browser.py \
		tests/test_console_payouts_browser.py tests/test_console_hindi_browser.py \
		-k "(fits_the_screen or fit_the_screen) and sqlite"

## clean: the virtualenv and every cache the project makes; never instance/ (your database)
clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .schemathesis .ruff_cache bench/out $(TEST_CACHE)
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
