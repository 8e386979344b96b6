#!/bin/bash
# t_issue_idn - international names: U-labels in `names` go to Pebble
# (-strict) and into the certificate as A-labels (libidn2), shown both ways
# in the log and in `status`. http-01 works for any name because
# pebble-challtestsrv answers every A query with 127.0.0.1 (lib.sh); the
# wildcard goes through dns-01 with the challtestsrv hook. A name that is no
# valid IDN is a configuration error naming file, line and name (exit 2).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
pebble_fetch_roots
hooklog=$TEST_TMP/hook.log
dns_hook_script "$TEST_TMP/dns-hook" "$hooklog"

U=bücher.example
A=xn--bcher-kva.example
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert mail "$U mail.example.test" "challenge = http-01"
	conf_cert wild "*.$U $U" "challenge = dns-01" "dns_hook = $TEST_TMP/dns-hook"
} >"$MC_CONF"

mc_run issue mail
assert_exit 0 "http-01 for a U-label name"
assert_issued mail "$A" mail.example.test
assert_contains "$MC_ERR" "mail: $A ($U)" "the log shows the name both ways"
python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["names"] != [sys.argv[2], "mail.example.test"])' \
	"$(cert_dir mail)/current/meta.json" "$A" || fail "meta.json names" "$(cert_dir mail)/current/meta.json"

mc_run issue wild
assert_exit 0 "dns-01 for a U-label wildcard"
assert_issued wild "*.$A" "$A"
assert_contains "$hooklog" "add _acme-challenge.$A"

mc_run status
assert_exit 0 "status"
assert_contains "$MC_OUT" "$A ($U) mail.example.test"
assert_contains "$MC_OUT" "*.$A (*.$U) $A ($U)"

# label | names | stderr fragment
BAD=(
	"disallowed character|☃.example|names: \"☃.example\": not a valid international name (string contains a disallowed character)"
	"same name twice|$A $U|names: \"$A\" is listed twice"
)
for row in "${BAD[@]}"; do
	IFS='|' read -r label names frag <<<"$row"
	write_config mail "$names"
	mc_run issue mail
	assert_exit 2 "$label"
	assert_contains "$MC_ERR" "mailcert.conf:" "$label: file and line"
	assert_contains "$MC_ERR" "$frag" "$label"
done
