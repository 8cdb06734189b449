#!/usr/bin/env bash
#
# Start-up benchmark: time from exec to /health/ready answering 200, on SQLite + in-process store,
# for a first start (empty data dir: migrations, realm master, its RSA key and the admin's argon2
# hash) and a warm start (existing database), plus idle RSS. Median of RUNS (default 5) each.
#
#   scripts/startup.sh [RUNS]
#
# Uses the release binary (CARGO_TARGET_DIR as in scripts/test.sh); builds it when missing.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nexus/target}"
RUNS=${1:-5}
BIN="$CARGO_TARGET_DIR/release/nexus"
[ -x "$BIN" ] || (cd "$REPO_ROOT" && cargo build --release --locked)
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# start_once DATA_DIR: sets MS to the milliseconds from exec to ready and leaves the server running
# as $PID (no command substitution: the server must be a child of this shell).
start_once() {
    local start end
    start=$(date +%s%N)
    NEXUS_DATA_DIR="$1" NEXUS_BIND="127.0.0.1:$PORT" NEXUS_BOOTSTRAP_ADMIN_PASSWORD=bench RUST_LOG=warn \
        "$BIN" >"$WORK/log" 2>&1 &
    PID=$!
    for _ in $(seq 1 2000); do
        if curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then break; fi
        sleep 0.002
    done
    end=$(date +%s%N)
    MS=$(((end - start) / 1000000))
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

MS=0 first=() warm=() rss=()
for i in $(seq 1 "$RUNS"); do
    dir="$WORK/data-$i"
    start_once "$dir"; first+=("$MS"); stop
    start_once "$dir"; warm+=("$MS")
    sleep 1
    rss+=("$(awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$PID/status")")
    stop
done
echo "| measure (SQLite + in-process store, median of $RUNS) | value |"
echo "|---|---:|"
echo "| first start to ready (empty database), ms | $(printf '%s\n' "${first[@]}" | median) |"
echo "| warm start to ready, ms | $(printf '%s\n' "${warm[@]}" | median) |"
echo "| idle RSS 1 s after a warm start, MB | $(printf '%s\n' "${rss[@]}" | median) |"
