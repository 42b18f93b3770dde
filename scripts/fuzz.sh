#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a fixed short time and fails on a crash.
#
#   scripts/fuzz.sh                 # 20 s per target
#   FUZZ_SECS=300 scripts/fuzz.sh   # longer
#   scripts/fuzz.sh range filename  # only these targets
#
# cargo-fuzz needs nightly-only compiler flags; our stable toolchain accepts them with
# RUSTC_BOOTSTRAP=1. cargo-fuzz is installed (cargo install --locked) when missing. A crash
# leaves its input in fuzz/artifacts/<target>/: turn it into a unit test next to the code.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1
FUZZ_SECS=${FUZZ_SECS:-20}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (cargo install --locked)" >&2
    cargo install cargo-fuzz --locked >&2
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "== building ${#targets[@]} fuzz targets" >&2
cargo fuzz build >&2

failed=()
for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${FUZZ_SECS}s" >&2
    mkdir -p "corpus/$target"
    if ! cargo fuzz run "$target" -- -max_total_time="$FUZZ_SECS" -rss_limit_mb=2048 \
        -print_final_stats=1 >"target/fuzz-$target.log" 2>&1; then
        tail -40 "target/fuzz-$target.log" >&2
        failed+=("$target")
    else
        grep -E "stat::number_of_executed_units|stat::new_units_added" "target/fuzz-$target.log" \
            | sed "s/^/$target: /" >&2 || true
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: crashes in ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${FUZZ_SECS}s each, no crash" >&2
