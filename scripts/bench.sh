#!/usr/bin/env bash
#
# Benchmark (not a test): token issuance and login of a release build of
# nexus, on both storage stacks, everything on 127.0.0.1.
#
#   scripts/bench.sh [options]
#
#   --stacks LIST      comma-separated: sqlite,postgres (default: both)
#   --flows LIST       comma-separated, run in this order on each stack
#                      (default: client_credentials,code,refresh,login):
#                        client_credentials  token requests of a confidential
#                                            client (scripts/bench/client_credentials.lua)
#                        code      SSO authorization request + code-for-token
#                                  exchange with PKCE (scripts/bench/code_flow.lua)
#                        refresh   refresh_token grant with rotation
#                                  (scripts/bench/refresh.lua)
#                        login     login page + login form POST, one argon2id
#                                  verification each (scripts/bench/login.lua)
#                        plain     GET /realms/bench (realm info, no credentials):
#                                  the baseline of a cheap answer for "psk"
#                        psk       GET userinfo with Authorization-PSK: an API
#                                  key of bench-svc's service account verified
#                                  per request (scripts/bench/api_key.lua)
#                        key_token key for token: POST /realms/bench/api/v1/oauth/tokens
#                                  with the key's id and secret, one RS256 each
#                        events    client_credentials with the realm's events
#                                  off, on, off, on (a CLIENT_LOGIN event per
#                                  token when on): the cost of events on the
#                                  token path, as on/off in one run
#   --duration SECS    measured wrk run per flow and stack (default 20)
#   --connections N    wrk connections (default 64)
#   --threads N        wrk threads (default 2)
#   --realms N         also run the "realm scale" section: create N extra
#                      realms (8 in parallel) and compare admin-API timings
#                      and client_credentials throughput before/after
#                      (default 0 = skip; needs client_credentials in --flows;
#                      runs after all flows of the stack)
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
#     Keycloak admin API (scripts/bench/admin.py); for the other flows also
#     the public client "bench-web" (standard flow, redirect URI
#     http://127.0.0.1:9/cb, never called) and the user "bench-user".  The
#     realm keeps nexus's default brute-force protection: every bench login
#     uses the right password, so no failure is counted and no lock can
#     interfere; the lock checks a login makes are part of what is measured.
#     Its request rate limit is turned off (rateLimitRequestsPerMinute: 0,
#     set by admin.py setup): wrk hammers from one address, far past the
#     default 100 requests per minute per address on the token endpoint and
#     the login form.  The limit's counter read per request (the failure
#     limit stays on) is part of what is measured
#   * code and refresh: logs in once through the login page
#     (admin.py login) for a KEYCLOAK_IDENTITY session cookie; refresh:
#     before every wrk run, 2 x connections fresh refresh tokens, each of
#     its own rotation family, from single sign-on code flows with that
#     cookie (admin.py refresh-tokens)
#   * per flow: 3 s wrk warm-up, then wrk -tTHREADS -cCONNECTIONS -dSECS
#     --timeout 30s --latency with the flow's script; every unexpected answer
#     (the scripts say which answers they expect) is counted and reported.
#     Before the warm-up and before the measured run it waits until nexus
#     is idle (< 10 % of a core), so work left in flight by the previous run
#     (logins: an argon2 hash per connection) does not run into the next.
#
# Measured first, as the machine's ceilings:
#   * RSA-2048 signing (openssl speed, per core and all cores).  A
#     client_credentials token costs one RS256 signature.  A code exchange
#     or a refresh answers an access token and an ID token (scope openid),
#     both RS256, and a refresh token, HS512 with the realm's internal key
#     (oauth/tokens.rs; a refresh also verifies the presented one with HMAC):
#     two RSA signatures.  code_flow.lua and refresh.lua do not assume this:
#     they read the alg of every token they receive and report the RS256
#     signatures per response, which the ratio uses:
#       ratio = tokens/s x RS256 signatures per response
#               / (RSA sign/s per core x nproc)
#     says how close the server gets to the machine's signing limit.
#   * argon2id: `nexus password-hash-cost` times the login's own password
#     verification on one thread; a login costs one, so
#       ratio = logins/s / (nproc / seconds per verification)
#     (also printed: logins/s / the rate nproc threads hashing at once reach)
#   wrk, PostgreSQL and Redis share the same cores, so ratios stay below 1.
#   The code and login flows alternate two request kinds per connection;
#   wrk's latency figures mix both, so their scripts also time each kind
#   (reported separately, raw: wrk's own percentiles include its latency
#   correction, stats_correct, the per-kind ones do not).
#
# The output ends with markdown tables (with the command and date) to paste
# into docs/BENCHMARKS.md.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=scripts/lib/services.sh
. "$REPO_ROOT/scripts/lib/services.sh"

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

