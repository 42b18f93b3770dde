#!/usr/bin/env bash
# Installs the third-party API clients the interop tests run (issue 18 #7, docs/COMPATIBILITY.md)
# into target/interop, from their registries, and prints the variables that point the tests at
# them:
#
#   eval "$(scripts/interop-setup.sh)"
#
# - primeuploads-py (PyPI, MIT), a Python client, in a virtualenv with its aiohttp;
# - tsx (npm), to run the TypeScript client vendored in crates/upvault/tests/interop/vendor.
# Progress goes to stderr; stdout is only the `export` lines.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$PWD/target/interop
mkdir -p "$dir"

missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v npm >/dev/null || missing+=(npm)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
    echo "== installing ${missing[*]} (apt-get)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

if [[ ! -x $dir/venv/bin/python ]] || ! "$dir/venv/bin/python" -c 'import prime' 2>/dev/null; then
    echo "== installing primeuploads-py (pip)" >&2
    python3 -m venv "$dir/venv" >&2
    "$dir/venv/bin/pip" install -q --disable-pip-version-check 'primeuploads-py==0.0.2' >&2
fi
if [[ ! -x $dir/node/node_modules/.bin/tsx ]]; then
    echo "== installing tsx (npm)" >&2
    npm install --silent --no-audit --no-fund --prefix "$dir/node" 'tsx@4' >&2
fi

echo "export UPVAULT_TEST_INTEROP_PYTHON=$dir/venv/bin/python"
echo "export UPVAULT_TEST_INTEROP_TSX=$dir/node/node_modules/.bin/tsx"
