#!/usr/bin/env bash
#
# The one test command: runs the whole suite twice, on both storage stacks.
#
#   scripts/test.sh [FILTER...] [-- TEST-BINARY-ARGS...]
#
#   1. SQLite + in-process ephemeral store (the embedded default)
#   2. PostgreSQL + Redis (the production stack), both started here as
#      throwaway servers on free 127.0.0.1 ports and removed on exit
#
# Works on a fresh Debian 12 machine: installs postgresql, redis-server,
# chromium, chromium-driver, nodejs, npm and python3-venv when missing (as
# root, or via sudo), a Python venv with python-keycloak for the compatibility
# test and the npm package keycloak-js for the browser test of the adapter.
#
# Arguments before `--` are cargo test filters; arguments after `--` go to
# the test binaries (after --test-threads=4).  Examples:
#   scripts/test.sh                      everything
#   scripts/test.sh token_endpoint       only tests whose name contains it
#   scripts/test.sh discovery -- --nocapture
#
# Environment:
#   CARGO_TARGET_DIR   build cache (default: ~/.cache/nexus/target, outside
#                      the clone so fresh clones on one machine share builds)
#
# The last line printed is "N passed, M failed", summed over both runs; the
# exit status is non-zero when either run failed.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=scripts/lib/services.sh
. "$REPO_ROOT/scripts/lib/services.sh"

# shellcheck disable=SC2317  # invoked by trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    nexus_svc_cleanup
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- arguments ------------------------------------------------------------
FILTERS=()
BIN_ARGS=()
seen_dashdash=""
for arg in "$@"; do
    if [ -z "$seen_dashdash" ] && [ "$arg" = "--" ]; then
        seen_dashdash=1
    elif [ -n "$seen_dashdash" ]; then
        BIN_ARGS+=("$arg")
    else
        FILTERS+=("$arg")
    fi
done

# ---- environment ----------------------------------------------------------
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME
CACHE_DIR="$HOME/.cache/nexus"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE_DIR/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CACHE_DIR"

command -v cargo >/dev/null 2>&1 || nexus_die "cargo not found in PATH"

nexus_ensure_packages \
    '/usr/lib/postgresql/*/bin/initdb:postgresql' \
    redis-server:redis-server \
    redis-cli:redis-tools \
    /usr/bin/chromium:chromium \
    /usr/bin/chromedriver:chromium-driver \
    python3:python3 \
    node:nodejs \
    npm:npm \
    runuser:util-linux

# python3 -m venv needs ensurepip, which Debian ships in python3-venv.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    nexus_log "python3 cannot create venvs; installing python3-venv"
    nexus_apt_install python3-venv
fi

export NEXUS_TEST_CHROMEDRIVER=/usr/bin/chromedriver
export NEXUS_TEST_CHROMIUM=/usr/bin/chromium

# ---- python-keycloak venv (for the Keycloak-client compatibility test) ------
PY_KEYCLOAK_VERSION=7.1.1
VENV="$CACHE_DIR/venv"
venv_ok() {
    "$VENV/bin/python" - "$PY_KEYCLOAK_VERSION" >/dev/null 2>&1 <<'EOF'
import sys
from importlib.metadata import version
import keycloak  # noqa: F401
sys.exit(0 if version("python-keycloak") == sys.argv[1] else 1)
EOF
}
if ! venv_ok; then
    nexus_log "setting up $VENV with python-keycloak==$PY_KEYCLOAK_VERSION"
    # --clear also repairs a venv whose interpreter went away.
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; then
        python3 -m venv --clear "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "python-keycloak==$PY_KEYCLOAK_VERSION"
    venv_ok || nexus_die "python-keycloak not importable from $VENV"
fi
export NEXUS_TEST_PYTHON="$VENV/bin/python"

