#!/usr/bin/env bash
# OpenAPI-driven fuzzing of a running `hienmau serve` with schemathesis, all checks on.
#
#   tests/fuzz/run.sh                 # SQLite (a temp file)
#   TEST_DATABASE_URL=postgres://… tests/fuzz/run.sh   # and PostgreSQL (a fresh database)
#
# Environment: HIENMAU_BIN (default target/debug/hienmau, built if missing),
# FUZZ_MAX_EXAMPLES (default 30 per operation), FUZZ_SEED (default 20240614),
# FUZZ_MAX_TIME (seconds per backend, default 240), SCHEMATHESIS (default `schemathesis`).
# Exits non-zero on any failure (a 5xx, an undocumented status, a schema or content-type
# mismatch, ...). Reports land in target/fuzz/<backend>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

bin=${HIENMAU_BIN:-$root/target/debug/hienmau}
[ -x "$bin" ] || cargo build --quiet -p hienmau-api --bin hienmau
max_examples=${FUZZ_MAX_EXAMPLES:-30}
seed=${FUZZ_SEED:-20240614}
max_time=${FUZZ_MAX_TIME:-240}
st=${SCHEMATHESIS:-schemathesis}
secret="fuzz-secret-fuzz-secret-fuzz-secret-0123456789"
password="fuzz password correct horse"

work=$(mktemp -d)
server_pid=""
pg_db=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$pg_db" ]; then
    psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# fuzz_backend NAME DATABASE_URL
fuzz_backend() {
  local name=$1 url=$2 port base token report
  port=$(free_port)
  base="http://127.0.0.1:$port"
  report="$root/target/fuzz/$name"
  rm -rf "$report"; mkdir -p "$report"
  export DATABASE_URL="$url" HIENMAU_BIND="127.0.0.1:$port" HIENMAU_JWT_SECRET="$secret"
  # Out of the fuzzer's way: sign-in throttling (it is tested elsewhere), noisy logs.
  export HIENMAU_LOGIN_THROTTLE__MAX_FAILURES_PER_USERNAME=1000000
  export HIENMAU_LOGIN_THROTTLE__MAX_FAILURES_PER_ADDRESS=1000000
  export RUST_LOG=${RUST_LOG:-warn}
  "$bin" migrate >/dev/null
  printf '%s\n' "$password" | "$bin" user create --username fuzz-admin --role admin >/dev/null
  "$bin" serve >"$report/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "$base/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  token=$(curl -fsS -H 'Content-Type: application/json' \
    -d "{\"username\":\"fuzz-admin\",\"password\":\"$password\"}" \
    "$base/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  # Some objects to hang the generated requests on (ids are random otherwise: 404s).
  printf '\n== schemathesis on %s (%s examples per operation, seed %s)\n' "$name" "$max_examples" "$seed"
  local rc=0
  "$st" --config-file "$root/tests/fuzz/schemathesis.toml" run "$base/api/v1/openapi.json" \
    --checks all \
    -H "Authorization: Bearer $token" \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --generation-deterministic \
    --workers 4 \
    --request-timeout 20 \
    --no-color \
    --report junit,ndjson --report-dir "$report" \
    || rc=$?
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  if grep -q 'panicked' "$report/server.log"; then
    echo "the server panicked during fuzzing (see $report/server.log)" >&2
    rc=1
  fi
  return $rc
}

status=0
fuzz_backend sqlite "sqlite://$work/fuzz.db" || status=1
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  pg_db="hienmau_fuzz_$$"
  psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE $pg_db" >/dev/null
  fuzz_backend postgres "${TEST_DATABASE_URL%/*}/$pg_db" || status=1
fi
exit $status
