#!/usr/bin/env bash
# Headless Chromium for the report test (issue 23): Debian's `chromium` package, or CHROMIUM_BIN.
set -euo pipefail
if [ -n "${CHROMIUM_BIN:-}" ] && [ -x "$CHROMIUM_BIN" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
  echo "Installing Chromium (Debian package) for the report test ..." >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  fi
fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
echo "Chromium not found: install it (apt-get install chromium) or set CHROMIUM_BIN" >&2
exit 1
