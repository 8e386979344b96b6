#!/bin/bash
#
# build.sh - configure and build mailcert.
#
#   scripts/build.sh           normal build into build/
#   scripts/build.sh --asan    also an ASan+UBSan build of everything into build-asan/
#   scripts/build.sh --asan-only
#
# BUILD_DIR / ASAN_BUILD_DIR override the directories; extra CMake options
# can be passed in CMAKE_ARGS (e.g. CMAKE_ARGS=-DMAILCERT_INTEGRATION=OFF).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-$ROOT/build-asan}
JOBS=$(nproc 2>/dev/null || echo 2)
read -r -a EXTRA <<<"${CMAKE_ARGS:-}"

# build_one - configure DIR with the given CMake options and build it.
build_one() {
	local dir=$1
	shift
	echo "build: $dir"
	cmake -S "$ROOT" -B "$dir" "$@" "${EXTRA[@]}" >/dev/null
	cmake --build "$dir" -j "$JOBS"
}

normal=1 asan=0
for arg in "$@"; do
	case $arg in
	--asan) asan=1 ;;
	--asan-only) asan=1 normal=0 ;;
	-h | --help) sed -n '3,11p' "$0"; exit 0 ;;
	*) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
	esac
done
if [ "$normal" = 1 ]; then
	build_one "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILCERT_SANITIZE=OFF
fi
if [ "$asan" = 1 ]; then
	build_one "$ASAN_BUILD_DIR" -DCMAKE_BUILD_TYPE=Debug -DMAILCERT_SANITIZE=ON
fi