# ---- keycloak-js (the real Keycloak JavaScript adapter, for keycloak_js.rs) ---
KEYCLOAK_JS_VERSION=26.2.4
KEYCLOAK_JS_PREFIX="$CACHE_DIR/npm/keycloak-js-$KEYCLOAK_JS_VERSION"
KEYCLOAK_JS_DIR="$KEYCLOAK_JS_PREFIX/node_modules/keycloak-js"
keycloak_js_ok() {
    [ -f "$KEYCLOAK_JS_DIR/lib/keycloak.js" ] &&
        node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
            "$KEYCLOAK_JS_DIR/package.json" "$KEYCLOAK_JS_VERSION" >/dev/null 2>&1
}
if ! keycloak_js_ok; then
    nexus_log "installing keycloak-js@$KEYCLOAK_JS_VERSION into $KEYCLOAK_JS_PREFIX"
    mkdir -p "$KEYCLOAK_JS_PREFIX"
    npm install --prefix "$KEYCLOAK_JS_PREFIX" --no-audit --no-fund --ignore-scripts \
        --loglevel=error "keycloak-js@$KEYCLOAK_JS_VERSION" >&2
    keycloak_js_ok || nexus_die "keycloak-js $KEYCLOAK_JS_VERSION not found in $KEYCLOAK_JS_DIR"
fi
export NEXUS_TEST_KEYCLOAK_JS="$KEYCLOAK_JS_DIR"

# ---- throwaway PostgreSQL and Redis --------------------------------------
nexus_start_postgres
nexus_start_redis
LOG_DIR="$NEXUS_SVC_DIR/logs"
mkdir -p "$LOG_DIR"

# ---- build once ------------------------------------------------------------
LOCKED=()
[ -f Cargo.lock ] && LOCKED=(--locked)

nexus_log "building (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
build_rc=0
cargo build "${LOCKED[@]}" --all-targets || build_rc=$?
if [ "$build_rc" -ne 0 ]; then
    echo
    echo "== build failed (exit $build_rc): no test ran =="
    echo "0 passed, 0 failed"
    exit "$build_rc"
fi

# ---- the two runs ----------------------------------------------------------
TOTAL_PASSED=0
TOTAL_FAILED=0
OVERALL_RC=0

# run_suite LABEL LOGFILE ENV-ASSIGNMENTS...
run_suite() {
    local label=$1 log=$2
    shift 2
    echo
    echo "== suite on $label =="
    echo
    local rc=0
    set +e
    env -u NEXUS_TEST_DATABASE_URL -u NEXUS_TEST_REDIS_URL "$@" \
        cargo test "${LOCKED[@]}" --all-targets --no-fail-fast \
        -- --test-threads=4 "${FILTERS[@]}" "${BIN_ARGS[@]}" 2>&1 | tee "$log"
    rc=$?
    set -e

    local passed failed
    passed=$(grep -oE '^test result: .* [0-9]+ passed; [0-9]+ failed' "$log" |
        sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed/\1/' | awk '{s+=$1} END {print s+0}')
    failed=$(grep -oE '^test result: .* [0-9]+ passed; [0-9]+ failed' "$log" |
        sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed/\2/' | awk '{s+=$1} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        # A test binary crashed or did not compile: no "test result" line
        # names the failure, so count the run itself as one.
        echo "== $label: cargo test exited $rc without reporting a failed test; counting 1 failure =="
        failed=1
    fi
    echo "== $label: $passed passed, $failed failed (cargo test exit $rc) =="
    TOTAL_PASSED=$((TOTAL_PASSED + passed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    [ "$rc" -eq 0 ] || OVERALL_RC=1
}

run_suite "SQLite + in-process store" "$LOG_DIR/sqlite.log" \
    NEXUS_TEST_STACK=sqlite

run_suite "PostgreSQL + Redis" "$LOG_DIR/postgres.log" \
    NEXUS_TEST_STACK=postgres \
    NEXUS_TEST_DATABASE_URL="$NEXUS_PG_URL" \
    NEXUS_TEST_REDIS_URL="$NEXUS_REDIS_URL_LOCAL"

echo
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
exit "$OVERALL_RC"
