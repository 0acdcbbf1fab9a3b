# Threadline: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
NODE ?= node
# Test processes (pytest-xdist): one per core by default.
PYTEST_WORKERS ?= auto

.PHONY: run test test-js lint format bench system-packages migrations-check backup restore serve loadtest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

system-packages: | $(BIN)/python
	@$(BIN)/python -m clinic.system_packages

## run: set up, migrate, load the demo clinic and serve on http://127.0.0.1:8000 (SQLite in var/)
run: $(VENV)/.runtime-installed system-packages
	@$(BIN)/python manage.py migrate --noinput -v 0
	@$(BIN)/python manage.py load_demo_data
	@echo "Threadline is starting on http://127.0.0.1:8000 (Ctrl-C stops it)"
	$(BIN)/python manage.py runserver 127.0.0.1:8000

## test: the whole suite, the planner's script first; DATABASE_URL=postgres://... runs it against PostgreSQL
##       (PYTEST_ARGS=--create-db rebuilds PostgreSQL's kept test databases)
test: test-js $(VENV)/.dev-installed system-packages
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

## test-js: the planner's script: every file parses, and its model passes tests/js under node --test
test-js:
	@command -v $(NODE) >/dev/null || { echo "make test needs Node.js 18 or later for tests/js (node --test): apt-get install nodejs"; exit 2; }
	@for script in static/js/*.js static/js/planner/*.js; do $(NODE) --check "$$script" || exit 1; done
	$(NODE) --test tests/js/

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy clinic consultations treatments

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: $(VENV)/.runtime-installed
	$(BIN)/python manage.py makemigrations --check --dry-run

## bench: speed targets, as medians and ratios to floors measured in the same run
bench: $(VENV)/.dev-installed system-packages
	$(BIN)/python -m bench

## backup: database and private media into var/backups/threadline-<time>/
backup: $(VENV)/.runtime-installed
	$(BIN)/python manage.py backup var/backups

## restore FROM=var/backups/threadline-...: replace the data with a backup (asks first)
restore: $(VENV)/.runtime-installed
	@test -n "$(FROM)" || (echo "Name the backup folder: make restore FROM=var/backups/threadline-..." && exit 2)
	$(BIN)/python manage.py restore "$(FROM)"

## serve: production-style: collectstatic, migrate, gunicorn and the task worker (Ctrl-C stops both)
serve: $(VENV)/.runtime-installed system-packages
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py migrate --noinput
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/python manage.py db_worker & \
	$(BIN)/gunicorn clinic.wsgi:application -c gunicorn.conf.py

## loadtest: 50 users for 2 minutes against gunicorn on the large clinic (DATABASE_URL=postgres://…)
LOADTEST_ENV = DEBUG=0 SECRET_KEY=loadtest-only-$$(date +%s)-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx \
	CONSENT_SIGNING_KEY_FILE=bench/results/loadtest-consent-key.pem \
	ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=0 SECURE_COOKIES=0 TWO_FACTOR_REQUIRED_ROLES= \
	LOADTEST_PASSWORD=loadtest-password-2026 LOG_LEVEL=WARNING WEB_CONCURRENCY=5 BIND=127.0.0.1:8765
loadtest: $(VENV)/.runtime-installed system-packages
	@case "$$DATABASE_URL" in postgres*) ;; *) echo "make loadtest needs DATABASE_URL=postgres://…"; exit 2;; esac
	test -x .venv-load/bin/locust || ($(PYTHON) -m venv .venv-load && .venv-load/bin/pip install -q -r bench/loadtest/requirements.txt)
	mkdir -p bench/results
	test -f bench/results/loadtest-consent-key.pem || $(BIN)/python -m clinic.signing_keys > bench/results/loadtest-consent-key.pem
	$(LOADTEST_ENV) $(BIN)/python manage.py migrate --noinput -v0
	$(LOADTEST_ENV) $(BIN)/python manage.py collectstatic --noinput -v0
	$(LOADTEST_ENV) $(BIN)/python -m bench.loadtest.prepare bench/results/loadtest-data.json
	$(LOADTEST_ENV) $(BIN)/gunicorn clinic.wsgi:application -c gunicorn.conf.py --daemon --pid bench/results/gunicorn.pid
	sleep 3
	$(LOADTEST_ENV) LOADTEST_DATA=bench/results/loadtest-data.json .venv-load/bin/locust -f bench/loadtest/locustfile.py \
		--headless -u 50 -r 10 -t 2m --host http://127.0.0.1:8765 --csv bench/results/loadtest --only-summary \
		|| true
	kill $$(cat bench/results/gunicorn.pid)
	$(LOADTEST_ENV) LOADTEST_SHAPE="50 users, 2 minutes, 5 gunicorn workers." $(BIN)/python -m bench.loadtest.report bench/results/loadtest bench/loadtest/REPORT.md