COMMAND_LINE="scripts/bench.sh${*:+ $*}"

STACKS="sqlite,postgres"
FLOWS="client_credentials,code,refresh,login"
DURATION=20
CONNECTIONS=64
THREADS=2
REALMS=0
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
    --stacks) STACKS=${2:?}; shift 2 ;;
    --flows) FLOWS=${2:?}; shift 2 ;;
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
IFS=, read -r -a FLOW_LIST <<<"$FLOWS"
[ "${#FLOW_LIST[@]}" -gt 0 ] || nexus_die "--flows is empty"
has_flow() {
    local f
    for f in "${FLOW_LIST[@]}"; do [ "$f" = "$1" ] && return 0; done
    return 1
}
for f in "${FLOW_LIST[@]}"; do
    case "$f" in client_credentials | code | refresh | login | plain | psk | key_token | events) ;; *) nexus_die "unknown flow: $f" ;; esac
done
if [ "$THREADS" -lt 1 ] || [ "$CONNECTIONS" -lt "$THREADS" ]; then nexus_die "need 1 <= --threads <= --connections"; fi
if [ "$REALMS" -gt 0 ] && ! has_flow client_credentials; then
    nexus_die "--realms compares client_credentials throughput: add client_credentials to --flows"
fi

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nexus/target}"
BIN="$CARGO_TARGET_DIR/release/nexus"
LUA_DIR="$REPO_ROOT/scripts/bench"
ADMIN_PY="$REPO_ROOT/scripts/bench/admin.py"
# The browser-side fixtures of the code, refresh and login flows.
WEB_CLIENT=bench-web
REDIRECT_URI=http://127.0.0.1:9/cb
BENCH_USER=bench-user
# RS256 signatures per token response (see the header): client_credentials
# signs the access token only.  For the code exchange and the refresh the
# scripts count them from the tokens' headers; these are only the expected
# values, and a run that measures otherwise says so.
SIGS_CLIENT_CREDENTIALS=1
SIGS_CODE_EXPECTED=2
SIGS_REFRESH_EXPECTED=2
WRK_TIMEOUT=30s

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
# Prints the COLUMN (sign/s) of `openssl speed` output on stdin.
parse_rsa_rate() {
    python3 -c '
import sys
col_name = sys.argv[1]
lines = sys.stdin.read().splitlines()
head = [l.split() for l in lines if col_name in l.split()]
rows = [l.split() for l in lines if l.startswith("rsa") and " 2048 bits " in l]
if not head or not rows:
    sys.exit("cannot parse openssl speed output")
col = head[-1].index(col_name)
print(rows[-1][3 + col])
' "$1"
}
nexus_log "measuring RSA-2048 sign/s with openssl speed (3 s single process, 3 s x $NPROC processes)"
RSA_PER_CORE=$(openssl speed -seconds 3 rsa2048 2>/dev/null | parse_rsa_rate sign/s)
RSA_MULTI=$(openssl speed -seconds 3 -multi "$NPROC" rsa2048 2>/dev/null | parse_rsa_rate sign/s)
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

