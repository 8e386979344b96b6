#!/bin/bash
# t_nonce_storm - issue 16: Pebble rejecting half of all nonces
# (PEBBLE_WFE_NONCEREJECT=50). Every badNonce is sent again with the fresh
# nonce of the error answer for as long as the order's deadline allows
# (before: at most 5 retries, so a 100-name order of ~300 POSTs failed
# nearly always, and 3 names failed 3 runs in 10). Here: 3 issuances of 3
# names and one of 100 names, all must succeed; the full 10/10 sweep is
# bench/nonce.sh.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start --nonce-reject 50
names3="a.example.test b.example.test c.example.test"
names100=""
for ((i = 1; i <= 100; i++)); do
	names100="$names100 n$i.example.test"
done
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert three "$names3"
	conf_cert hundred "${names100# }"
} >"$MC_CONF"

for run in 1 2 3; do
	mc_run -v issue three
	assert_exit 0 "3 names, run $run, with 50% of nonces rejected"
	# shellcheck disable=SC2086
	assert_issued three $names3
done
assert_contains "$MC_ERR" "badNonce" "the storm was real (debug log)"

mc_run -v issue hundred
assert_exit 0 "100 names with 50% of nonces rejected"
[ "$(cert_sans "$(cert_dir hundred)/current/cert.pem" | wc -l)" = 100 ] ||
	fail "the 100-name certificate does not carry 100 names"
rejected=$(grep -c 'badNonce, sending again' "$MC_ERR")
[ "$rejected" -ge 50 ] || fail "only $rejected badNonce answers in ~300 POSTs" "$MC_ERR"
log "100 names: $rejected badNonce answers, each sent again"
