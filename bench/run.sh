#!/usr/bin/env bash
# upvault's benchmark, side by side with nginx and rustypaste on this machine, in one run.
#
#   bench/run.sh                   full run (1 GiB files, medians of 3; about 10 minutes)
#   BENCH_QUICK=1 bench/run.sh     smoke run (64 MiB, 1 run; results in bench/results/quick.json)
#
# Installs what it needs (nginx, wrk, curl from Debian; rustypaste from crates.io), builds
# upvault in release mode (into $CARGO_TARGET_DIR, default ./target), runs every server on
# 127.0.0.1 from a temporary directory, and writes bench/results/latest.json,
# docs/BENCHMARKS.md and docs/benchmarks.svg. See bench/bench.py for the knobs.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
say() { printf '[run.sh] %s\n' "$*" >&2; }

# --- tools --------------------------------------------------------------------------------
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "${missing[@]}" >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if ! "$nginx_bin" -V 2>&1 | grep -q http_dav_module; then
    echo "nginx at $nginx_bin lacks the DAV module (needed for PUT); install Debian's nginx" >&2
    exit 1
fi

cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
rustypaste_bin=$(command -v rustypaste || echo "$cargo_bin/rustypaste")
if [ ! -x "$rustypaste_bin" ]; then
    say "installing rustypaste from crates.io"
    timeout 1800 nice -n 19 cargo install rustypaste --locked
    rustypaste_bin=$cargo_bin/rustypaste
fi

# --- upvault ------------------------------------------------------------------------------
target_dir=${CARGO_TARGET_DIR:-$repo/target}
say "building upvault (release) into $target_dir"
CARGO_TARGET_DIR=$target_dir timeout 3600 nice -n 19 cargo build --release --locked -p upvault
upvault_bin=$target_dir/release/upvault

# --- run ----------------------------------------------------------------------------------
work=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/upvault-bench.XXXXXX")
pidfile=$work/pids
bench_pid=
cleanup() {
    status=$?
    trap - EXIT INT TERM
    if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
        kill -TERM "$bench_pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$bench_pid" 2>/dev/null || break; sleep 0.1; done
    fi
    # Servers bench.py started and could not stop itself (it was killed): stop them by PID.
    if [ -f "$pidfile" ]; then
        while read -r pid; do
            [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
        done <"$pidfile"
        sleep 1
        while read -r pid; do
            [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
        done <"$pidfile"
    fi
    if [ "${BENCH_KEEP:-}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "working in $work"
export PYTHONDONTWRITEBYTECODE=1 BENCH_REPO=$repo BENCH_WORK=$work BENCH_PIDFILE=$pidfile BENCH_UPVAULT=$upvault_bin \
    BENCH_RUSTYPASTE=$rustypaste_bin BENCH_NGINX=$nginx_bin
# The whole run is bounded: 45 minutes at most (a full run takes about 10).
timeout --signal=TERM --kill-after=30 2700 python3 "$repo/bench/bench.py" &
bench_pid=$!
wait "$bench_pid"
