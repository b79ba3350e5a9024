#!/usr/bin/env bash
# Bounded fuzz run of every target, for CI: FUZZ_SECONDS (default 60) per target.
#
# Each target starts from its committed seeds (fuzz/corpus/<target>/seed-*), copied to a
# temporary folder so the corpus libFuzzer grows is never committed, and uses its
# dictionary fuzz/dicts/<target>.dict. Any crash, panic, timeout (10 s for one input) or
# allocation over the memory limit fails the script; the input that did it is kept in
# fuzz/artifacts/<target>/ (ignored by git) for turning into a regression test. So does a
# run in which no target ran, or a target executed no input.
#
# Usage: bash fuzz/run.sh [target ...]      (all targets when none are named)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
seconds="${FUZZ_SECONDS:-60}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    # Not `< <(cargo fuzz list)`: a process substitution's failure would leave no targets
    # and a run that checked nothing would pass.
    list="$(cargo +nightly fuzz list)"
    mapfile -t targets < <(printf '%s\n' "$list" | grep -v '^[[:space:]]*$' || true)
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz/run.sh: no fuzz target to run (cargo fuzz list found none)" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo +nightly fuzz build
ran=0
for target in "${targets[@]}"; do
    corpus="$work/$target"
    mkdir -p "$corpus"
    cp corpus/"$target"/seed-* "$corpus"/
    # Callback inputs must be able to pass the 8 KiB cap; answers are short.
    case "$target" in
        callback_*) max_len=12288 ;;
        *) max_len=4096 ;;
    esac
    echo "== fuzz $target for ${seconds}s ($(ls "$corpus" | wc -l) seeds)"
    # libFuzzer prints a line per new input (megabytes a minute): keep it in a log, show
    # its final stats, and all of its end when it fails.
    log="$work/$target.log"
    if ! cargo +nightly fuzz run "$target" "$corpus" -- \
        -max_total_time="$seconds" \
        -dict="dicts/$target.dict" \
        -max_len="$max_len" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)|cov: .* ft: ' "$log" \
        | tail -n 3 || true
    # A target that exits at once (a seed folder it cannot read, a changed flag) must not
    # count as fuzzed.
    units="$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)"
    if [ -z "$units" ] || [ "$units" -eq 0 ]; then
        tail -n 20 "$log" >&2
        echo "fuzz: $target executed no input" >&2
        exit 1
    fi
    ran=$((ran + 1))
done
echo "fuzz: ${ran} targets ran ${seconds}s each without a crash"