# ---- argon2id verification cost ----------------------------------------------
HASH_MS=""
if has_flow login; then
    nexus_log "measuring one argon2id password verification (nexus password-hash-cost --samples 50)"
    HASH_OUT=$(env -u NEXUS_CONFIG "$BIN" password-hash-cost --samples 50)
    printf '%s\n' "$HASH_OUT" | grep -v '^HASHCOST ' >&2
    hash_field() { printf '%s\n' "$HASH_OUT" | grep '^HASHCOST ' | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    HASH_MS=$(hash_field ms_median)
    HASH_PARALLEL=$(hash_field parallel_per_s)
    HASH_CEILING=$(python3 -c "print(round($NPROC / ($HASH_MS / 1000), 1))")
    HASH_PARAMS=$(printf '%s\n' "$HASH_OUT" | head -n1 | sed 's/:.*//')
fi

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

# run_wrk FLOW SECONDS -> prints wrk's output; the BENCH line is parsed by callers
run_wrk() {
    local flow=$1 secs=$2
    local wrk_args=(-t"$THREADS" -c"$CONNECTIONS" -d"$secs"s --timeout "$WRK_TIMEOUT" --latency)
    case "$flow" in
    client_credentials)
        BENCH_CLIENT_ID=bench-svc BENCH_CLIENT_SECRET="$SECRET" \
            wrk "${wrk_args[@]}" -s "$LUA_DIR/client_credentials.lua" \
            "$BASE/realms/bench/protocol/openid-connect/token"
        ;;
    code)
        BENCH_REALM=bench BENCH_CLIENT_ID="$WEB_CLIENT" BENCH_REDIRECT_URI="$REDIRECT_URI" \
            BENCH_IDENTITY="$IDENTITY" BENCH_VERIFIER="$VERIFIER" BENCH_CHALLENGE="$CHALLENGE" \
            wrk "${wrk_args[@]}" -s "$LUA_DIR/code_flow.lua" "$BASE"
        ;;
    refresh)
        # Rotation: every token of the file is spent by one run, so each run gets fresh ones.
        # refresh.lua wants 2 x (connections per thread, rounded up) tokens per thread.
        local per_thread=$(((CONNECTIONS + THREADS - 1) / THREADS))
        per_thread=$((per_thread * 2))
        python3 "$ADMIN_PY" refresh-tokens "$BASE" bench "$WEB_CLIENT" "$REDIRECT_URI" "$IDENTITY" \
            "$VERIFIER" "$((per_thread * THREADS))" "$BENCH_DIR/refresh-tokens.txt" >&2
        BENCH_TOKEN_FILE="$BENCH_DIR/refresh-tokens.txt" BENCH_THREADS="$THREADS" \
            BENCH_CONNECTIONS="$CONNECTIONS" BENCH_CLIENT_ID="$WEB_CLIENT" \
            wrk "${wrk_args[@]}" -s "$LUA_DIR/refresh.lua" "$BASE/realms/bench/protocol/openid-connect/token"
        ;;
    login)
        BENCH_REALM=bench BENCH_CLIENT_ID="$WEB_CLIENT" BENCH_REDIRECT_URI="$REDIRECT_URI" \
            BENCH_USERNAME="$BENCH_USER" BENCH_PASSWORD="$USER_PASSWORD" BENCH_CHALLENGE="$CHALLENGE" \
            wrk "${wrk_args[@]}" -s "$LUA_DIR/login.lua" "$BASE"
        ;;
    plain)
        BENCH_MODE=plain wrk "${wrk_args[@]}" -s "$LUA_DIR/api_key.lua" "$BASE/realms/bench"
        ;;
    psk)
        BENCH_MODE=psk BENCH_SECRET="$KEY_SECRET" wrk "${wrk_args[@]}" -s "$LUA_DIR/api_key.lua" \
            "$BASE/realms/bench/protocol/openid-connect/userinfo"
        ;;
    key_token)
        BENCH_MODE=exchange BENCH_KEY_ID="$KEY_ID" BENCH_SECRET="$KEY_SECRET" \
            wrk "${wrk_args[@]}" -s "$LUA_DIR/api_key.lua" "$BASE/realms/bench/api/v1/oauth/tokens"
        ;;
    esac
}

