#!/bin/bash
# t_revoke_certkey - revocation without the account, against Pebble
# (-strict), checked through Pebble's management API:
#   - `revoke NAME --with-cert-key --all-versions --reason keyCompromise`
#     from a state dir whose account key is gone: every stored version with
#     the current key (reuse_key) is revoked, signed with that key (jwk),
#     the others stay valid; meta.json records status, reason and time; no
#     account is created.
#   - `revoke NAME` with the account gone fails naming --with-cert-key.
#   - `revoke --cert FILE --key FILE --directory URL --ca-bundle FILE` with
#     no configuration at all; a key that is not the certificate's is
#     refused before anything is sent.
#   - usage errors of the new options exit 2.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
d=$(cert_dir mail)


# serial_of N - the serial of stored version N, lower-case hex.
serial_of() {
	openssl x509 -in "$d/versions/$(printf %04d "$1")/cert.pem" -noout -serial |
		cut -d= -f2 | tr 'A-F' 'a-f'
}

# meta_of N FIELD - a field of version N's meta.json ("-" if absent).
meta_of() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], "-"))' \
		"$d/versions/$(printf %04d "$1")/meta.json" "$2"
}

# Versions 1 and 2 share key A, 3 and 4 key B (reuse_key off for 3).
for row in "yes" "yes" "no" "yes"; do
	write_config mail "mail.example.test" "challenge = http-01" "reuse_key = $row"
	mc_run issue mail
	assert_exit 0 "issue with reuse_key = $row"
done
assert_eq "$(version_count mail)" 4 "four versions"
assert_eq "$(pubkey_of_cert "$d/versions/0001/cert.pem")" "$(pubkey_of_cert "$d/versions/0002/cert.pem")" "versions 1 and 2 share a key"
assert_eq "$(pubkey_of_cert "$d/versions/0003/cert.pem")" "$(pubkey_of_cert "$d/versions/0004/cert.pem")" "versions 3 and 4 share a key"
assert_ne "$(pubkey_of_cert "$d/versions/0002/cert.pem")" "$(pubkey_of_cert "$d/versions/0003/cert.pem")" "a new key at version 3"

# The account key is lost.
rm -rf "$MC_STATE/accounts"

# Usage rows: label | args | stderr fragment (exit 2, nothing sent).
USAGE=(
	"--cert without --key|revoke --cert $d/current/cert.pem|--cert and --key go together"
	"--cert with NAME|revoke mail --cert $d/current/cert.pem --key $d/current/privkey.pem|leave out NAME"
	"--cert with --all-versions|revoke --all-versions --cert $d/current/cert.pem --key $d/current/privkey.pem|leave out NAME, --all-versions"
	"--directory with NAME|revoke mail --directory $PEBBLE_DIR_URL|--directory and --ca-bundle go with --cert"
	"--key without value|revoke --cert x --key|--key needs a value"
	"nothing to revoke|revoke --reason keyCompromise|name one cert, or give --cert FILE --key FILE"
)
for c in "${USAGE[@]}"; do
	IFS='|' read -r label args frag <<<"$c"
	# shellcheck disable=SC2086
	mc_run $args
	assert_exit 2 "$label"
	assert_contains "$MC_ERR" "$frag" "$label"
done

mc_run revoke mail
assert_exit 2 "revoke with the account key gone"
assert_contains "$MC_ERR" "run \`mailcert account register\`"
assert_contains "$MC_ERR" "\`mailcert revoke mail --with-cert-key\` signs with the certificate's key instead"

mc_run revoke mail --with-cert-key --all-versions --reason keyCompromise
assert_exit 0 "revoke --with-cert-key --all-versions"
assert_eq "$(wc -l <"$MC_OUT")" 2 "one line per revoked version"
assert_contains "$MC_OUT" "mail: version 0003 (serial $(serial_of 3)) revoked at the CA, reason keyCompromise"
assert_contains "$MC_OUT" "mail: version 0004 (serial $(serial_of 4)) revoked at the CA, reason keyCompromise"
for v in 3 4; do
	assert_eq "$(pebble_cert_status "$(serial_of $v)")" "Revoked 1" "Pebble's status of version $v"
	assert_eq "$(meta_of $v status) $(meta_of $v revocation_reason)" "revoked keyCompromise" "meta.json of version $v"
	[ "$(meta_of $v revoked_at)" -gt 0 ] || fail "meta.json of version $v has no revoked_at"
done
for v in 1 2; do
	assert_eq "$(pebble_cert_status "$(serial_of $v)")" "Valid -" "version $v (another key) stays valid"
	assert_ne "$(meta_of $v status)" "revoked" "meta.json of version $v"
done
assert_no_path "$MC_STATE/accounts" "no account was created"

# Again: both are already revoked (meta.json), nothing is sent, exit 0.
mc_run --json revoke mail --with-cert-key --all-versions
assert_exit 0 "revoke --all-versions twice"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(not ([v["status"] for v in o["versions"]] == ["already revoked"] * 2 and o["name"] == "mail"))' \
	"$MC_OUT" || fail "revoke --json --all-versions output" "$MC_OUT"

# --cert/--key with no configuration at all (no -c, no $MAILCERT_CONFIG;
# HOME elsewhere so nothing else is read).
nocfg() {
	MC_OUT=$TEST_TMP/nocfg.out MC_ERR=$TEST_TMP/nocfg.err
	(cd "$TEST_TMP" && env -u MAILCERT_CONFIG HOME="$TEST_TMP" \
		timeout -k 5 60 "$MAILCERT" "$@" >"$MC_OUT" 2>"$MC_ERR" </dev/null)
	MC_RC=$? MC_CMD="mailcert $*"
}
nocfg revoke --cert "$d/versions/0001/cert.pem" --key "$d/versions/0003/privkey.pem" \
	--directory "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA"
assert_exit 1 "--cert with another certificate's key"
assert_contains "$MC_ERR" "the private key does not belong to the certificate"
assert_eq "$(pebble_cert_status "$(serial_of 1)")" "Valid -" "nothing revoked by a wrong key"
nocfg revoke --cert "$d/versions/0001/fullchain.pem" --key "$d/versions/0001/privkey.pem" \
	--directory "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA" --reason superseded
assert_exit 0 "revoke --cert --key without a configuration"
assert_contains "$MC_OUT" "(serial $(serial_of 1)) revoked at $PEBBLE_DIR_URL, reason superseded"
assert_eq "$(pebble_cert_status "$(serial_of 1)")" "Revoked 4" "Pebble's status of version 1"
assert_eq "$(pebble_cert_status "$(serial_of 2)")" "Valid -" "version 2 untouched"
assert_no_path "$MC_STATE/accounts" "still no account"
