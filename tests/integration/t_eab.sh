#!/bin/bash
# t_eab - External Account Binding: Pebble requires it and says so in its
# directory (meta.externalAccountRequired). Without eab_kid/eab_hmac_key
# mailcert names both keys and the config file before any account request
# (exit 2; Pebble's log shows no newNonce or newAccount); with a wrong kid
# or a wrong HMAC key it fails with the CA's reason (exit 1); with the right
# pair the account is created and a certificate issued.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
KID=kid-mailcert-test
HMAC=$(head -c 32 /dev/urandom | b64url)
WRONG=$(head -c 32 /dev/urandom | b64url)
pebble_start --eab "$KID:$HMAC"
pebble_fetch_roots

# label | global lines | expected exit | stderr fragment (case-insensitive, any of ;-separated)
CASES=(
	"no EAB configured||2|requires External Account Binding (its directory says externalAccountRequired): set eab_kid and eab_hmac_key"
	"unknown kid|eab_kid = no-such-kid;eab_hmac_key = $HMAC|1|unauthorized;no-such-kid;external account"
	"wrong HMAC key|eab_kid = $KID;eab_hmac_key = $WRONG|1|unauthorized;signature;external account"
	"right kid and key|eab_kid = $KID;eab_hmac_key = $HMAC|0|"
)
for c in "${CASES[@]}"; do
	IFS='|' read -r label lines want frag <<<"$c"
	IFS=';' read -r -a extra <<<"$lines"
	{
		conf_global "$PEBBLE_DIR_URL" "${extra[@]}"
		conf_cert mail "mail.example.test"
	} >"$MC_CONF"
	posts=$(grep -cE 'POST /sign-me-up|HEAD /nonce-plz' "$TEST_TMP/pebble.log")
	mc_run issue mail
	assert_exit "$want" "$label"
	if [ "$want" = 2 ]; then
		assert_contains "$MC_ERR" "$MC_CONF" "$label: names the config file"
		assert_eq "$(grep -cE 'POST /sign-me-up|HEAD /nonce-plz' "$TEST_TMP/pebble.log")" \
			"$posts" "$label: no nonce or newAccount request reached Pebble"
	fi
	if [ "$want" != 0 ]; then
		IFS=';' read -r -a frags <<<"$frag"
		assert_contains_i "$MC_ERR" "${frags[@]}"
		assert_no_path "$(cert_dir mail)/current" "$label: nothing stored"
		assert_not_contains "$MC_ERR" "$HMAC" "$label: the HMAC key never appears in messages"
	fi
done
assert_issued mail mail.example.test
assert_not_contains "$MC_ERR" "$HMAC" "the HMAC key never appears in logs"
