#!/bin/bash
# bench/nonce.sh - issue 16's nonce storm, in full: Pebble rejecting half
# of all nonces (PEBBLE_WFE_NONCEREJECT=50), ISSUES3 issuances of 3 names
# (default 10) and ISSUES100 of 100 names (default 1), each in a fresh
# state (new account). Prints how many succeeded, how long they took and
# how many badNonce answers mailcert sent again (its debug log). The CI
# part is tests/integration/t_nonce_storm.sh (3 + 1).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export MAILCERT=${MAILCERT:-$ROOT/build/mailcert} MC_TESTS_DIR=$ROOT/tests
ISSUES3=${ISSUES3:-10}
ISSUES100=${ISSUES100:-1}
REJECT=${REJECT:-50}
# shellcheck source=../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

pebble_start --nonce-reject "$REJECT"
names100=""
for ((i = 1; i <= 100; i++)); do
	names100+="n$i.example.test "
done

# one N NAMES - one issuance in a fresh state: "ok|fail ms retries".
one() {
	local k=$1 names=$2 t0 rc ms
	MC_STATE=$TEST_TMP/state$k
	{
		conf_global "$PEBBLE_DIR_URL"
		conf_cert c "$names"
	} >"$MC_CONF"
	t0=$(date +%s%N)
	mc_run -v issue c
	rc=$MC_RC
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "$([ "$rc" = 0 ] && echo ok || echo fail) $ms $(grep -c 'badNonce, sending again' "$MC_ERR")"
	[ "$rc" = 0 ] || tail -3 "$MC_ERR" >&2
}

declare -a r3 r100
for ((k = 1; k <= ISSUES3; k++)); do
	r3+=("$(one "3-$k" "a.example.test b.example.test c.example.test")")
	log "3 names, run $k: ${r3[-1]}"
done
for ((k = 1; k <= ISSUES100; k++)); do
	r100+=("$(one "100-$k" "${names100% }")")
	log "100 names, run $k: ${r100[-1]}"
done

# summary LABEL RESULTS... - "label: ok/total, median ms, badNonce retried".
summary() {
	local label=$1
	shift
	local med
	med=$(printf '%s\n' "$@" | awk '{ print $2 }' | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	printf '%s\n' "$@" | awk -v l="$label" -v med="$med" '
		{ n++; if ($1 == "ok") ok++; nb += $3 }
		END { printf "%-10s %3d/%-3d %9d %12d\n", l, ok, n, med, nb }'
}
echo
echo "nonce storm: Pebble rejects $REJECT% of nonces; each issuance in a fresh state"
printf '%-10s %7s %9s %12s\n' names ok "median ms" "badNonce sent again"
summary "3 names" "${r3[@]}"
summary "100 names" "${r100[@]}"
