#!/bin/bash
# t_account_recover - lost and deactivated accounts against Pebble (-strict):
#   1. Pebble restarted between two issues (a CA reset: every account gone):
#      the second issue answers accountDoesNotExist by registering the same
#      key again, once, logged, and succeeds by itself.
#   2. After another reset `account show` names `account register`, which
#      registers the same key again.
#   3. `account deactivate --yes`, then issue fails before any request
#      naming `account register` (exit 2); `account register` makes a new
#      account with a new key; issue works again.
#   4. An account deactivated behind mailcert's back (account.json still
#      says valid): issue gets the CA's unauthorized with the hint;
#      `account register` sees the CA refuse the old key and replaces it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
write_config mail "mail.example.test" "challenge = http-01"
acct=$(account_dir)

# acct_url - the account URL recorded in account.json.
acct_url() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$acct/account.json"
}

# acct_status - the status recorded in account.json.
acct_status() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$acct/account.json"
}

mc_run issue mail
assert_exit 0 "first issue"
key1=$(pubkey_of_key "$acct/account.key")
url1=$(acct_url)

# 1. A CA reset between two runs.
pebble_restart
pebble_fetch_roots
mc_run issue mail
assert_exit 0 "issue after the CA lost the account"
assert_contains "$MC_ERR" "the CA no longer knows account $url1 (accountDoesNotExist); registering the same key again"
assert_contains "$MC_ERR" "with the same key (was $url1)"
assert_eq "$(grep -c 'registering the same key again' "$MC_ERR")" 1 "re-registered once"
assert_issued mail mail.example.test
assert_eq "$(version_count mail)" 2 "two versions"
assert_eq "$(pubkey_of_key "$acct/account.key")" "$key1" "the account key is kept"
url2=$(acct_url)
mc_run account show
assert_exit 0 "account show after the re-registration"
assert_contains "$MC_OUT" "$url2"
assert_contains "$MC_OUT" "valid"

# 2. Another reset: show says what to do, register registers the key again.
pebble_restart
mc_run account show
assert_exit 1 "account show of a forgotten account"
assert_contains "$MC_ERR" "urn:ietf:params:acme:error:accountDoesNotExist"
assert_contains "$MC_ERR" "run \`mailcert account register\` to register the key again"
mc_run account register
assert_exit 0 "account register after the reset"
assert_contains "$MC_ERR" "the CA no longer knew account $url2"
assert_eq "$(pubkey_of_key "$acct/account.key")" "$key1" "register keeps the key of a forgotten account"
assert_eq "$(acct_status)" valid "status after register"

# 3. Deactivated with mailcert.
mc_run account deactivate --yes
assert_exit 0 "deactivate"
assert_eq "$(acct_status)" deactivated "status after deactivate"
posts=$(grep -c 'POST ' "$TEST_TMP/pebble.log")
mc_run issue mail
assert_exit 2 "issue with a deactivated account"
assert_contains "$MC_ERR" "is deactivated; run \`mailcert account register\` to register a new one"
assert_eq "$(grep -c 'POST ' "$TEST_TMP/pebble.log")" "$posts" "no POST reached the CA"
mc_run account register
assert_exit 0 "account register replaces the deactivated account"
assert_contains "$MC_ERR" "is deactivated; registering a new account with a new key"
assert_ne "$(pubkey_of_key "$acct/account.key")" "$key1" "a new account key"
assert_file_mode "$acct/account.key" 600
assert_eq "$(acct_status)" valid "status of the new account"
key2=$(pubkey_of_key "$acct/account.key")
mc_run issue mail
assert_exit 0 "issue with the new account"

# 4. Deactivated elsewhere: account.json still says valid.
cp -p "$acct/account.json" "$TEST_TMP/account.json.valid"
mc_run account deactivate --yes
assert_exit 0 "deactivate again"
cp -p "$TEST_TMP/account.json.valid" "$acct/account.json"
mc_run issue mail
assert_exit 1 "issue with an account the CA deactivated"
assert_contains "$MC_ERR" "urn:ietf:params:acme:error:unauthorized"
assert_contains "$MC_ERR" "the account is deactivated: run \`mailcert account register\` to register a new one"
mc_run account register
assert_exit 0 "account register replaces the refused account"
assert_contains "$MC_ERR" "is refused by the CA; registering a new account with a new key"
assert_ne "$(pubkey_of_key "$acct/account.key")" "$key2" "another new account key"
mc_run issue mail
assert_exit 0 "issue after the second replacement"
assert_eq "$(version_count mail)" 4 "four versions in all"
