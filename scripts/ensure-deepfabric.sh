#!/usr/bin/env bash
# DeepFabric 4.13.0 from PyPI in its own venv (issue 19): the reference the conformance test runs.
# Tests and CI only; the product never imports it. Cached under .tools/ (or DEEPFABRIC_VENV).
# Prints the venv's python. About 800 MB and 4 minutes the first time (transformers, no torch).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${DEEPFABRIC_VENV:-$root/.tools/deepfabric-4.13.0}"
if ! "$venv/bin/python" -c 'import importlib.metadata as m; assert m.version("deepfabric") == "4.13.0"' 2>/dev/null; then
  echo "Installing DeepFabric 4.13.0 from PyPI into $venv ..." >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check deepfabric==4.13.0 >&2
fi
echo "$venv/bin/python"
