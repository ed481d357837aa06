#!/usr/bin/env bash
# The browser tests drive Debian's chromium through Playwright (never a downloaded browser build).
# Install it with apt when it is missing (CI starts on a fresh machine); quiet and idempotent.
set -eu
command -v chromium >/dev/null 2>&1 && exit 0
[ -x /usr/bin/chromium ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "chromium could not be installed; the browser tests will fail" >&2; exit 1; }
