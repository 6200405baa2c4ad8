# The two commands of the README: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

export EVENTS_DATABASE_URL ?= sqlite+aiosqlite:///./events.db

.PHONY: run test test-db test-browser lock browser-setup screenshots test-postgres worker lint bench-pages bench-registration bench-feeds bench-schedule bench-documents messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Exactly the releases in the lock files (checked against their hashes), then the app itself without
# resolving anything again: a fresh machine installs what was tested. `make lock` writes the lock files.
$(VENV)/.installed-run: requirements/run.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/run.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: requirements/test.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/test.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed-run

## lock: write requirements/run.lock and requirements/test.lock from pyproject.toml with uv, keeping the
## locked releases that still satisfy it; `make lock UPGRADE=1` takes the newest releases allowed instead
UV_VERSION ?= 0.13.9
LOCK_FLAGS = --quiet --generate-hashes --python-version 3.11 $(if $(UPGRADE),--upgrade)
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile $(LOCK_FLAGS) pyproject.toml -o requirements/run.lock
	$(BIN)/uv pip compile $(LOCK_FLAGS) --extra test pyproject.toml -o requirements/test.lock

## run: create the virtualenv, migrate the SQLite database, load demo data once, serve on http://127.0.0.1:8000
## (without EVENTS_SECRET_KEY, `events-app run` on loopback makes a development key once, in .secret_key)
run: $(VENV)/.installed-run
	$(BIN)/events-app db upgrade
	$(BIN)/events-app demo --if-empty
	@echo "E-mail: with no SMTP server at $${EVENTS_SMTP_URL:-smtp://127.0.0.1:8025} nothing is delivered; read every message in the mail log, http://$(HOST):$(PORT)/organiser/mail (log in first)"
	EVENTS_RUN_WORKER_IN_PROCESS=1 $(BIN)/events-app run --host $(HOST) --port $(PORT)

# The suite runs on TEST_WORKERS processes (pytest-xdist), each with its own database (tests/conftest.py);
# TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 2
# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set: otherwise every worker of every run compiles the
# app again and pytest rewrites the asserts of ~350 modules again (its plugins' packages: schemathesis, hypothesis).
PYTEST         = PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_WORKERS)
# worksteal: a worker that runs out of tests takes some of the other's, so a few slow ones (the API fuzz, the
# form crawl, the multi-process tests) do not leave one worker busy while the other waits.
PYTEST_DB      = $(PYTEST) --dist worksteal --ignore=tests/browser $(PYTEST_ARGS)
# A browser test file shares one server and one Chromium, so a file stays on one worker; -rs names any skip.
PYTEST_BROWSER = $(PYTEST) --dist loadfile -rs tests/browser $(PYTEST_ARGS)

## test: set up what the tests need and run the whole suite in two stages: the database tests (SQLite;
## PostgreSQL when EVENTS_TEST_DATABASE_URL is set), then the browser tests
test: $(VENV)/.installed-test browser-setup
	$(PYTEST_DB)
	$(PYTEST_BROWSER)

## test-db: every test but the browser ones (CI's PostgreSQL stage)
test-db: $(VENV)/.installed-test
	$(PYTEST_DB)

## test-browser: the browser tests only (tests/browser: Chromium against a server process)
test-browser: $(VENV)/.installed-test browser-setup
	$(PYTEST_BROWSER)

# Chromium and fonts (apt, when root) and axe-core (npm) for tests/browser; never fails: the tests skip without them.
browser-setup:
	@sh tests/browser/setup.sh

## screenshots: regenerate docs/screenshots/*.png from the demo programme in a real browser
screenshots: $(VENV)/.installed-test browser-setup
	$(BIN)/python -m tests.browser.screenshots

test-postgres:
	EVENTS_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test $(MAKE) test

worker: $(VENV)/.installed-run
	$(BIN)/events-app worker

lint: $(VENV)/.installed-test
	$(BIN)/ruff check events_app tests bench

## messages: refresh the gettext catalogue template and merge new strings into every language
messages: $(VENV)/.installed-test
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 -o events_app/translations/messages.pot .
	$(BIN)/pybabel update -i events_app/translations/messages.pot -d events_app/translations --no-fuzzy-matching

bench-pages: $(VENV)/.installed-test
	$(BIN)/python bench/pages.py

bench-registration: $(VENV)/.installed-test
	$(BIN)/python bench/registration.py

bench-feeds: $(VENV)/.installed-test
	$(BIN)/python bench/feeds.py

bench-schedule: $(VENV)/.installed-test
	$(BIN)/python bench/schedule.py

bench-documents: $(VENV)/.installed-test
	$(BIN)/python bench/documents.py

clean:
	rm -rf $(VENV) .pytest_cache events.db events.db-wal events.db-shm
