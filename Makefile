# The two commands of the README: `make run` (seeded demo on SQLite) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app grants.app

CHROMIUM_PATH ?= $(shell command -v chromium 2>/dev/null)
export CHROMIUM_PATH

.PHONY: run serve test test-setup bench install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# the one-command demo: GRANTS_ENV=development allows a random SECRET_KEY and plain-HTTP cookies
run: export GRANTS_ENV ?= development
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) grants sync-policies
	$(FLASK) grants seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

# production: gunicorn on GUNICORN_BIND with GUNICORN_WORKERS × GUNICORN_THREADS; needs DATABASE_URL and
# SECRET_KEY (see README, "Production settings"); migrates first so /readyz reports ready
serve: $(VENV)/.installed
	$(VENV)/bin/grants db upgrade
	$(VENV)/bin/grants sync-policies
	$(VENV)/bin/grants serve


# chromium, PostgreSQL and the test database: installed/started when run as root, else says what to do
test-setup:
	.ci/setup

test: test-setup $(VENV)/.installed
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) instance *.egg-info
