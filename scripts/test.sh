#!/usr/bin/env bash
# The whole test suite, with everything it needs: starts a throwaway PostgreSQL and an
# S3-compatible server on loopback (installing them if missing), makes sure Debian's Chromium and
# ChromeDriver are there for the browser tests, runs `cargo test --workspace` with the
# integration suite on PostgreSQL + S3, then the integration suite again on SQLite + local disk,
# and stops the services whatever happens.
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

# Chromium drives the page tests; curl and Node.js (fetch, node:http) are third-party clients
# of the upload tests.
if ! { command -v chromium && command -v chromedriver && command -v curl && command -v node; } \
    >/dev/null 2>&1; then
    echo "== installing chromium, chromium-driver, curl and nodejs (apt-get)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver curl nodejs >&2
fi

# Public third-party clients of the API (Python, TypeScript), from PyPI and npm.
echo "== installing the interop clients" >&2
eval "$(scripts/interop-setup.sh)"

echo "== starting PostgreSQL" >&2
eval "$(scripts/ci-postgres.sh)"
echo "== starting the S3-compatible server" >&2
eval "$(scripts/ci-s3.sh)"

echo "== cargo test --workspace (integration suite on PostgreSQL + S3)" >&2
cargo test --workspace "$@"

# The same integration suite again on the embedded default, SQLite + local disk.
echo "== integration suite on SQLite + local disk" >&2
# `--workspace --test it` (only upvault has it) keeps the first run's feature set, so nothing
# is rebuilt; `-p upvault` would resolve features anew and recompile half the workspace.
env -u UPVAULT_TEST_DATABASE_URL -u UPVAULT_TEST_S3_ENDPOINT UPVAULT_TEST_EMBEDDED=1 \
    cargo test --workspace --test it "$@"
