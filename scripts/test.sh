#!/bin/bash
#
# test.sh - the whole test suite, as CI runs it (.ci/run):
#   1. scripts/setup.sh (installs what is missing)
#   2. scripts/build.sh --asan (build/ and build-asan/)
#   3. the banned-function check over our .c/.h files
#   4. the whole tree compiled with clang too (build-clang/, no tests run)
#   5. the libFuzzer targets built with clang and run FUZZ_SECONDS (20) s
#      each (bench/fuzz.sh; build-fuzz/); a crash fails the run
#   6. ctest in build-asan/ (ASan+UBSan: unit and integration tests)
#   7. ctest in build/ (--output-on-failure)
# The last line printed is ctest's summary of step 7 ("100% tests passed,
# 0 tests failed out of N"); the exit status is non-zero if any step failed.
# Set SKIP_SETUP=1 to skip step 1, SKIP_ASAN=1 to skip the sanitizer run,
# SKIP_CLANG=1 to skip steps 4 and 5.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-$ROOT/build-asan}
CLANG_BUILD_DIR=${CLANG_BUILD_DIR:-$ROOT/build-clang}
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
export BUILD_DIR ASAN_BUILD_DIR
status=0
# Two tests at a time: the integration tests mostly wait on daemons and the
# CA, each on its own free loopback ports and temp dir (CTEST_JOBS=1: one).
CTEST_JOBS=${CTEST_JOBS:-2}

# step - print a banner.
step() {
	printf '\n==== %s ====\n' "$*"
}

# banned_check - fail if our C sources call a banned function (comments and
# string literals are ignored).
banned_check() {
	local files
	files=$(cd "$ROOT" && find core acme deploy verify hooks cli include tests bench \
		-type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)
	[ -n "$files" ] || return 0
	(cd "$ROOT" && printf '%s\n' "$files" | python3 -c '
import re, sys
banned = re.compile(r"\b(strcpy|strcat|sprintf|strtok|gets|atoi|system|popen)\s*\(")
strip = re.compile(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'"'"'(?:\\.|[^'"'"'\\\n])*'"'"'", re.S)
bad = 0
for path in sys.stdin.read().split():
    text = open(path, encoding="utf-8", errors="replace").read()
    # blank out comments and literals but keep line numbers
    text = strip.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    for no, line in enumerate(text.split("\n"), 1):
        m = banned.search(line)
        if m:
            print("%s:%d: banned function %s()" % (path, no, m.group(1)))
            bad = 1
sys.exit(bad)
')
}

# run_ctest - run ctest in DIR, output to the terminal and to LOG.
run_ctest() {
	local dir=$1 log=$2
	shift 2
	ctest --test-dir "$dir" --output-on-failure -j "$CTEST_JOBS" "$@" 2>&1 | tee "$log"
}

cd "$ROOT" || exit 1
if [ "${SKIP_SETUP:-0}" != 1 ]; then
	step "setup"
	bash "$ROOT/scripts/setup.sh" || exit 1
fi

step "build (normal + ASan/UBSan)"
if [ "${SKIP_ASAN:-0}" = 1 ]; then
	bash "$ROOT/scripts/build.sh" || exit 1
else
	bash "$ROOT/scripts/build.sh" --asan || exit 1
fi

step "banned functions (strcpy strcat sprintf strtok gets atoi system popen)"
if banned_check; then
	echo "banned functions: none found"
else
	echo "banned functions: FOUND (see above)"
	status=1
fi

if [ "${SKIP_CLANG:-0}" != 1 ]; then
	step "clang: compile the whole tree ($CLANG_BUILD_DIR)"
	if CC=clang cmake -S "$ROOT" -B "$CLANG_BUILD_DIR" -DMAILCERT_INTEGRATION=OFF \
		>/dev/null && cmake --build "$CLANG_BUILD_DIR" -j "$(nproc 2>/dev/null || echo 2)" \
		>"$CLANG_BUILD_DIR/build.log" 2>&1; then
		echo "clang build: ok"
	else
		tail -n 40 "$CLANG_BUILD_DIR/build.log"
		echo "clang build: FAILED"
		status=1
	fi
	step "fuzz: libFuzzer targets, ${FUZZ_SECONDS}s each ($FUZZ_BUILD_DIR)"
	bash "$ROOT/bench/fuzz.sh" --build "$FUZZ_BUILD_DIR" --seconds "$FUZZ_SECONDS" || status=1
fi

if [ "${SKIP_ASAN:-0}" != 1 ]; then
	step "ctest: ASan+UBSan build ($ASAN_BUILD_DIR)"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		run_ctest "$ASAN_BUILD_DIR" "$ASAN_BUILD_DIR/ctest.log" || status=1
fi

step "ctest: normal build ($BUILD_DIR)"
run_ctest "$BUILD_DIR" "$BUILD_DIR/ctest.log" || status=1

# ctest prints timing lines after its summary: repeat the summary as the
# very last line, and note which earlier steps failed just before it.
summary=$(grep -E '^[0-9]+% tests passed' "$BUILD_DIR/ctest.log" | tail -n 1)
echo
if [ -n "${ASAN_BUILD_DIR:-}" ] && [ "${SKIP_ASAN:-0}" != 1 ]; then
	asan_summary=$(grep -E '^[0-9]+% tests passed' "$ASAN_BUILD_DIR/ctest.log" | tail -n 1)
	echo "ASan+UBSan build: ${asan_summary:-no ctest summary}"
fi
[ "$status" = 0 ] || echo "test.sh: FAILED (see above)"
echo "${summary:-ctest printed no summary}"
if [ -z "$summary" ]; then
	status=1
fi
exit "$status"