# bench_field FILE KEY -> value of KEY=... on the BENCH line
bench_field() { grep '^BENCH ' "$1" | tail -n1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# CPU ticks (user + system) nexus has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# wait_idle LABEL: waits (at most 60 s) until nexus uses under 10 % of a core.
# wrk stops at the end of a run, the server does not: requests in flight then
# (logins: up to one argon2 hash per connection) would run into the next run.
wait_idle() {
    local label=$1 hz before after i
    hz=$(getconf CLK_TCK)
    for i in $(seq 1 120); do
        before=$(cpu_ticks "$NEXUS_PID")
        sleep 0.5
        after=$(cpu_ticks "$NEXUS_PID")
        if [ $(((after - before) * 20)) -lt "$hz" ]; then
            [ "$i" -eq 1 ] || nexus_log "[$label] nexus idle after $((i * 5 / 10)) s"
            return 0
        fi
    done
    nexus_log "WARNING: [$label] nexus still busy after 60 s"
}

# load_test LABEL FLOW -> runs warm-up + measured run, writes $BENCH_DIR/wrk-LABEL.txt
load_test() {
    local label=$1 flow=$2 out="$BENCH_DIR/wrk-$1.txt"
    wait_idle "$label"
    nexus_log "[$label] warm-up 3 s"
    run_wrk "$flow" 3 >"$BENCH_DIR/wrk-$label-warmup.txt" 2>&1 ||
        { cat "$BENCH_DIR/wrk-$label-warmup.txt" >&2; nexus_die "wrk warm-up failed"; }
    wait_idle "$label"
    nexus_log "[$label] wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --timeout $WRK_TIMEOUT ($flow)"
    run_wrk "$flow" "$DURATION" >"$out" 2>&1 || { cat "$out" >&2; nexus_die "wrk failed"; }
    cat "$out"
    grep -q '^BENCH ' "$out" || nexus_die "[$label] no BENCH line in the wrk output"
    local bad sock
    bad=$(bench_field "$out" non200)
    sock=$(bench_field "$out" socket_errors)
    if [ "${bad:-1}" != 0 ] || [ "${sock:-1}" != 0 ]; then
        nexus_log "WARNING: [$label] ${bad:-?} unexpected answers and ${sock:-?} socket errors (must be 0)"
    fi
}

# errors FILE -> unexpected answers + socket errors of a run
errors() { echo $(($(bench_field "$1" non200) + $(bench_field "$1" socket_errors))); }

random_alnum() { head -c 2048 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c "$1"; }
SECRET=$(random_alnum 48)
[ "${#SECRET}" -eq 48 ] || nexus_die "could not generate a client secret"
USER_PASSWORD=$(random_alnum 24)
# PKCE: one verifier for all code flows of the run (RFC 7636: 43-128 characters).
VERIFIER=$(random_alnum 64)
CHALLENGE=$(python3 -c 'import base64, hashlib, sys
print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).rstrip(b"=").decode())' "$VERIFIER")
if [ "${#USER_PASSWORD}" -ne 24 ] || [ "${#VERIFIER}" -ne 64 ]; then nexus_die "could not generate random values"; fi
IDENTITY=""

jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

ROWS=()
CODE_ROWS=()
REFRESH_ROWS=()
LOGIN_ROWS=()
KEY_ROWS=()
EVENT_ROWS=()
SCALE_ROWS=()

ratio() { python3 -c "print(f'{$1:.2f}')"; }

