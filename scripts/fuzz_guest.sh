#!/usr/bin/env bash
# fuzz_guest.sh [ITERS] [SEEDS...]: the differential guest fuzzers (guest
# suite 'fuzz') for longer than make test runs them: every CPU model, each
# seed, ITERS iterations per fuzzer (default 100000; seeds default to five
# taken from the clock, printed so that a failure can be replayed with
#   MARROW_CMDLINE="fuzz_seed=S fuzz_iters=N" make run GUEST_TESTS=fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-100000}
shift || true
seeds=("$@")
if [ ${#seeds[@]} -eq 0 ]; then
	base=$(date +%s)
	seeds=($base $((base + 1)) $((base + 2)) $((base + 3)) $((base + 4)))
fi
make -s kernel
failed=0
for model in corei7_skylake_x corei7_icelake_u tigerlake; do
	for seed in "${seeds[@]}"; do
		iso=build/fuzz/$model-$seed.iso
		MARROW_CMDLINE="fuzz_seed=$seed fuzz_iters=$iters" \
			bash scripts/mkiso.sh build/marrow.elf fuzz "$iso"
		out=$(python3 tests/e2e/run.py --iso "$iso" --cpus 2 --model "$model" \
			--timeout 3600 --workdir "build/fuzz/$model-$seed" 2>&1) || true
		echo "$out" | grep -E '^# seed|^not ok|^# tests/' | sed "s/^/$model seed $seed: /" || true
		verdict=$(echo "$out" | grep -E '^run: [0-9]+ passed' || echo "run: no verdict")
		echo "$model seed $seed: $verdict"
		echo "$verdict" | grep -q ' 0 failed' || failed=1
	done
done
exit $failed
