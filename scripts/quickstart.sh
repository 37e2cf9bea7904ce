#!/usr/bin/env bash
# Runs examples/quickstart.yaml end to end on this machine: the local LLM test server stands in for
# OpenAI, the CLI starts the Temporal dev server (SQLite under deepfabric-data/) and a worker.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm install --no-audit --no-fund
port="${QUICKSTART_LLM_PORT:-8787}"
node -r tsx/cjs test/support/llm-server-main.ts --port "$port" --latency-ms "${QUICKSTART_LATENCY_MS:-100}" &
llm=$!
trap 'kill $llm 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
export OPENAI_BASE_URL="http://127.0.0.1:$port/v1"
export OPENAI_API_KEY="${OPENAI_API_KEY:-local-test-key}"
node bin/deepfabric.js generate "${1:-examples/quickstart.yaml}"
