#!/bin/bash
# t_key_types - every key_type yields a private key of that type whose
# public key is the certificate's; unsupported key types are config errors.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
pebble_fetch_roots
TYPES="rsa-2048 rsa-3072 rsa-4096 ecdsa-p256 ecdsa-p384"
{
	conf_global "$PEBBLE_DIR_URL"
	for t in $TYPES; do
		conf_cert "k-$t" "$t.example.test" "challenge = http-01"
	done
} | sed 's/^key_type = ecdsa-p256$/key_type = @TYPE@/' >"$TEST_TMP/conf.in"
# give each [cert k-TYPE] section its own key_type
awk '/^\[cert k-/{t=substr($2, 3); sub(/\]$/, "", t)} {gsub(/@TYPE@/, t); print}' \
	"$TEST_TMP/conf.in" >"$MC_CONF"

for t in $TYPES; do
	mc_run issue "k-$t"
	assert_exit 0 "issue with key_type $t"
	assert_issued "k-$t" "$t.example.test"
	assert_eq "$(key_type_of "$(cert_dir "k-$t")/current/privkey.pem")" "$t" "key type of k-$t"
done

# Failure rows: key types mailcert does not offer are configuration errors.
for bad in rsa-1024 ed25519 ecdsa-p521 RSA2048 ecdsa; do
	write_config bad "bad.example.test" "key_type = $bad"
	sed -i '0,/^key_type = ecdsa-p256$/{/^key_type = ecdsa-p256$/d}' "$MC_CONF"
	line=$(grep -n "^key_type = $bad\$" "$MC_CONF" | cut -d: -f1)
	mc_run issue bad
	assert_exit 2 "key_type = '$bad'"
	assert_contains "$MC_ERR" "$MC_CONF:$line" "the error names file and line"
	assert_contains "$MC_ERR" "key_type" "the error names the key"
	assert_no_path "$(cert_dir bad)"
done
