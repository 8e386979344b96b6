#!/bin/bash
# t_issue_dns01 - dns-01 through dns_hook, which publishes TXT records in
# pebble-challtestsrv; a failing or lying hook fails the run with exit 1.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
pebble_fetch_roots
hooklog=$TEST_TMP/hook.log
dns_hook_script "$TEST_TMP/dns-hook" "$hooklog"
printf '#!/bin/sh\necho "hook: no DNS today" >&2\nexit 3\n' >"$TEST_TMP/failing-hook"
printf '#!/bin/sh\nexit 0\n' >"$TEST_TMP/lying-hook"
chmod 755 "$TEST_TMP/failing-hook" "$TEST_TMP/lying-hook"

NAMES="mail.example.test imap.example.test"
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert dns "$NAMES" "challenge = dns-01" "dns_hook = $TEST_TMP/dns-hook"
	conf_cert wild "*.example.test example.test" "challenge = dns-01" "dns_hook = $TEST_TMP/dns-hook" \
		"dns_wait = 2s"
	conf_cert failing "mail.example.test" "challenge = dns-01" "dns_hook = $TEST_TMP/failing-hook"
	conf_cert lying "mail.example.test" "challenge = dns-01" "dns_hook = $TEST_TMP/lying-hook"
} >"$MC_CONF"

mc_run issue dns
assert_exit 0 "dns-01 issuance"
# shellcheck disable=SC2086
assert_issued dns $NAMES
for n in $NAMES; do
	assert_contains "$hooklog" "add _acme-challenge.$n"
	assert_contains "$hooklog" "del _acme-challenge.$n"
done

start=$(date +%s%N)
mc_run issue wild
assert_exit 0 "wildcard issuance by dns-01"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -ge 2000 ] || fail "dns_wait = 2s did not wait (took $ms ms)"
assert_issued wild '*.example.test' example.test

# Failure rows: nothing stored, exit 1, a message that names the cause.
# mail.example.test was validated for "dns" above: without authz_forget
# Pebble may hand its valid authorization back (no hook run). Neither row
# validates anything, so one call covers both.
authz_forget
mc_run issue failing
assert_exit 1 "dns_hook exits 3"
assert_contains "$MC_ERR" "failing-hook" "the error names the hook"
assert_no_path "$(cert_dir failing)/current"

mc_run issue lying
assert_exit 1 "dns_hook does not publish the record"
assert_contains "$MC_ERR" "mail.example.test" "the error names the identifier"
assert_contains "$MC_ERR" "dns-01" "the error names the challenge type"
assert_no_path "$(cert_dir lying)/current"

# A CA that puts an identifier into the order's authorizations that was not
# ordered: the run fails naming it, and the dns hook is never called for it
# (nor for anything else of that order). fakeca.py stands in: no real CA
# does this on demand.
fakeca_start extra-authz
: >"$hooklog"
{
	conf_global "$FAKECA_DIR_URL"
	conf_cert scoped "$NAMES" "challenge = dns-01" "dns_hook = $TEST_TMP/dns-hook"
} >"$MC_CONF"
mc_run issue scoped
assert_exit 1 "an authorization for an unordered identifier"
assert_contains "$MC_ERR" "unordered.example.org, which this order did not ask for"
assert_not_contains "$hooklog" "unordered" "the hook was called for an unordered name"
assert_no_path "$(cert_dir scoped)/current"
