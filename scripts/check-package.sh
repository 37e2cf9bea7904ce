#!/usr/bin/env bash
# The package as users get it (issue 19): `npm pack`, then `npm install <tarball>` in an empty folder,
# then the README's library snippet as written (an ES module, top-level await) against the local LLM
# server, `require` from CommonJS, the type declarations under `tsc`, and `deepfabric --version`.
# No tsx at run time: the installed package has compiled JavaScript only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
llm_pid=""
cleanup() { [ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cd "$root"
tarball="$(npm pack --silent --pack-destination "$work" | tail -1)"
echo "packed $tarball ($(du -h "$work/$tarball" | cut -f1))"
if tar -tzf "$work/$tarball" | grep -qE '^package/(src|test)/'; then echo "the tarball ships sources or tests" >&2; exit 1; fi

app="$work/app"
mkdir -p "$app" && cd "$app"
npm init -y >/dev/null
# Dependencies from the npm cache when it has them (CI installed the same versions a moment ago).
npm install --prefer-offline --no-audit --no-fund --loglevel=error "$work/$tarball" >/dev/null
if [ -d node_modules/tsx ]; then echo "tsx was installed with the package: it must not be needed at run time" >&2; exit 1; fi

# The README's library snippet, byte for byte, as gen.mjs.
awk '/^## Library/{f=1} f&&/^```ts$/{c=1;next} c&&/^```$/{exit} c{print}' "$root/README.md" > gen.mjs
grep -q "from 'deepfabric-temporal'" gen.mjs || { echo "README library snippet not found" >&2; exit 1; }

source "$root/scripts/llm-server.sh"
start_llm_server llm.log --port 0
url="$llm_url"

export OPENAI_BASE_URL="$url" OPENAI_API_KEY=local-test-key DEEPFABRIC_EMBEDDED_PORT=0 TEMPORAL_ADDRESS=
export TEMPORAL_CLI_PATH="${TEMPORAL_CLI_PATH:-$(bash "$root/scripts/ensure-temporal.sh")}"
node gen.mjs
lines="$(wc -l < dataset.jsonl)"
[ "$lines" -eq 100 ] || { echo "README snippet wrote $lines records, expected 100" >&2; exit 1; }
node -e "const r = JSON.parse(require('fs').readFileSync('dataset.jsonl','utf8').split('\n')[0]); if (!r.instruction || !r.output) { console.error('not alpaca:', r); process.exit(1) }"
echo "README library snippet: 100 records in alpaca format"

node -e "const { DataSetGenerator, Dataset, ValidationError } = require('deepfabric-temporal'); if (typeof DataSetGenerator !== 'function' || typeof Dataset !== 'function' || typeof ValidationError !== 'function') process.exit(1); console.log('require: ok')"

cat > check.mts <<'TS'
import { DataSetGenerator, type GenerationStats, type CreateDataArgs } from 'deepfabric-temporal';
const g: DataSetGenerator = new DataSetGenerator({ modelName: 'openai/gpt-4o-mini' });
const args: CreateDataArgs = { numSteps: 1, topics: [['a']] };
const stats: GenerationStats | undefined = g.getGenerationStats();
void args; void stats;
TS
printf "import deepfabric = require('deepfabric-temporal');\nconst g: deepfabric.DataSetGenerator = new deepfabric.DataSetGenerator({ modelName: 'openai/gpt-4o-mini' });\nvoid g;\n" > check.cts
node "$root/node_modules/typescript/bin/tsc" --noEmit --strict --module nodenext --moduleResolution nodenext --skipLibCheck check.mts check.cts
echo "types: ok (import and require)"

version="$(npx --no-install deepfabric --version)"
[ "$version" = "$(node -p "require('$root/package.json').version")" ] || { echo "deepfabric --version printed '$version'" >&2; exit 1; }
# The CLI's own start-up: compiled JavaScript, no transpiling (CPU time is stable under load, wall time is not).
TIMEFORMAT='deepfabric --version: %R s wall, %U s user + %S s system CPU'
time node_modules/.bin/deepfabric --version >/dev/null
TIMEFORMAT='deepfabric --help (every command loaded): %R s wall, %U s user + %S s system CPU'
time node_modules/.bin/deepfabric --help >/dev/null
echo "package check passed"
