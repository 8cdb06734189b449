# shellcheck shell=bash
#
# Shared helpers for scripts/test.sh and scripts/bench.sh: install Debian
# packages on demand, and run a throwaway PostgreSQL and Redis on 127.0.0.1.
#
# Source this file, then:
#
#   nexus_ensure_packages CMD_OR_PATH:PACKAGE ...   install what is missing
#   nexus_apt_install PACKAGE ...                   install unconditionally
#   nexus_svc_init                                  make the temp dir ($NEXUS_SVC_DIR)
#   nexus_start_postgres                            sets PGPORT, NEXUS_PG_URL
#   nexus_start_redis                               sets REDISPORT, NEXUS_REDIS_URL_LOCAL
#   nexus_svc_cleanup                               stop both, remove the temp dir
#
# nexus_svc_cleanup is safe to call at any point (also twice, also when
# nothing was started), so callers put it in an EXIT trap right after
# sourcing.  Nothing here touches the distribution's own services: the
# servers run from a fresh data directory on a free loopback port, as the
# `postgres` user for PostgreSQL (initdb refuses to run as root).

NEXUS_SVC_DIR="" # never inherited: cleanup removes it
NEXUS_PG_BIN="${NEXUS_PG_BIN:-}"
NEXUS_PGDATA=""
NEXUS_REDIS_PID=""
PGPORT=""
REDISPORT=""
NEXUS_PG_URL=""
NEXUS_REDIS_URL_LOCAL=""

nexus_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

nexus_die() {
    nexus_log "ERROR: $*"
    exit 1
}

# Run a command as root (directly, or via sudo when not root).
nexus_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        nexus_die "need root (or sudo) to run: $*"
    fi
}

