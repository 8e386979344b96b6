#!/bin/bash
# t_profile - ACME profiles (draft-ietf-acme-profiles, `[cert] profile`):
# sent in newOrder when the directory's meta.profiles lists it; a profile the
# CA does not offer is a configuration error (exit 2) naming the profiles it
# does offer, before any order. Against the project's fake CA
# (tests/integration/fakeca.py, modes "profiles" and "good"): Pebble 2.4 has
# no profiles.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

fakeca_start profiles

# order_log - the "profile" of every newOrder the fake CA got, as JSON.
order_log() {
	curl -sS --max-time 5 --cacert "$PEBBLE_CA" "$FAKECA_URL/order-log" |
		python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["replaces"]))'
}

# label | profile line | exit | order log after | stderr fragment
ROWS=(
	"offered profile is sent|profile = tlsserver|0|[\"tlsserver\"]|"
	"no profile: none sent|profile =|0|[\"tlsserver\", null]|"
	"profile not offered|profile = shortlived|2|[\"tlsserver\", null]|profile \"shortlived\" is not offered by the CA at $FAKECA_DIR_URL; it offers: classic, tlsserver"
)
for row in "${ROWS[@]}"; do
	IFS='|' read -r label line want log_after frag <<<"$row"
	{
		conf_global "$FAKECA_DIR_URL"
		conf_cert mail "mail.example.test" "$line"
	} >"$MC_CONF"
	mc_run issue mail
	assert_exit "$want" "$label"
	assert_eq "$(order_log)" "$log_after" "$label: newOrder requests"
	[ -z "$frag" ] || assert_contains "$MC_ERR" "$frag" "$label"
done
assert_contains "$MC_ERR" "issue mail: " "the error names the cert"
assert_issued mail mail.example.test
assert_eq "$(version_count mail)" 2 "two issued versions"

# A CA without profiles: asking for one is an error before any order.
bg_stop "$FAKECA_PID"
fakeca_start good
{
	conf_global "$FAKECA_DIR_URL"
	conf_cert mail "mail.example.test" "profile = classic"
} >"$MC_CONF"
mc_run issue mail
assert_exit 2 "profile at a CA without profiles"
assert_contains "$MC_ERR" "profile \"classic\": the CA at $FAKECA_DIR_URL offers no ACME profiles"
assert_eq "$(order_log)" "[]" "no newOrder at the CA without profiles"
