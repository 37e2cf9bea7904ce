#!/usr/bin/env bash
# Runs examples/quickstart.yaml end to end on this machine: the local LLM test server stands in for
# OpenAI (on a free port, or QUICKSTART_LLM_PORT), the CLI starts the Temporal dev server (SQLite
# under deepfabric-data/) and a worker.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install --no-audit --no-fund
log="$(mktemp)"
node -r tsx/cjs test/support/llm-server-main.ts --port "${QUICKSTART_LLM_PORT:-0}" --latency-ms "${QUICKSTART_LATENCY_MS:-100}" >"$log" &
llm=$!
trap 'kill $llm 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's/.*(OpenAI: \(http[^,]*\),.*/\1/p' "$log")"
  [ -n "$url" ] && break
  kill -0 "$llm" 2>/dev/null || { echo "the local LLM server did not start (see above)" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the local LLM server did not answer within 30 s" >&2; exit 1; }
echo "local test model at $url: the data below is canned text from it (varied, for trying the tool, not for training);" >&2
echo "the cost line is what gpt-4o-mini would have charged for the same tokens, the local model charges nothing." >&2
export OPENAI_BASE_URL="$url"
export OPENAI_API_KEY="${OPENAI_API_KEY:-local-test-key}"
node bin/deepfabric.js generate "${1:-examples/quickstart.yaml}"