# Run a command as the postgres user when we are root; as ourselves otherwise.
nexus_as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# nexus_ensure_packages TEST:PACKAGE ...
# TEST is a command name (looked up in PATH), an absolute path, or a glob of
# absolute paths; PACKAGE is the Debian package that provides it.  apt-get
# update and install run only when at least one is missing.
nexus_ensure_packages() {
    local spec check pkg missing=() p
    for spec in "$@"; do
        check="${spec%%:*}"
        pkg="${spec#*:}"
        if [[ "$check" == /* ]]; then
            # shellcheck disable=SC2086  # glob on purpose
            if compgen -G "$check" >/dev/null; then continue; fi
        elif command -v "$check" >/dev/null 2>&1; then
            continue
        fi
        for p in "${missing[@]}"; do [ "$p" = "$pkg" ] && continue 2; done
        missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] || nexus_apt_install "${missing[@]}"
}

# nexus_apt_install PACKAGE...  (apt-get update + install, no services started)
nexus_apt_install() {
    nexus_log "installing missing packages: $*"
    # Keep package maintainer scripts from starting system services (the
    # postgresql and redis-server packages would otherwise start theirs).
    local made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        nexus_as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
        made_policy=1
    fi
    local rc=0
    export DEBIAN_FRONTEND=noninteractive
    nexus_as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q update || true
    nexus_as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q -y \
        --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        install "$@" || rc=$?
    if [ -n "$made_policy" ]; then nexus_as_root rm -f /usr/sbin/policy-rc.d; fi
    [ "$rc" -eq 0 ] || nexus_die "apt-get install $* failed (exit $rc)"
}

# Directory holding initdb/pg_ctl/pg_isready of the newest installed server
# (Debian keeps them off PATH, in /usr/lib/postgresql/MAJOR/bin).
nexus_find_pg_bin() {
    if [ -n "$NEXUS_PG_BIN" ] && [ -x "$NEXUS_PG_BIN/initdb" ]; then
        printf '%s\n' "$NEXUS_PG_BIN"
        return 0
    fi
    local d best=""
    while IFS= read -r d; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then best="$d"; fi
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V)
    [ -n "$best" ] || return 1
    printf '%s\n' "$best"
}

# Print a TCP port on 127.0.0.1 that nothing listens on right now.
nexus_free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local i port
    for i in $(seq 1 200); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return 0
        fi
        : "$i"
    done
    nexus_die "no free port found"
}

# Create the temp dir that holds both servers' data, sockets and logs.
nexus_svc_init() {
    [ -z "$NEXUS_SVC_DIR" ] || return 0
    # Under /tmp (not $TMPDIR) so that the postgres user can always reach it,
    # and short so the unix socket path stays under the 107-byte limit.
    NEXUS_SVC_DIR=$(mktemp -d /tmp/nexus-svc.XXXXXX)
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$NEXUS_SVC_DIR"; fi
}

nexus_start_postgres() {
    nexus_svc_init
    NEXUS_PG_BIN=$(nexus_find_pg_bin) || nexus_die "PostgreSQL server binaries not found under /usr/lib/postgresql"
    local port data="$NEXUS_SVC_DIR/pgdata" i
    port=$(nexus_free_port)
    (
        cd "$NEXUS_SVC_DIR"
        nexus_as_postgres "$NEXUS_PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C \
            --no-sync --no-instructions >"$NEXUS_SVC_DIR/initdb.log" 2>&1
    ) || { cat "$NEXUS_SVC_DIR/initdb.log" >&2; nexus_die "initdb failed"; }
    cat >>"$data/postgresql.conf" <<EOF

# nexus throwaway test server
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$NEXUS_SVC_DIR'
max_connections = 300
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
EOF
    NEXUS_PGDATA="$data" # from here on, cleanup knows to stop it
    (
        cd "$NEXUS_SVC_DIR"
        nexus_as_postgres "$NEXUS_PG_BIN/pg_ctl" -D "$data" -l "$NEXUS_SVC_DIR/postgres.log" -w -t 60 start >/dev/null
    ) || { tail -n 30 "$NEXUS_SVC_DIR/postgres.log" >&2 || true; nexus_die "PostgreSQL failed to start"; }
    for i in $(seq 1 60); do
        if "$NEXUS_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then break; fi
        [ "$i" -eq 60 ] && nexus_die "PostgreSQL not ready on 127.0.0.1:$port after 30s"
        sleep 0.5
    done
    PGPORT="$port"
    # shellcheck disable=SC2034  # for the sourcing script
    NEXUS_PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
    nexus_log "PostgreSQL $("$NEXUS_PG_BIN/postgres" --version | awk '{print $3}') ready on 127.0.0.1:$PGPORT ($NEXUS_PG_BIN)"
}

nexus_start_redis() {
    nexus_svc_init
    command -v redis-server >/dev/null 2>&1 || nexus_die "redis-server not installed"
    local port i
    port=$(nexus_free_port)
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize no \
        --dir "$NEXUS_SVC_DIR" --logfile "$NEXUS_SVC_DIR/redis.log" --protected-mode yes \
        </dev/null >/dev/null 2>&1 &
    NEXUS_REDIS_PID=$!
    for i in $(seq 1 60); do
        if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then break; fi
        if ! kill -0 "$NEXUS_REDIS_PID" 2>/dev/null; then
            tail -n 30 "$NEXUS_SVC_DIR/redis.log" >&2 || true
            nexus_die "redis-server exited during startup"
        fi
        [ "$i" -eq 60 ] && nexus_die "Redis not answering PING on 127.0.0.1:$port after 30s"
        sleep 0.5
    done
    REDISPORT="$port"
    # shellcheck disable=SC2034  # for the sourcing script
    NEXUS_REDIS_URL_LOCAL="redis://127.0.0.1:$REDISPORT"
    nexus_log "Redis $(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-) ready on 127.0.0.1:$REDISPORT"
}

nexus_stop_postgres() {
    [ -n "$NEXUS_PGDATA" ] || return 0
    local data="$NEXUS_PGDATA" pid=""
    NEXUS_PGDATA=""
    [ -f "$data/postmaster.pid" ] || return 0
    pid=$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)
    if ! (cd / && nexus_as_postgres "$NEXUS_PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1); then
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            nexus_log "pg_ctl stop failed; killing postmaster $pid"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
}

nexus_stop_redis() {
    [ -n "$NEXUS_REDIS_PID" ] || return 0
    local pid="$NEXUS_REDIS_PID" i
    NEXUS_REDIS_PID=""
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
        : "$i"
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Stop everything and remove the temp dir.  Never fails.
nexus_svc_cleanup() {
    nexus_stop_redis || true
    nexus_stop_postgres || true
    if [ -n "$NEXUS_SVC_DIR" ] && [ -d "$NEXUS_SVC_DIR" ]; then
        rm -rf "$NEXUS_SVC_DIR" || true
    fi
    NEXUS_SVC_DIR=""
}
