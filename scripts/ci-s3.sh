#!/usr/bin/env bash
# A throwaway S3-compatible server (s3s-fs) for the S3 tests of upvault-blob (CI-NOTES.md recipe).
#
#   eval "$(scripts/ci-s3.sh)"       # start; prints the exports, nothing else on stdout
#   scripts/ci-s3.sh stop            # stop it and remove its files
#
# The server keeps its buckets as directories under a fresh temp dir (bucket `upvault-test`),
# listens on 127.0.0.1:${UPVAULT_CI_S3PORT:-8014} only, path-style, any region.
# Start records its pid and directory in $STATE so that `stop` finds them without any
# environment. The binary is built once with cargo (~3 min, both cores: not while the project
# builds) and reused from ~/.cargo/bin afterwards.
set -euo pipefail

S3PORT=${UPVAULT_CI_S3PORT:-8014}
STATE=${TMPDIR:-/tmp}/upvault-ci-s3-$S3PORT
BUCKET=upvault-test
ACCESS_KEY=ci-access
SECRET_KEY=ci-secret-key
# Newer s3s-fs releases need a newer rustc than ours: keep the pin.
S3S_FS_VERSION=0.14.1

log() { echo "ci-s3: $*" >&2; }

stop() {
    if [ ! -f "$STATE" ]; then
        log "nothing to stop ($STATE is missing)"
        return 0
    fi
    local pid root
    { read -r pid && read -r root; } <"$STATE" || true
    if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    if [ -n "${root:-}" ]; then rm -rf "$root"; fi
    rm -f "$STATE"
    log "stopped"
}

start() {
    if [ -f "$STATE" ]; then
        log "a server from an earlier run is recorded in $STATE; stopping it first"
        stop
    fi
    export PATH="$HOME/.cargo/bin:$PATH"
    if ! command -v s3s-fs >/dev/null; then
        log "installing s3s-fs $S3S_FS_VERSION (cargo install, a few minutes)"
        cargo install "s3s-fs@$S3S_FS_VERSION" --features binary --locked >&2
    fi
    local root pid
    root=$(mktemp -d)
    mkdir -p "$root/data/$BUCKET"
    # Its output goes to a file: on our stdout it would hold `$(...)` open.
    s3s-fs --host 127.0.0.1 --port "$S3PORT" --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" \
        "$root/data" >"$root/log" 2>&1 </dev/null &
    pid=$!
    printf '%s\n%s\n' "$pid" "$root" >"$STATE"
    local ready=
    for _ in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$S3PORT") 2>/dev/null; then ready=1; break; fi
        sleep 0.1
    done
    if [ -z "$ready" ]; then
        log "the server did not start; its log:"
        cat "$root/log" >&2 || true
        stop
        return 1
    fi
    log "listening on 127.0.0.1:$S3PORT (pid $pid, data in $root/data)"
    echo "export UPVAULT_TEST_S3_ENDPOINT=http://127.0.0.1:$S3PORT"
    echo "export UPVAULT_TEST_S3_BUCKET=$BUCKET"
    echo "export UPVAULT_TEST_S3_ACCESS_KEY=$ACCESS_KEY"
    echo "export UPVAULT_TEST_S3_SECRET_KEY=$SECRET_KEY"
    echo "export UPVAULT_TEST_S3_REGION=us-east-1"
    # s3s-fs only: lets the tests see pending multipart uploads, which the S3 API of s3s-fs
    # cannot list.
    echo "export UPVAULT_TEST_S3FS_ROOT=$root/data"
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 [start|stop]" >&2
    exit 2
    ;;
esac
