#!/usr/bin/env bash
# The Temporal server (its four services as separate processes) and its SQL schema tool, for the
# cluster test (npm run test:cluster) and for operators running a cluster without Docker. Built from
# the Go module proxy at a pinned version (no release downloads on this machine), kept in
# .tools/temporal-server-<version>/ with the PostgreSQL schema files of the same version:
#   bin/temporal-server   bin/temporal-sql-tool   schema/postgresql/v12/{temporal,visibility}/versioned
# A copy also goes to ~/.cache/deepfabric/ (DEEPFABRIC_TOOLS_CACHE), so a fresh clone on the same
# machine (CI) builds it once. Prints the folder on stdout; everything else goes to stderr.
#
# The version is the one docker-compose.yml pins (temporalio/server and temporalio/admin-tools) and the
# one the embedded dev server of the pinned Temporal CLI runs: one server version is tested and shipped.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${TEMPORAL_SERVER_VERSION:-1.32.0}"
dest="$root/.tools/temporal-server-$version"
cache="${DEEPFABRIC_TOOLS_CACHE:-${HOME:-/root}/.cache/deepfabric}/temporal-server-$version"

complete() {
  [ -x "$1/bin/temporal-server" ] && [ -x "$1/bin/temporal-sql-tool" ] &&
    [ -d "$1/schema/postgresql/v12/temporal/versioned" ] && [ -d "$1/schema/postgresql/v12/visibility/versioned" ]
}

if complete "$dest"; then echo "$dest"; exit 0; fi
if complete "$cache"; then
  mkdir -p "$(dirname "$dest")" && rm -rf "$dest" && cp -a "$cache" "$dest"
  echo "$dest"; exit 0
fi
command -v go >/dev/null 2>&1 || { echo "Go is needed to build the Temporal server $version (apt-get install -y golang)" >&2; exit 1; }

echo "Building the Temporal server v$version and its sql tool from the Go module proxy (several minutes the first time) ..." >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp/bin" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install \
  "go.temporal.io/server/cmd/server@v$version" "go.temporal.io/server/cmd/tools/sql@v$version" >&2
moddir="$(cd "$tmp" && go mod download -json "go.temporal.io/server@v$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$moddir/schema/postgresql/v12" ] || { echo "schema files not found in $moddir" >&2; exit 1; }

mkdir -p "$tmp/out/bin" "$tmp/out/schema/postgresql"
mv "$tmp/bin/server" "$tmp/out/bin/temporal-server"
mv "$tmp/bin/sql" "$tmp/out/bin/temporal-sql-tool"
cp -r "$moddir/schema/postgresql/v12" "$tmp/out/schema/postgresql/"
chmod -R u+w "$tmp/out"
echo "$version" > "$tmp/out/VERSION"
mkdir -p "$(dirname "$dest")" && rm -rf "$dest" && cp -a "$tmp/out" "$dest"
if mkdir -p "$(dirname "$cache")" 2>/dev/null; then rm -rf "$cache" && cp -a "$tmp/out" "$cache" || true; fi
echo "$dest"
