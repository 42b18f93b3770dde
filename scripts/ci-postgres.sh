#!/usr/bin/env bash
# A throwaway PostgreSQL for the PostgreSQL contract tests of upvault-db (CI-NOTES.md recipe).
#
#   eval "$(scripts/ci-postgres.sh)"       # start; prints the exports, nothing else on stdout
#   scripts/ci-postgres.sh stop            # stop it and remove its files
#
# The cluster lives in a fresh temp dir, listens on 127.0.0.1:${UPVAULT_CI_PGPORT:-55432} only,
# runs as the `postgres` user (the server refuses root) and never touches the system's cluster.
# Start records its directory in $STATE so that `stop` finds it without any environment.
set -euo pipefail

PGPORT=${UPVAULT_CI_PGPORT:-55432}
STATE=${TMPDIR:-/tmp}/upvault-ci-postgres-$PGPORT
PASSWORD=ci-secret
DATABASE=upvault_test

log() { echo "ci-postgres: $*" >&2; }

pgbin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

# Runs a server binary as `postgres` when we are root, as ourselves otherwise.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
    if [ ! -f "$STATE" ]; then
        log "nothing to stop ($STATE is missing)"
        return 0
    fi
    local root bin
    root=$(cat "$STATE")
    bin=$(pgbin)
    if [ -d "$root/data" ]; then
        as_pg "$bin/pg_ctl" -D "$root/data" -m fast -w stop >/dev/null || log "pg_ctl stop failed"
    fi
    rm -rf "$root" "$STATE"
    log "stopped"
}

start() {
    if [ -f "$STATE" ]; then
        log "a cluster from an earlier run is recorded in $STATE; stopping it first"
        stop
    fi
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        log "installing PostgreSQL (apt-get)"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    local bin root
    bin=$(pgbin)
    root=$(mktemp -d)
    echo "$root" >"$STATE"
    echo "$PASSWORD" >"$root/pw"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$root"; fi
    as_pg "$bin/initdb" -D "$root/data" -U postgres --pwfile="$root/pw" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    # max_connections: every contract test opens its own small pools, in parallel.
    if ! as_pg "$bin/pg_ctl" -D "$root/data" -l "$root/log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $root -c fsync=off -c max_connections=300" \
        start >/dev/null; then
        log "the server did not start; its log:"
        cat "$root/log" >&2 || true
        stop
        return 1
    fi
    # CREATE DATABASE must be its own command.
    PGPASSWORD=$PASSWORD "$bin/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -qc \
        "CREATE DATABASE $DATABASE" >&2
    log "listening on 127.0.0.1:$PGPORT (data in $root)"
    echo "export UPVAULT_TEST_DATABASE_URL=postgres://postgres:$PASSWORD@127.0.0.1:$PGPORT/$DATABASE"
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 [start|stop]" >&2
    exit 2
    ;;
esac
