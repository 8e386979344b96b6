#!/bin/bash
# t_dns_wait - issue 16: dns_wait is not spent out of the order's deadline.
# order_timeout = 10s with dns_wait = 12s: the whole wait lies beyond the
# order's own budget, which starts again after it; the order succeeds
# (before the fix the polls found the deadline already gone). Out-of-range
# dns_wait / order_timeout are config errors naming file, line and key.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
pebble_fetch_roots
cat >"$TEST_TMP/dns-hook" <<HOOK
#!/bin/sh
exec "$MC_TESTS_DIR/integration/hooks/challtestsrv-dns.sh" --mgmt "$CHALLTESTSRV_MGMT" --log "$TEST_TMP/hook.log" "\$@"
HOOK
chmod 755 "$TEST_TMP/dns-hook"

{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert slowdns "mail.example.test" "challenge = dns-01" \
		"dns_hook = $TEST_TMP/dns-hook" "dns_wait = 12s" "order_timeout = 10s"
} >"$MC_CONF"
start=$(date +%s%N)
mc_run -v issue slowdns
assert_exit 0 "dns_wait (12s) longer than order_timeout (10s)"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -ge 12000 ] || fail "dns_wait = 12s did not wait (took $ms ms)"
assert_issued slowdns mail.example.test
assert_contains "$MC_ERR" "waiting 12 s for the TXT records"

# Bounds: each a config error (exit 2) naming the file, the line and the key.
bad_row() {
	local key=$1 value=$2 frag=$3
	{
		conf_global "$PEBBLE_DIR_URL"
		conf_cert bad "mail.example.test" "challenge = dns-01" \
			"dns_hook = $TEST_TMP/dns-hook" "$key = $value"
	} >"$MC_CONF"
	mc_run issue bad
	assert_exit 2 "$key = $value"
	assert_contains "$MC_ERR" "$MC_CONF:"
	assert_contains "$MC_ERR" "$key: $frag"
}
bad_row order_timeout 5s "must be between 10s and 24h"
bad_row order_timeout 2d "must be between 10s and 24h"
bad_row dns_wait 2h "longer than 1h"
bad_row order_timeout soon "\"soon\" is not a duration"
