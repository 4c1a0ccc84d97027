# ticketsystem — two commands: `make run` and `make test` (`make test-fast` while you work).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run worker test test-fast lint format check-deploy setup clean bench messages

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

setup: $(VENV)/.installed

## make run: set up, migrate the embedded SQLite default, create the first admin, serve.
## One daphne process serves pages and websockets here; production runs gunicorn for pages
## and daphne for /ws/ (docker-compose.yml, docs/operations.md "Serving").
run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py reindex --if-missing
	$(PY) manage.py bootstrapadmin
	@echo "Serving on http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	$(VENV)/bin/python -m ticketsystem.serve --bind 127.0.0.1 --port $(PORT) ticketsystem.asgi:application

## make worker: the mail task worker, for a setup with TASKS_BACKEND=database (`make run`
## without it sends mail right after each commit: the immediate backend, docs/email.md).
worker: setup
	$(PY) manage.py db_worker

## make messages: refresh the German catalogues from the code, then compile them (needs
## gettext; translate every new entry in locale/de/LC_MESSAGES/*.po, formal "Sie").
messages: setup
	$(PY) manage.py makemessages -l de --no-location --no-obsolete --ignore=.venv --ignore=bench --ignore=tests
	$(PY) manage.py makemessages -d djangojs -l de --no-location --no-obsolete --ignore=.venv --ignore=bench --ignore=tests --ignore=static/vendor
	$(PY) manage.py compilemessages -l de --ignore=.venv

## make test: the whole suite (PostgreSQL and Redis when reachable; see the report header).
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

## make test-fast: the loop you run every few minutes; no browser, no slow files (see
## tests/conftest.py MARKS). CI runs `make test`.
test-fast: setup
	$(PY) -m pytest -q -m "not slow and not browser" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## production-mode deploy check with throwaway secrets (what CI runs)
check-deploy: setup
	$(PY) -m tests.deploycheck

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
