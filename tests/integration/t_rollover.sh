#!/bin/bash
# t_rollover - `account rollover` and `account deactivate` against Pebble.
# rollover: a new ecdsa-p256 account.key (0600), the same account URL,
# issuing works with the new key, and the OLD key is refused by the CA.
# deactivate: refused without --yes (exit 2, saying what it would do);
# with --yes the account is deactivated at the CA and in account.json, and
# issuing then fails with the CA's error (exit 1).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
write_config mail "mail.example.test" "challenge = http-01"

# Failure rows before any account exists.
mc_run account rollover
assert_exit 2 "rollover without an account"
assert_contains "$MC_ERR" "account register"
mc_run account rollover --now
assert_exit 2 "rollover with an unknown argument"

mc_run account register
assert_exit 0 "register"
acct=$(account_dir)
acct_rel=${acct#"$MC_STATE"/}
assert_file "$acct/account.key"
url1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$acct/account.json")
key1=$(pubkey_of_key "$acct/account.key")
cp -p "$acct/account.key" "$TEST_TMP/old-account.key"

mc_run issue mail
assert_exit 0 "issue with the first key"

mc_run account rollover
assert_exit 0 "rollover"
assert_contains "$MC_OUT" "key rolled over"
assert_file_mode "$acct/account.key" 600
assert_eq "$(key_type_of "$acct/account.key")" ecdsa-p256 "type of the new key"
key2=$(pubkey_of_key "$acct/account.key")
assert_ne "$key2" "$key1" "account key after rollover"
assert_contains "$MC_OUT" "$(openssl pkey -in "$acct/account.key" -pubout -outform DER | sha256sum | cut -d' ' -f1)" \
	"the new key's SPKI SHA-256 is printed"
[ -z "$(find "$acct" -name '*.old' -o -name '.account.key.*')" ] ||
	fail "rollover left an old or temporary key file in $acct"
url2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$acct/account.json")
assert_eq "$url2" "$url1" "account URL after rollover"

mc_run account show
assert_exit 0 "account show with the new key"
assert_contains "$MC_OUT" "$url1"
mc_run issue mail
assert_exit 0 "issue with the new key"
assert_symlink "$(cert_dir mail)/current" versions/0002

# The old key, put back into a copy of the state dir, is refused by the CA
# (Pebble finds the account by kid and the signature does not verify).
main_state=$MC_STATE
cp -a "$MC_STATE" "$TEST_TMP/state-old"
MC_STATE=$TEST_TMP/state-old
cp -p "$TEST_TMP/old-account.key" "$MC_STATE/$acct_rel/account.key"
write_config mail "mail.example.test" "challenge = http-01"
mc_run account show
assert_exit 1 "account show with the old key"
assert_contains "$MC_ERR" "urn:ietf:params:acme:error:"
assert_contains_i "$MC_ERR" "unauthorized" "accountDoesNotExist" "JWS verification error"
mc_run account rollover
assert_exit 1 "rollover with the old key"
assert_eq "$(pubkey_of_key "$MC_STATE/$acct_rel/account.key")" "$key1" \
	"a failed rollover leaves account.key alone"

# Deactivation.
MC_STATE=$main_state
write_config mail "mail.example.test" "challenge = http-01"
mc_run account deactivate
assert_exit 2 "deactivate without --yes"
assert_contains "$MC_ERR" "permanently deactivate"
assert_contains "$MC_ERR" "--yes"
mc_run account deactivate --force
assert_exit 2 "deactivate with a wrong flag"
mc_run account show
assert_exit 0 "the account is untouched without --yes"
assert_contains "$MC_OUT" "valid"

mc_run account deactivate --yes
assert_exit 0 "deactivate --yes"
assert_contains "$MC_OUT" "deactivated"
python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["status"] != "deactivated")' \
	"$acct/account.json" || fail "account.json status is not deactivated" "$acct/account.json"

mc_run issue mail
assert_exit 2 "issue with a deactivated account (refused before any request)"
assert_contains "$MC_ERR" "is deactivated; run \`mailcert account register\`"
assert_symlink "$(cert_dir mail)/current" versions/0002
mc_run account deactivate --yes
assert_exit 2 "deactivate twice"
assert_contains_i "$MC_ERR" "deactivated"