# check_sigs FLOW MEASURED EXPECTED: warns when the tokens were signed otherwise than expected.
check_sigs() {
    if [ "$2" != "$3.00" ]; then
        nexus_log "WARNING: [$1] $2 RS256 signatures per response, expected $3 (the ratio uses $2)"
    fi
}
SIGS_CODE=""
SIGS_REFRESH=""

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
    if has_flow code || has_flow refresh || has_flow login; then
        python3 "$ADMIN_PY" web-setup "$BASE" bench "$WEB_CLIENT" "$REDIRECT_URI" "$BENCH_USER" "$USER_PASSWORD"
    fi
    IDENTITY=""
    if has_flow code || has_flow refresh; then
        nexus_log "[$stack] logging in once through the login page for the SSO cookie"
        IDENTITY=$(python3 "$ADMIN_PY" login "$BASE" bench "$WEB_CLIENT" "$REDIRECT_URI" "$BENCH_USER" \
            "$USER_PASSWORD" "$VERIFIER")
    fi

    KEY_ID=""
    KEY_SECRET=""
    if has_flow psk || has_flow key_token; then
        read -r KEY_ID KEY_SECRET < <(python3 "$ADMIN_PY" api-key "$BASE" bench bench-svc)
        [ -n "$KEY_SECRET" ] || nexus_die "could not create the bench API key"
    fi
    plain_rps=""
    tps=""
    loaded_rss=""
    for flow in "${FLOW_LIST[@]}"; do
        if [ "$flow" = events ]; then
            # Alternating runs, so that a drift of the shared machine weighs on both settings.
            sums=(0 0)
            for round in 1 2; do
                for setting in off on; do
                    python3 "$ADMIN_PY" events "$BASE" bench "$setting"
                    load_test "$stack-events-$setting-$round" client_credentials
                    x=$(bench_field "$BENCH_DIR/wrk-$stack-events-$setting-$round.txt" tokens_per_s)
                    if [ "$setting" = off ]; then sums[0]=$(ratio "${sums[0]} + $x"); else sums[1]=$(ratio "${sums[1]} + $x"); fi
                done
            done
            python3 "$ADMIN_PY" events "$BASE" bench on
            # Events dropped because the queue was full would make "on" cheap for the wrong reason.
            dropped=$(curl -fsS "$BASE/metrics" | awk '/^nexus_events_dropped_total/ {print $2}')
            EVENT_ROWS+=("| $label | $(ratio "${sums[0]} / 2") | $(ratio "${sums[1]} / 2") | $(ratio "${sums[1]} / ${sums[0]}") | ${dropped:-?} |")
            continue
        fi
        load_test "$stack-$flow" "$flow"
        f="$BENCH_DIR/wrk-$stack-$flow.txt"
        rss_now=$(rss_mb "$NEXUS_PID")
        case "$flow" in
        client_credentials)
            tps=$(bench_field "$f" tokens_per_s)
            loaded_rss=$rss_now
            ROWS+=("| $label | $tps | $(bench_field "$f" p50_ms) | $(bench_field "$f" p99_ms) | $(errors "$f") | $idle_rss | $loaded_rss | $(ratio "$tps * $SIGS_CLIENT_CREDENTIALS / $RSA_LIMIT") |")
            ;;
        code)
            x=$(bench_field "$f" tokens_per_s)
            SIGS_CODE=$(bench_field "$f" rs256_per_response)
            check_sigs code "$SIGS_CODE" "$SIGS_CODE_EXPECTED"
            CODE_ROWS+=("| $label | $x | $(bench_field "$f" requests_per_s) | $(bench_field "$f" p50_ms) | $(bench_field "$f" p99_ms) | $(bench_field "$f" exchange_p50_ms) | $(bench_field "$f" exchange_p99_ms) | $(bench_field "$f" auth_p99_ms) | $(errors "$f") | $rss_now | $(ratio "$x * $SIGS_CODE / $RSA_LIMIT") |")
            ;;
        refresh)
            x=$(bench_field "$f" tokens_per_s)
            SIGS_REFRESH=$(bench_field "$f" rs256_per_response)
            check_sigs refresh "$SIGS_REFRESH" "$SIGS_REFRESH_EXPECTED"
            REFRESH_ROWS+=("| $label | $x | $(bench_field "$f" p50_ms) | $(bench_field "$f" p99_ms) | $(errors "$f") | $rss_now | $(ratio "$x * $SIGS_REFRESH / $RSA_LIMIT") |")
            ;;
        plain)
            plain_rps=$(bench_field "$f" per_s)
            KEY_ROWS+=("| $label | plain: GET /realms/bench (no credentials) | $plain_rps | $(bench_field "$f" p50_ms) | $(bench_field "$f" p99_ms) | $(errors "$f") | $rss_now | 1.00 (baseline) |")
            ;;
        psk)
            x=$(bench_field "$f" per_s)
            vs="n/a (run plain first)"
            [ -z "$plain_rps" ] || vs="$(ratio "$x / $plain_rps") of plain"
            KEY_ROWS+=("| $label | psk: GET userinfo with Authorization-PSK | $x | $(bench_field "$f" p50_ms) | $(bench_field "$f" p99_ms) | $(errors "$f") | $rss_now | $vs |")
            ;;
        key_token)
            x=$(bench_field "$f" per_s)
            KEY_ROWS+=("| $label | key_token: POST /api/v1/oauth/tokens (1 RS256) | $x | $(bench_field "$f" p50_ms) | $(bench_field "$f" p99_ms) | $(errors "$f") | $rss_now | $(ratio "$x / $RSA_LIMIT") of the RSA limit |")
            ;;
        login)
            x=$(bench_field "$f" logins_per_s)
            LOGIN_ROWS+=("| $label | $x | $(bench_field "$f" login_p50_ms) | $(bench_field "$f" login_p99_ms) | $(bench_field "$f" page_p99_ms) | $(bench_field "$f" p99_ms) | $(errors "$f") | $rss_now | $(ratio "$x / $HASH_CEILING") | $(ratio "$x / $HASH_PARALLEL") |")
            ;;
        esac
    done

    if [ "$REALMS" -gt 0 ]; then
        nexus_log "[$stack] realm scale: timings with the bench realm only"
        before=$(python3 "$ADMIN_PY" timings "$BASE" bench 20 "probe-before-" "$((REALMS / 2))")
        nexus_log "[$stack] creating $REALMS realms (8 in parallel)"
        python3 "$ADMIN_PY" create-realms "$BASE" "$REALMS" "scale-" 8
        after=$(python3 "$ADMIN_PY" timings "$BASE" bench 20 "probe-after-" "$((REALMS / 2))")
        load_test "$stack-after-realms" client_credentials
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
TODAY=$(date +%Y-%m-%d)
echo
echo "# Results of \`$COMMAND_LINE\` — $TODAY"
echo
echo "nexus $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '(uncommitted)'), release build."
echo "Machine: $NPROC cores ($cpu), $(awk '/^MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(openssl version | awk '{print $1, $2}');"
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --timeout $WRK_TIMEOUT after a 3 s warm-up per flow, on the same machine as the server."
echo "RSA-2048 sign/s (openssl speed): $RSA_PER_CORE per core, x $NPROC cores = $RSA_LIMIT; measured with -multi $NPROC: $RSA_MULTI."
if [ -n "$HASH_MS" ]; then
    echo "Password verification ($HASH_PARAMS, \`nexus password-hash-cost --samples 50\`): $HASH_MS ms on one thread (median),"
    echo "so $NPROC cores / $HASH_MS ms = $HASH_CEILING verifications/s; measured with $NPROC threads hashing at once: $HASH_PARALLEL/s."
