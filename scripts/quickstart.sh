#!/usr/bin/env bash
# Runs examples/quickstart.yaml end to end on this machine: the local LLM test server stands in for
# OpenAI (on a free port, or QUICKSTART_LLM_PORT), the CLI starts the Temporal dev server (SQLite
# under deepfabric-data/) and a worker.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install --no-audit --no-fund
log="$(mktemp)"
llm_pid=""
trap '[ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null; rm -f "$log"' EXIT
source scripts/llm-server.sh
start_llm_server "$log" --port "${QUICKSTART_LLM_PORT:-0}" --latency-ms "${QUICKSTART_LATENCY_MS:-100}"
url="$llm_url"
echo "local test model at $url: the data below is canned text from it (varied, for trying the tool, not for training);" >&2
echo "the cost line is what gpt-4o-mini would have charged for the same tokens, the local model charges nothing." >&2
export OPENAI_BASE_URL="$url"
export OPENAI_API_KEY="${OPENAI_API_KEY:-local-test-key}"
node bin/deepfabric.js generate "${1:-examples/quickstart.yaml}"
