# Two commands: `make run` serves on :8000 with the embedded CouchDB on :5984;
# `make test` installs everything and runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := couchdb_server/node_modules/.installed

.PHONY: install run test lint bench clean screenshots

install: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(NODE_STAMP): couchdb_server/package.json couchdb_server/package-lock.json
	cd couchdb_server && npm ci --no-audit --no-fund
	touch $@

run: install
	./scripts/run.sh

# Gates that run before the suite: formatting, lint and types (configured in pyproject.toml).
lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: install lint
	./scripts/ensure-rabbitmq.sh
	./scripts/ensure-chromium.sh
	./couchdb_server/smoke.sh  # the embedded server's CouchDB-3 behaviours that the suite does not reach
	$(PY) -m pytest -p no:cacheprovider

# Both engines: COUCHDB3_DIR=<the CouchDB 3.5 build's folder with start.sh/stop.sh> (a fresh node per
# benchmark, and the 3-node cluster row) or COUCHDB_URL=http://admin:pass@host:port (any CouchDB 3).
bench: install
	./scripts/ensure-rabbitmq.sh
	COUCHDB3_DIR='$(COUCHDB3_DIR)' COUCHDB_URL='$(COUCHDB_URL)' $(PY) bench/run_all.py $(BENCH_ARGS)

# PNGs of every console screen into docs/console/ (a throw-away CouchDB and service on loopback ports)
screenshots: install
	./scripts/ensure-chromium.sh
	$(PY) scripts/screenshots.py docs/console

clean:
	rm -rf $(VENV) couchdb_server/node_modules var
