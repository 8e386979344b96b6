#!/bin/bash
# t_authz_forget - the harness's cure for Pebble's authorization reuse,
# against the real Pebble with PEBBLE_AUTHZREUSE=100 (whatever the
# environment says):
#   1. the premise: a second order of the same names on the same account
#      is handed the first order's valid authorizations, no challenge asked
#      (PEBBLE_AUTHZREUSE=0 does the same about 1 order in 100);
#   2. after authz_forget (deactivation through the ACME API,
#      acme_authz.py) the next order is asked every challenge again;
#   3. an order that became invalid (one name validated, the other failed)
#      is missing from Pebble's orders list, yet its valid authorization
#      would be reused: authz_forget finds it through Pebble's log.
# Counted on the CA's side: the validations Pebble's VA starts.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PEBBLE_AUTHZREUSE=100 pebble_start
NAMES="mail.example.test smtp.example.test"
write_config mail "$NAMES"

# validations - how many challenges Pebble's VA has taken up so far.
validations() {
	grep -c 'Pulled a task from the Tasks queue' "$TEST_TMP/pebble.log"
}

# issue_asks LABEL N - `issue mail` succeeds and Pebble validates N challenges.
issue_asks() {
	local before
	before=$(validations)
	mc_run issue mail
	assert_exit 0 "$1"
	assert_eq "$(($(validations) - before))" "$2" "$1: challenges Pebble validated"
}

# 1. + 2.
issue_asks "first order" 2
issue_asks "second order, Pebble reusing the first's authorizations" 0
authz_forget
assert_contains "$TEST_TMP/authz_forget.log" "deactivated 2 valid authorization(s)"
issue_asks "an order after authz_forget" 2
log "ok: reuse without authz_forget, every challenge asked after it"

# 3. smtp's dns-01 record is never published: its authorization fails,
# the order is invalid, mail's authorization in it is valid.
authz_forget
dns_hook_script "$TEST_TMP/dns-real" "$TEST_TMP/dns.log"
# shellcheck disable=SC2016
printf '#!/bin/sh\ncase "$2" in *smtp*) exit 0 ;; esac\nexec %s "$@"\n' \
	"$TEST_TMP/dns-real" >"$TEST_TMP/half-hook"
chmod 755 "$TEST_TMP/half-hook"
write_config mail "$NAMES" "challenge = dns-01" "dns_hook = $TEST_TMP/half-hook"
before=$(validations)
mc_run issue mail
assert_exit 1 "an order with one name unpublished"
assert_contains "$MC_ERR" "smtp.example.test"
assert_eq "$(($(validations) - before))" 2 "challenges of the half-published order"
authz_forget
assert_contains "$TEST_TMP/authz_forget.log" "deactivated 1 valid authorization(s)"
write_config mail "$NAMES"
issue_asks "an order after the invalid one and authz_forget" 2
log "ok: the valid authorization of an invalid order is deactivated too"
