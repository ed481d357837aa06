#!/usr/bin/env bash
# make run: the embedded CouchDB on the host and port of KAZOO_COUCHDB_URL (default
# 127.0.0.1:5984, data in var/couchdb, git-ignored) unless a CouchDB already answers there,
# then `setup`, then the API on KAZOO_CROSSBAR_PORT (default 8000) in the foreground.
# Stops the CouchDB it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export KAZOO_COUCHDB_URL="${KAZOO_COUCHDB_URL:-http://127.0.0.1:5984}"
export KAZOO_LOG_FORMAT="${KAZOO_LOG_FORMAT:-console}"
KC=.venv/bin/kazoo-crossbar
mkdir -p var
couch_pid=""
cleanup() { [ -n "$couch_pid" ] && kill "$couch_pid" 2>/dev/null && wait "$couch_pid" 2>/dev/null; true; }
trap cleanup EXIT INT TERM

# host and port of the URL (credentials and path left out), e.g. "127.0.0.1 5985"
read -r couch_host couch_port < <(.venv/bin/python -c \
  'import sys; from yarl import URL; u = URL(sys.argv[1]); print(u.host, u.port)' "$KAZOO_COUCHDB_URL")

if curl -fsS "$KAZOO_COUCHDB_URL/_up" >/dev/null 2>&1; then
  echo "CouchDB already answers at $couch_host:$couch_port; using it" >&2
elif [ "$couch_host" != 127.0.0.1 ] && [ "$couch_host" != localhost ]; then
  echo "CouchDB at $couch_host:$couch_port is not answering (the embedded one runs on this machine only)" >&2
  exit 1
else
  mkdir -p var/couchdb
  "$KC" couchdb --host "$couch_host" --port "$couch_port" --data-dir var/couchdb &
  couch_pid=$!
  for _ in $(seq 1 600); do
    curl -fsS "$KAZOO_COUCHDB_URL/_up" >/dev/null 2>&1 && break
    kill -0 "$couch_pid" 2>/dev/null || { echo "embedded CouchDB failed to start" >&2; exit 1; }
    sleep 0.1
  done
fi
"$KC" setup --state-file var/setup.json | tail -n 1
"$KC" serve --port "${KAZOO_CROSSBAR_PORT:-8000}"
