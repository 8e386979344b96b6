#!/bin/bash
# t_revoke - `mailcert revoke NAME [--reason R]` against Pebble: the current
# certificate is revoked at the CA (Pebble's management API says so, with
# the reason code), meta.json records "revoked"; a second revoke gets the
# CA's alreadyRevoked as a clear error (exit 1); usage errors exit 2.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
write_config mail "mail.example.test smtp.example.test" "challenge = http-01"
d=$(cert_dir mail)


# Usage rows first (no CA contact): exit 2 and a sentence naming the problem.
# label | args | stderr fragment
USAGE=(
	"unknown reason|revoke mail --reason lostIt|unknown reason \"lostIt\""
	"reason without value|revoke mail --reason|--reason needs a value"
	"no name|revoke|name one cert"
	"two names|revoke mail other|unexpected \"other\""
	"unknown cert|revoke nosuch|no [cert nosuch]"
)
for c in "${USAGE[@]}"; do
	IFS='|' read -r label args frag <<<"$c"
	# shellcheck disable=SC2086
	mc_run $args
	assert_exit 2 "$label"
	assert_contains "$MC_ERR" "$frag" "$label"
done

mc_run revoke mail
assert_exit 2 "revoke before any certificate exists"
assert_contains "$MC_ERR" "has no certificate to revoke"

mc_run issue mail
assert_exit 0 "issue"
serial=$(openssl x509 -in "$d/current/cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
assert_eq "$(pebble_cert_status "$serial")" "Valid -" "Pebble's status before revoking"

mc_run revoke mail --reason keyCompromise
assert_exit 0 "revoke"
assert_contains "$MC_OUT" "mail: version 0001"
assert_contains "$MC_OUT" "revoked at the CA, reason keyCompromise"
[ "$(wc -l <"$MC_OUT")" = 1 ] || fail "revoke must print one line" "$MC_OUT"
assert_eq "$(pebble_cert_status "$serial")" "Revoked 1" "Pebble's status after revoking (reason 1)"
python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["status"] != "revoked")' \
	"$d/current/meta.json" || fail "meta.json status is not \"revoked\"" "$d/current/meta.json"

mc_run revoke mail
assert_exit 1 "second revoke"
assert_contains "$MC_ERR" "urn:ietf:params:acme:error:alreadyRevoked"
assert_contains "$MC_ERR" "revoke mail version 0001"

# A new certificate, revoked with the default reason (unspecified = 0) and
# --json output.
mc_run issue mail
assert_exit 0 "issue again"
serial2=$(openssl x509 -in "$d/current/cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
mc_run --json revoke mail
assert_exit 0 "revoke --json"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(not (o["version"] == 2 and o["reason"] == "unspecified" and o["status"] == "revoked"))' \
	"$MC_OUT" || fail "revoke --json output" "$MC_OUT"
assert_eq "$(pebble_cert_status "$serial2")" "Revoked 0" "Pebble's status of version 0002"
assert_eq "$(pebble_cert_status "$serial")" "Revoked 1" "version 0001 stays revoked"
