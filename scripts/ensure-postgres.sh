#!/usr/bin/env bash
# PostgreSQL binaries for the run-store tests (they start a throwaway cluster with initdb + pg_ctl).
# Found under /usr/lib/postgresql or PG_BIN; else installed from Debian's package when we may.
set -euo pipefail
if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then exit 0; fi
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
  echo "Installing PostgreSQL (Debian package) for the run-store tests ..." >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
fi
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi
echo "PostgreSQL binaries (initdb, pg_ctl) not found: install PostgreSQL (apt-get install postgresql) or set PG_BIN" >&2
exit 1
