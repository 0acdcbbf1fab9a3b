# Threadline: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint format bench system-packages migrations-check backup restore serve

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
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo_data
	@echo "Threadline is starting on http://127.0.0.1:8000 (Ctrl-C stops it)"
	$(BIN)/python manage.py runserver 127.0.0.1:8000

## test: the whole suite; DATABASE_URL=postgres://... runs it against PostgreSQL
test: $(VENV)/.dev-installed system-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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
