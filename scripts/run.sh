#!/usr/bin/env bash
# make run: the embedded CouchDB on 127.0.0.1:5984 (data in var/couchdb, git-ignored),
# then `setup`, then the API on :8000 in the foreground. Stops the CouchDB it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export KAZOO_COUCHDB_URL="${KAZOO_COUCHDB_URL:-http://127.0.0.1:5984}"
export KAZOO_LOG_FORMAT="${KAZOO_LOG_FORMAT:-console}"
mkdir -p var
couch_pid=""
cleanup() { [ -n "$couch_pid" ] && kill "$couch_pid" 2>/dev/null && wait "$couch_pid" 2>/dev/null; true; }
trap cleanup EXIT INT TERM

if curl -fsS "$KAZOO_COUCHDB_URL/_up" >/dev/null 2>&1; then
  echo "CouchDB already answers at $KAZOO_COUCHDB_URL; using it" >&2
else
  mkdir -p var/couchdb
  .venv/bin/kazoo-crossbar couchdb --host 127.0.0.1 --port 5984 --data-dir var/couchdb &
  couch_pid=$!
  for _ in $(seq 1 300); do
    curl -fsS "$KAZOO_COUCHDB_URL/_up" >/dev/null 2>&1 && break
    kill -0 "$couch_pid" 2>/dev/null || { echo "embedded CouchDB failed to start" >&2; exit 1; }
    sleep 0.1
  done
fi
.venv/bin/kazoo-crossbar setup | tail -n 1 | tee var/setup.json
.venv/bin/kazoo-crossbar serve --port "${KAZOO_CROSSBAR_PORT:-8000}"
