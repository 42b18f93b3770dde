#!/usr/bin/env bash
# The whole test suite, with everything it needs: starts a throwaway PostgreSQL and an
# S3-compatible server on loopback (installing them if missing), makes sure Debian's Chromium and
# ChromeDriver are there for the browser tests, runs `cargo test --workspace` against SQLite +
# local disk and PostgreSQL + S3, and stops the services whatever happens.
#
#   scripts/test.sh [extra cargo test arguments]
#
# Without this script, `cargo test --workspace` alone runs everything that needs no service and
# skips the rest with a message (unless CI=true, where a skipped service test fails).
set -euo pipefail
cd "$(dirname "$0")/.."

cleanup() {
    scripts/ci-s3.sh stop || true
    scripts/ci-postgres.sh stop || true
}
trap cleanup EXIT

if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
    echo "== installing chromium and chromium-driver (apt-get)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >&2
fi

echo "== starting PostgreSQL" >&2
eval "$(scripts/ci-postgres.sh)"
echo "== starting the S3-compatible server" >&2
eval "$(scripts/ci-s3.sh)"

echo "== cargo test --workspace" >&2
cargo test --workspace "$@"
