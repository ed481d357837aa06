# Two commands: `make run` serves on :8000 with the embedded CouchDB on :5984;
# `make test` installs everything and runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := couchdb_server/node_modules/.installed

.PHONY: install run test test-couchdb test-cluster lint bench clean screenshots

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

# The whole suite against any Apache CouchDB 3 (a scratch one: the tests create accounts and
# documents in it): make test-couchdb COUCHDB_URL=http://admin:PASSWORD@127.0.0.1:5984
# (README: "Running the tests on CouchDB 3"). The lines naming the URL are not echoed (its password).
test-couchdb: install
	@test -n '$(COUCHDB_URL)' || { echo 'make test-couchdb: give COUCHDB_URL=http://admin:PASSWORD@HOST:PORT' >&2; exit 2; }
	./scripts/ensure-rabbitmq.sh
	./scripts/ensure-chromium.sh
	@echo 'pytest against $(shell printf '%s' '$(COUCHDB_URL)' | sed -E 's#//([^:/@]*):[^@]*@#//\1:***@#')'
	@KAZOO_COUCHDB_URL='$(COUCHDB_URL)' $(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# The cluster tier (tests/cluster/) on a 3-node CouchDB 3 cluster whose first node is COUCHDB_URL.
# To kill and restart nodes it needs COUCHDB3_DIR (the folder with start.sh) and COUCHDB3_STATE (the
# DIR the cluster was started with); without them those tests skip. No tests there: passes.
test-cluster: install
	@test -n '$(COUCHDB_URL)' || { echo 'make test-cluster: give COUCHDB_URL=http://admin:PASSWORD@HOST:PORT' >&2; exit 2; }
	./scripts/ensure-rabbitmq.sh
	@if [ ! -d tests/cluster ]; then echo 'make test-cluster: no tests/cluster folder, nothing to run'; exit 0; fi; \
	KAZOO_COUCHDB_URL='$(COUCHDB_URL)' KAZOO_COUCHDB3_DIR='$(COUCHDB3_DIR)' KAZOO_COUCHDB3_STATE='$(COUCHDB3_STATE)' \
		$(PY) -m pytest -p no:cacheprovider tests/cluster $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo 'make test-cluster: tests/cluster holds no tests'; exit 0; fi; exit $$rc

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
