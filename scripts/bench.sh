#!/usr/bin/env bash
#
# Benchmark (not a test): client_credentials token issuance of a release
# build of nexus, on both storage stacks, everything on 127.0.0.1.
#
#   scripts/bench.sh [options]
#
#   --stacks LIST      comma-separated: sqlite,postgres (default: both)
#   --duration SECS    measured wrk run per stack (default 20)
#   --connections N    wrk connections (default 64)
#   --threads N        wrk threads (default 2)
#   --realms N         also run the "realm scale" section: create N extra
#                      realms (8 in parallel) and compare admin-API timings
#                      and token throughput before/after (default 0 = skip)
#   --no-build         use the existing release binary as is
#   -h, --help
#
# What it does, per stack:
#   * starts target/release/nexus (CARGO_TARGET_DIR as in scripts/test.sh,
#     default ~/.cache/nexus/target) on a free port, with a fresh data dir;
#     the postgres stack also gets a throwaway PostgreSQL + Redis
#     (scripts/lib/services.sh, same as the tests)
#   * records idle RSS once /health/ready answers 200
#   * creates realm "bench" and confidential client "bench-svc" through the
#     Keycloak admin API (scripts/bench/admin.py)
#   * 3 s wrk warm-up, then wrk -t2 -c64 -d20s --latency with
#     scripts/bench/client_credentials.lua; every non-200 is counted
#
# The RSA-2048 signing ceiling (openssl speed, per core and all cores) is
# measured first: each token costs one RS256 signature, so
#   ratio = tokens/s / (RSA-2048 sign/s per core x nproc)
# says how close the server gets to the machine's signing limit.  wrk,
# PostgreSQL and Redis share the same cores, so the ratio stays below 1.
#
# The output ends with markdown tables to paste into docs/BENCHMARKS.md.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=scripts/lib/services.sh
. "$REPO_ROOT/scripts/lib/services.sh"

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

STACKS="sqlite,postgres"
DURATION=20
CONNECTIONS=64
THREADS=2
REALMS=0
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
    --stacks) STACKS=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --connections) CONNECTIONS=${2:?}; shift 2 ;;
    --threads) THREADS=${2:?}; shift 2 ;;
    --realms) REALMS=${2:?}; shift 2 ;;
    --no-build) BUILD=""; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
for n in "$DURATION" "$CONNECTIONS" "$THREADS" "$REALMS"; do
    [[ "$n" =~ ^[0-9]+$ ]] || nexus_die "not a number: $n"
done
if [ "$DURATION" -lt 1 ] || [ "$DURATION" -gt 600 ]; then nexus_die "--duration must be 1..600"; fi
[ "$REALMS" -le 100000 ] || nexus_die "--realms must be at most 100000"
IFS=, read -r -a STACK_LIST <<<"$STACKS"
for s in "${STACK_LIST[@]}"; do
    case "$s" in sqlite | postgres) ;; *) nexus_die "unknown stack: $s" ;; esac
done

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nexus/target}"
BIN="$CARGO_TARGET_DIR/release/nexus"
LUA="$REPO_ROOT/scripts/bench/client_credentials.lua"
ADMIN_PY="$REPO_ROOT/scripts/bench/admin.py"

BENCH_DIR=$(mktemp -d /tmp/nexus-bench.XXXXXX)
NEXUS_PID=""