fi
if [ "${#ROWS[@]}" -gt 0 ]; then
    echo
    echo "## client_credentials token issuance — $TODAY"
    echo
    echo "One RS256 signature per token: ratio = tokens/s × $SIGS_CLIENT_CREDENTIALS ÷ (RSA sign/s × nproc)."
    echo
    echo "| stack | tokens/s | p50 ms | p99 ms | non-200 + socket errors | idle RSS MB | RSS after load MB | tokens/s ÷ (RSA sign/s × nproc) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
fi
if [ "${#EVENT_ROWS[@]}" -gt 0 ]; then
    echo
    echo "## Events on the token path — $TODAY"
    echo
    echo "client_credentials in realm bench with eventsEnabled off, on, off, on ($DURATION s each; with events on every"
    echo "token leaves a CLIENT_LOGIN event, stored by the writer task in batches). Means of the two runs of each."
    echo
    echo "| stack | tokens/s, events off | tokens/s, events on | on ÷ off | events dropped (queue full) |"
    echo "|---|---:|---:|---:|---:|"
    printf '%s\n' "${EVENT_ROWS[@]}"
fi
if [ "${#CODE_ROWS[@]}" -gt 0 ]; then
    echo
    echo "## Authorization code: code-for-token exchange — $TODAY"
    echo
    echo "Each cycle: GET /auth with the SSO cookie and prompt=none (302 with a code; PKCE S256, public client)"
    echo "then POST /token grant_type=authorization_code. wrk's p50/p99 mix both request kinds; the exchange"
    echo "and authorization columns are timed per request kind by the script (request() to response(), raw;"
    echo "wrk's own percentiles include its latency correction, stats_correct, so they can exceed both)."
    echo "RS256 signatures per exchange, counted from the tokens' headers: $SIGS_CODE (access and ID token — scope openid —;"
    echo "the refresh token is HS512): ratio = exchanges/s × $SIGS_CODE ÷ (RSA sign/s × nproc); the authorization requests'"
    echo "work is not in the formula."
    echo
    echo "| stack | exchanges/s | requests/s (both kinds) | p50 ms (mixed) | p99 ms (mixed) | exchange p50 ms | exchange p99 ms | authorization GET p99 ms | unexpected + socket errors | RSS after MB | exchanges/s × $SIGS_CODE ÷ (RSA sign/s × nproc) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${CODE_ROWS[@]}"
