#!/usr/bin/env bash
# Ruff 0.17.5 from PyPI in its own venv, for the tests of the python validator's `ruff: true` (issue 23).
# Workers find Ruff on their PATH or at DEEPFABRIC_VALIDATOR_RUFF; this is the tests' copy. Prints its path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.tools/ruff-0.17.5"
if ! "$venv/bin/ruff" --version 2>/dev/null | grep -q '^ruff 0.17.5$'; then
  echo "Installing Ruff 0.17.5 from PyPI into $venv ..." >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check ruff==0.17.5 >&2
fi
echo "$venv/bin/ruff"