# shellcheck disable=SC2317  # invoked by trap
stop_nexus() {
    [ -n "$NEXUS_PID" ] || return 0
    local pid=$NEXUS_PID i
    NEXUS_PID=""
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
        : "$i"
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_nexus
    nexus_svc_cleanup
    rm -rf "$BENCH_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- prerequisites ---------------------------------------------------------
PKGS=(wrk:wrk openssl:openssl curl:curl python3:python3)
for s in "${STACK_LIST[@]}"; do
    if [ "$s" = postgres ]; then
        PKGS+=('/usr/lib/postgresql/*/bin/initdb:postgresql' redis-server:redis-server
            redis-cli:redis-tools runuser:util-linux)
    fi
done
nexus_ensure_packages "${PKGS[@]}"

NPROC=$(nproc)

# ---- RSA-2048 signing ceiling ------------------------------------------------
# Prints sign/s from `openssl speed` output (the column under "sign/s").
parse_sign_rate() {
    python3 -c '
import sys
lines = sys.stdin.read().splitlines()
head = [l.split() for l in lines if "sign/s" in l.split()]
rows = [l.split() for l in lines if l.startswith("rsa") and " 2048 bits " in l]
if not head or not rows:
    sys.exit("cannot parse openssl speed output")
col = head[-1].index("sign/s")
print(rows[-1][3 + col])
'
}
nexus_log "measuring RSA-2048 sign/s with openssl speed (3 s single process, 3 s x $NPROC processes)"
RSA_PER_CORE=$(openssl speed -seconds 3 rsa2048 2>/dev/null | parse_sign_rate)
RSA_MULTI=$(openssl speed -seconds 3 -multi "$NPROC" rsa2048 2>/dev/null | parse_sign_rate)
RSA_LIMIT=$(python3 -c "print(round($RSA_PER_CORE * $NPROC, 1))")
nexus_log "RSA-2048 sign/s: $RSA_PER_CORE per core; x $NPROC = $RSA_LIMIT; measured with -multi $NPROC: $RSA_MULTI"

# ---- build -------------------------------------------------------------------
if [ -n "$BUILD" ]; then
    LOCKED=()
    [ -f Cargo.lock ] && LOCKED=(--locked)
    nexus_log "cargo build --release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    cargo build "${LOCKED[@]}" --release --bin nexus
fi
[ -x "$BIN" ] || nexus_die "no release binary at $BIN"

# ---- helpers -----------------------------------------------------------------
rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# start_nexus STACK -> sets NEXUS_PID, NEXUS_PORT, BASE
start_nexus() {
    local stack=$1 i code
    NEXUS_PORT=$(nexus_free_port)
    BASE="http://127.0.0.1:$NEXUS_PORT"
    local data="$BENCH_DIR/data-$stack"
    mkdir -p "$data"
    local envs=(
        NEXUS_BIND="127.0.0.1:$NEXUS_PORT"
        NEXUS_PUBLIC_URL="$BASE"
        NEXUS_DATA_DIR="$data"
        NEXUS_BOOTSTRAP_ADMIN_USERNAME=admin
        NEXUS_BOOTSTRAP_ADMIN_PASSWORD=admin
        RUST_LOG=warn
    )
    if [ "$stack" = postgres ]; then
        envs+=(NEXUS_DATABASE_URL="$NEXUS_PG_URL" NEXUS_REDIS_URL="$NEXUS_REDIS_URL_LOCAL")
    fi
    env -u NEXUS_DATABASE_URL -u NEXUS_REDIS_URL "${envs[@]}" "$BIN" serve \
        </dev/null >"$BENCH_DIR/nexus-$stack.log" 2>&1 &
    NEXUS_PID=$!
    for i in $(seq 1 240); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/health/ready" || true)
        [ "$code" = 200 ] && return 0
        if ! kill -0 "$NEXUS_PID" 2>/dev/null; then
            tail -n 40 "$BENCH_DIR/nexus-$stack.log" >&2 || true
            NEXUS_PID=""
            nexus_die "nexus ($stack) exited during startup"
        fi
        sleep 0.5
        : "$i"
    done
    tail -n 40 "$BENCH_DIR/nexus-$stack.log" >&2 || true
    nexus_die "nexus ($stack) not ready after 120 s"
}

# run_wrk SECONDS -> prints wrk's output; the BENCH line is parsed by callers
run_wrk() {
    BENCH_CLIENT_ID=bench-svc BENCH_CLIENT_SECRET="$SECRET" \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1"s --latency -s "$LUA" \
        "$BASE/realms/bench/protocol/openid-connect/token"
}

# bench_field FILE KEY -> value of KEY=... on the BENCH line
bench_field() { grep '^BENCH ' "$1" | tail -n1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# load_test LABEL -> runs warm-up + measured run, writes $BENCH_DIR/wrk-LABEL.txt
load_test() {
    local label=$1 out="$BENCH_DIR/wrk-$1.txt"
    nexus_log "[$label] warm-up 3 s"
    run_wrk 3 >"$BENCH_DIR/wrk-$label-warmup.txt" 2>&1 ||
        { cat "$BENCH_DIR/wrk-$label-warmup.txt" >&2; nexus_die "wrk warm-up failed"; }
    nexus_log "[$label] wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
    run_wrk "$DURATION" >"$out" 2>&1 || { cat "$out" >&2; nexus_die "wrk failed"; }
    cat "$out"
    local bad
    bad=$(bench_field "$out" non200)
    if [ "${bad:-1}" != 0 ]; then
        nexus_log "WARNING: [$label] $bad non-200 responses (must be 0)"
    fi
}

SECRET=$(head -c 512 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 48)
[ "${#SECRET}" -eq 48 ] || nexus_die "could not generate a client secret"

jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

ROWS=()
SCALE_ROWS=()

for stack in "${STACK_LIST[@]}"; do
    echo
    echo "== $stack =="
    if [ "$stack" = postgres ]; then
        nexus_start_postgres
        nexus_start_redis
        label="PostgreSQL + Redis"
    else
        label="SQLite + in-process store"
    fi
    start_nexus "$stack"
    sleep 1
    idle_rss=$(rss_mb "$NEXUS_PID")
    nexus_log "[$stack] ready on $BASE, idle RSS $idle_rss MB"

    python3 "$ADMIN_PY" setup "$BASE" bench bench-svc "$SECRET"
    load_test "$stack"
    f="$BENCH_DIR/wrk-$stack.txt"
    tps=$(bench_field "$f" tokens_per_s)
    loaded_rss=$(rss_mb "$NEXUS_PID")
    ratio=$(python3 -c "print(f'{$tps / $RSA_LIMIT:.2f}')")
    ROWS+=("| $label | $tps | $(bench_field "$f" p50_ms) | $(bench_field "$f" p99_ms) | $(($(bench_field "$f" non200) + $(bench_field "$f" socket_errors))) | $idle_rss | $loaded_rss | $ratio |")

    if [ "$REALMS" -gt 0 ]; then
        nexus_log "[$stack] realm scale: timings with the bench realm only"
        before=$(python3 "$ADMIN_PY" timings "$BASE" bench 20 "probe-before-" "$((REALMS / 2))")
        nexus_log "[$stack] creating $REALMS realms (8 in parallel)"
        python3 "$ADMIN_PY" create-realms "$BASE" "$REALMS" "scale-" 8
        after=$(python3 "$ADMIN_PY" timings "$BASE" bench 20 "probe-after-" "$((REALMS / 2))")
        load_test "$stack-after-realms"
        tps_after=$(bench_field "$BENCH_DIR/wrk-$stack-after-realms.txt" tokens_per_s)
        rss_after=$(rss_mb "$NEXUS_PID")
        SCALE_ROWS+=(
            "| $label | create one realm (median of 20), ms | $(jget "$before" create_realm_ms) | $(jget "$after" create_realm_ms) |"
            "| $label | GET /admin/realms/bench (median of 20), ms | $(jget "$before" get_realm_ms) | $(jget "$after" get_realm_ms) |"
            "| $label | GET /admin/realms?briefRepresentation=true&first=0&max=100 (median of 20), ms | $(jget "$before" list_realms_ms) | $(jget "$after" list_realms_ms) |"
            "| $label | GET /admin/realms?briefRepresentation=true&first=$((REALMS / 2))&max=100 (median of 20), ms | $(jget "$before" list_mid_ms) | $(jget "$after" list_mid_ms) |"
            "| $label | client_credentials tokens/s in realm bench | $tps | $tps_after |"
            "| $label | RSS after load, MB | $loaded_rss | $rss_after |"
        )
    fi

    stop_nexus
    if [ "$stack" = postgres ]; then nexus_svc_cleanup; fi
done

# ---- report --------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo
echo "## client_credentials token issuance"
echo
echo "Machine: $NPROC cores ($cpu), $(awk '/^MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(openssl version | awk '{print $1, $2}');"
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s after a 3 s warm-up, on the same machine as the server; nexus $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '(uncommitted)'), release build."
echo "RSA-2048 sign/s (openssl speed): $RSA_PER_CORE per core, x $NPROC cores = $RSA_LIMIT; measured with -multi $NPROC: $RSA_MULTI."
echo
echo "| stack | tokens/s | p50 ms | p99 ms | non-200 + socket errors | idle RSS MB | RSS after load MB | tokens/s ÷ (RSA sign/s × nproc) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
if [ "${#SCALE_ROWS[@]}" -gt 0 ]; then
    echo
    echo "## realm scale: before and after creating $REALMS more realms"
    echo
    echo "(\"before\" already has master, bench and the 20 realms its own create-timing made.)"
    echo
    echo "| stack | measure | before | after +$REALMS realms |"
    echo "|---|---|---:|---:|"
    printf '%s\n' "${SCALE_ROWS[@]}"
fi
