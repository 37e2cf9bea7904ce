#!/usr/bin/env bash
# DeepFabric 3.13.0's wheel from PyPI, unpacked (issue 19): the conformance test runs its built-in
# formatters (alpaca, chatml, conversations, harmony, openai, tool_calling, single_tool_call,
# xlam_v2) on this project's records and compares their output with this project's formats of the
# same names. Only the formatter modules and their pydantic models are loaded (in the DeepFabric
# 4.13 venv, which has pydantic); nothing is installed. Cached under .tools/ (or DEEPFABRIC3_ROOT).
# Prints the folder that holds the `deepfabric` package.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${DEEPFABRIC3_ROOT:-$root/.tools/deepfabric-3.13.0}"
if [ ! -f "$dir/deepfabric/formatters/builtin/chatml.py" ]; then
  echo "Fetching DeepFabric 3.13.0's wheel from PyPI into $dir ..." >&2
  mkdir -p "$dir"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps deepfabric==3.13.0 -d "$dir/wheel" >&2
  python3 -m zipfile -e "$dir"/wheel/deepfabric-3.13.0-*.whl "$dir" >&2
fi
echo "$dir"