fi
if [ "${#REFRESH_ROWS[@]}" -gt 0 ]; then
    echo
    echo "## refresh_token grant (rotation) — $TODAY"
    echo
    echo "RS256 signatures per refresh, counted from the tokens' headers: $SIGS_REFRESH (access and ID token — scope openid —;"
    echo "the next refresh token is HS512, and the presented one is verified with HMAC):"
    echo "ratio = refreshes/s × $SIGS_REFRESH ÷ (RSA sign/s × nproc). Each refresh is also one database write transaction."
    echo
    echo "| stack | refreshes/s | p50 ms | p99 ms | non-200 + socket errors | RSS after MB | refreshes/s × $SIGS_REFRESH ÷ (RSA sign/s × nproc) |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${REFRESH_ROWS[@]}"
fi
if [ "${#LOGIN_ROWS[@]}" -gt 0 ]; then
    echo
    echo "## Login form POST (argon2id) — $TODAY"
    echo
    echo "Each cycle: GET /auth (login page, no SSO cookie) then POST the login form; a 302 with a code is a login."
    echo "Every login verifies one password: ratio = logins/s ÷ (nproc / seconds per verification)"
    echo "= logins/s ÷ $HASH_CEILING. The login columns are timed per request kind by the script (raw); wrk's p99"
    echo "mixes both kinds and includes its latency correction."
    echo "The last column divides by what $NPROC threads hashing at once achieved instead (which can be below the"
    echo "nproc-times-one-thread ceiling: shared memory bandwidth, SMT siblings, other load)."
    echo "With $CONNECTIONS connections the logins queue for the cores: their latency is mostly waiting."
    echo
    echo "| stack | logins/s | login POST p50 ms | login POST p99 ms | login page GET p99 ms | p99 ms (mixed) | unexpected + socket errors | RSS after MB | logins/s ÷ ($NPROC / $HASH_MS ms) | logins/s ÷ $HASH_PARALLEL (measured, $NPROC threads) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${LOGIN_ROWS[@]}"
fi
if [ "${#KEY_ROWS[@]}" -gt 0 ]; then
    echo
    echo "## API keys: verification and key for token — $TODAY"
    echo
    echo "plain is the baseline of a cheap answer (realm info, cached, no credentials); psk verifies the key on"
    echo "every request (one indexed lookup by keyed hash, the realm, the owner and roles; the use event is"
    echo "queued, stored off the request path) and answers the owner's claims: ratio = psk/s ÷ plain/s."
    echo "key_token verifies the pair and signs one RS256 token: ratio = tokens/s ÷ (RSA sign/s × nproc)."
    echo
    echo "| stack | flow | per s | p50 ms | p99 ms | non-200 + socket errors | RSS after MB | ratio |"
    echo "|---|---|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${KEY_ROWS[@]}"
fi
if [ "${#SCALE_ROWS[@]}" -gt 0 ]; then
    echo
    echo "## realm scale: before and after creating $REALMS more realms — $TODAY"
    echo
    echo "(\"before\" already has master, bench and the 20 realms its own create-timing made.)"
    echo
    echo "| stack | measure | before | after +$REALMS realms |"
    echo "|---|---|---:|---:|"
    printf '%s\n' "${SCALE_ROWS[@]}"
fi
