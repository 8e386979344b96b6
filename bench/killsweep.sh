#!/bin/bash
# bench/killsweep.sh - kill -9 of issue, renew --force, deploy --version and
# rollback at EVERY rename and fsync they make (strace syscall injection),
# with real Postfix, Dovecot and Exim on loopback and a real Pebble. After
# each kill the daemons' view is judged, then the next `renew` (nothing
# due), exactly as tests/integration/killsweep.sh describes (CI runs a
# subset of these points: tests/integration/t_deploy_crash.sh). Prints the
# table points x outcome and a summary; exit 1 if any point failed.
# Run as root after scripts/setup.sh and a build (MAILCERT=path, default
# build/mailcert); COMMANDS="deploy rollback" sweeps only those.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export MAILCERT=${MAILCERT:-$ROOT/build/mailcert} MC_TESTS_DIR=$ROOT/tests
# shellcheck source=../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
# shellcheck source=../tests/integration/killsweep.sh
. "$ROOT/tests/integration/killsweep.sh"

ks_setup
failed=0 summary=()
for cmd in ${COMMANDS:-issue renew deploy rollback}; do
	start=$SECONDS ok=0 bad=0 done_early=0
	mapfile -t pts < <(ks_points "ks_args_$cmd")
	for p in "${pts[@]}"; do
		read -r sc n what <<<"$p"
		if ks_point "$cmd" "ks_args_$cmd" "$sc" "$n" "$what"; then
			case ${KS_ROWS[-1]} in *"(finished"*) done_early=$((done_early + 1)) ;; *) ok=$((ok + 1)) ;; esac
		else
			bad=$((bad + 1))
		fi
	done
	failed=$((failed + bad))
	summary+=("$(printf '%-9s %6d %10d %8d %14d %7ds' "$cmd" "${#pts[@]}" "$ok" "$bad" "$done_early" $((SECONDS - start)))")
done
ks_table
echo
printf '%-9s %6s %10s %8s %14s %8s\n' COMMAND POINTS CONVERGED FAILED "NOT REACHED" TIME
printf '%s\n' "${summary[@]}"
[ "$failed" = 0 ] || fail "$failed kill point(s) failed (table above)"
