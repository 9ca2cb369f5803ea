#!/usr/bin/env bash
# OpenAPI-driven fuzzing of a running `hienmau serve` with schemathesis: every check on
# (see tests/fuzz/schemathesis.toml for the two documented exceptions), bounded examples,
# deterministic generation. Fails on any check failure and on any 5xx.
#
#   tests/fuzz/run.sh                                    # SQLite (a temp file)
#   TEST_DATABASE_URL=postgres://…/db tests/fuzz/run.sh  # and PostgreSQL (a fresh database)
#
# Environment:
#   HIENMAU_BIN        the binary (default target/debug/hienmau, built when missing)
#   FUZZ_MAX_EXAMPLES  cases per operation and phase (default 30)
#   FUZZ_TIMEOUT       seconds per backend before the run is stopped and failed (default 600)
#   SCHEMATHESIS       a schemathesis executable to use; by default one is installed into
#                      target/fuzz/venv-<python> (pinned version) with Python ≥ 3.12 when available
# Reports (JUnit, NDJSON, the server's log) land in target/fuzz/<backend>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

SCHEMATHESIS_VERSION=4.32.5
bin=${HIENMAU_BIN:-$root/target/debug/hienmau}
[ -x "$bin" ] || cargo build --quiet -p hienmau-api --bin hienmau
max_examples=${FUZZ_MAX_EXAMPLES:-30}
fuzz_timeout=${FUZZ_TIMEOUT:-600}
secret="fuzz-secret-fuzz-secret-fuzz-secret-0123456789"
audit_key="fuzz-audit-key-0123456789abcdefghijklmnopqrstuvwxyz"
password="fuzz password correct horse"

# schemathesis: CPython 3.11.7's ast module fails on schemathesis' largest module ("AST
# constructor recursion depth mismatch", raised through hypothesis), so prefer 3.12+.
st=${SCHEMATHESIS:-}
if [ -z "$st" ]; then
  py=python3
  for cand in python3.13 python3.12 \
    $(command -v pyenv >/dev/null 2>&1 && ls -d "$(pyenv root)"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -Vr); do
    if "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
      py=$cand; break
    fi
  done
  venv="$root/target/fuzz/venv-$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  st="$venv/bin/schemathesis"
fi

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
  local name=$1 url=$2 port base token report rc=0
  port=$(free_port)
  base="http://127.0.0.1:$port"
  report="$root/target/fuzz/$name"
  rm -rf "$report"; mkdir -p "$report"
  export DATABASE_URL="$url" HIENMAU_BIND="127.0.0.1:$port" HIENMAU_JWT_SECRET="$secret"
  export HIENMAU_AUDIT_KEY="$audit_key"
  # Sign-in throttling is tested elsewhere; keep it out of the fuzzer's way.
  export HIENMAU_LOGIN_THROTTLE__MAX_FAILURES_PER_USERNAME=1000000
  export HIENMAU_LOGIN_THROTTLE__MAX_FAILURES_PER_ADDRESS=1000000
  # The per-caller limit of expensive routes (429) likewise: the fuzzer is one caller.
  export HIENMAU_ABUSE__EXPENSIVE_PER_MINUTE=1000000 HIENMAU_ABUSE__EXPENSIVE_BURST=1000000
  # And the budget of donors shown per hour (GET /donors, GET /donors/{id}): the fuzzer's
  # pages of up to 500 donors would spend the default 2,000 within the run and leave the
  # donor reads answering only 429 (documented, so conforming, but no longer exercised).
  export HIENMAU_REGISTRY__DONORS_PER_HOUR=1000000000
  # And the busy shares of heavy work (sign-in hashes, expensive routes), which make a flood
  # wait and then answer 503: measured by hienmau-bench and the unit tests of limits.rs, while
  # the fuzzer sends its cases back to back to a debug build.
  export HIENMAU_LOGIN_THROTTLE__HASH_BUSY_PERCENT=100 HIENMAU_ABUSE__EXPENSIVE_BUSY_PERCENT=100
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
  printf '\n== schemathesis %s on %s (%s examples per operation, deterministic)\n' \
    "$SCHEMATHESIS_VERSION" "$name" "$max_examples"
  # Run from the report folder: schemathesis keeps a cache (.schemathesis/) in its working
  # directory, which would replay earlier runs' cases and land in the repository.
  (cd "$report" && timeout "$fuzz_timeout" "$st" --config-file "$root/tests/fuzz/schemathesis.toml" \
    run "$base/api/v1/openapi.json" \
    -H "Authorization: Bearer $token" \
    --max-examples "$max_examples" \
    --generation-deterministic \
    --workers 4 \
    --request-timeout 20 \
    --no-color \
    --report junit,ndjson --report-dir "$report") \
    || rc=$?
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  printf '\n== figures (%s)\n' "$name"
  python3 "$root/tests/fuzz/summary.py" "$report"/ndjson-*.ndjson || rc=1
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
