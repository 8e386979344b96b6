#!/bin/bash
#
# fuzz.sh - build and run mailcert's libFuzzer targets (tests/fuzz/) and
# print, per target: executions, execs/s, coverage (cov = edges, ft =
# features), corpus size and crashes (crash/leak/timeout/oom artifacts).
#
#   bench/fuzz.sh                    every target for 300 s
#   bench/fuzz.sh --seconds 20       CI (scripts/test.sh): 20 s each
#   bench/fuzz.sh fuzz_config ...    only these targets
#
# Options: --seconds N (per target), --build DIR (default build-fuzz/; built
# with clang -DMAILCERT_FUZZ=ON when missing or out of date), --keep DIR
# (keep the grown corpora and artifacts there instead of a temp dir).
# Seeds are read from tests/fuzz/corpus/<target>/ and never written. The
# exit status is 1 if any target crashed (the reproducer's path is printed),
# 2 on a usage or build error. Needs clang and libclang-rt-14-dev
# (scripts/setup.sh installs them).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=300
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
KEEP=""
TARGETS=()
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) SECONDS_EACH=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--keep) KEEP=$2; shift 2 ;;
	-h | --help) sed -n '3,19p' "$0"; exit 0 ;;
	-*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
	*) TARGETS+=("$1"); shift ;;
	esac
done
case $SECONDS_EACH in
'' | *[!0-9]*) echo "fuzz.sh: --seconds needs a whole number" >&2; exit 2 ;;
esac

# build - configure (clang, MAILCERT_FUZZ) and build the targets.
build() {
	command -v clang >/dev/null || { echo "fuzz.sh: clang is not installed (scripts/setup.sh)" >&2; return 2; }
	if [ ! -f "$BUILD/CMakeCache.txt" ]; then
		CC=clang cmake -S "$ROOT" -B "$BUILD" -DMAILCERT_FUZZ=ON -DMAILCERT_TESTS=OFF \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || return 2
	fi
	cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" >"$BUILD/fuzz-build.log" 2>&1 || {
		tail -n 30 "$BUILD/fuzz-build.log" >&2
		return 2
	}
}

# stat_of LOG KEY - a value from libFuzzer's final stats.
stat_of() {
	sed -n "s/^stat::$2: *\([0-9]*\).*/\1/p" "$1" | tail -n 1
}

# run_one TARGET - run it; append a row to ROWS; 1 if it crashed.
run_one() {
	local t=$1 bin=$BUILD/tests/fuzz/$1 seeds=$ROOT/tests/fuzz/corpus/${1#fuzz_}
	local corpus=$WORK/$t.corpus art=$WORK/$t.artifacts log=$WORK/$t.log
	local rc execs cov ft crashes n
	[ -x "$bin" ] || { echo "fuzz.sh: no target $t in $BUILD" >&2; return 2; }
	mkdir -p "$corpus" "$art"
	[ -d "$seeds" ] || { echo "fuzz.sh: no seeds in $seeds" >&2; return 2; }
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		timeout -k 10 $((SECONDS_EACH + 120)) "$bin" -max_total_time="$SECONDS_EACH" \
		-timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
		-artifact_prefix="$art/" "$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(stat_of "$log" number_of_executed_units)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	crashes=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
		-o -name 'oom-*' \) | wc -l)
	[ "$rc" = 0 ] || [ "$crashes" -gt 0 ] || crashes=1 # died without an artifact
	n=$(find "$corpus" -type f | wc -l)
	ROWS+=("$(printf '%-15s %6s %11s %9s %6s %7s %7s %8s' "$t" "$SECONDS_EACH" \
		"${execs:-?}" "$(( ${execs:-0} / (SECONDS_EACH > 0 ? SECONDS_EACH : 1) ))" \
		"${cov:-?}" "${ft:-?}" "$n" "$crashes")")
	if [ "$crashes" != 0 ]; then
		echo "fuzz.sh: $t FAILED (exit $rc); reproducers: $(find "$art" -type f | tr '\n' ' ')" >&2
		grep -E 'ERROR|SUMMARY|runtime error|#[0-9]+ 0x' "$log" | head -n 30 >&2
		return 1
	fi
	return 0
}

build || exit 2
if [ ${#TARGETS[@]} -eq 0 ]; then
	for f in "$ROOT"/tests/fuzz/fuzz_*.c; do
		TARGETS+=("$(basename "${f%.c}")")
	done
fi
if [ -n "$KEEP" ]; then
	WORK=$KEEP
	mkdir -p "$WORK"
else
	WORK=$(mktemp -d /tmp/mailcert-fuzz.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT
fi
ROWS=()
status=0
for t in "${TARGETS[@]}"; do
	echo "fuzz.sh: $t for ${SECONDS_EACH}s ..." >&2
	run_one "$t"
	case $? in
	0) ;;
	1) status=1 ;;
	*) exit 2 ;;
	esac
done
printf '%-15s %6s %11s %9s %6s %7s %7s %8s\n' target secs execs execs/s cov ft corpus crashes
printf '%s\n' "${ROWS[@]}"
exit "$status"
