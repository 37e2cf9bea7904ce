# Sourced by scripts that need the local LLM test server (quickstart.sh, check-package.sh).
# start_llm_server LOG [ARGS...]: starts test/support/llm-server-main.ts with ARGS in the background,
# output to LOG, and waits for its URL: sets llm_pid and llm_url (OpenAI base URL), or fails.
start_llm_server() {
  local log="$1"
  shift
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  node -r "$root/node_modules/tsx/dist/cjs/index.cjs" "$root/test/support/llm-server-main.ts" "$@" >"$log" &
  llm_pid=$!
  llm_url=""
  for _ in $(seq 1 300); do
    llm_url="$(sed -n 's/.*(OpenAI: \(http[^,]*\),.*/\1/p' "$log")"
    [ -n "$llm_url" ] && return 0
    kill -0 "$llm_pid" 2>/dev/null || { echo "the local LLM server did not start (see above)" >&2; return 1; }
    sleep 0.1
  done
  echo "the local LLM server did not answer within 30 s" >&2
  return 1
}
