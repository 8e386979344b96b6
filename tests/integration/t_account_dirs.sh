#!/bin/bash
# t_account_dirs - one ACME account per directory URL (host + path):
#   1. Two directories on one host and port (the project's fake CA,
#      tests/integration/fakeca.py, serving /p/a/dir and /p/b/dir, since
#      Pebble serves one directory path only): two accounts, two keys, two
#      folders, one newAccount at each; both issue.
#   2. State of the old host-only layout (accounts/127.0.0.1_PORT/) is moved
#      to accounts/127.0.0.1_PORT/dir on first use against Pebble, and the
#      account goes on working (no new registration); an old folder whose
#      account.json names another directory is left alone.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# 1. Two directories on one host.
fakeca_start good
dir_a=$FAKECA_URL/p/a/dir
dir_b=$FAKECA_URL/p/b/dir
# acct_count NAME - newAccount requests the fake CA got under /p/NAME.
acct_count() {
	curl -sS --max-time 5 --cacert "$PEBBLE_CA" "$FAKECA_URL/p/$1/acct-count" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["accounts"])'
}
for which in a b; do
	url=$FAKECA_URL/p/$which/dir
	{
		conf_global "$url"
		conf_cert mail "mail.example.test"
	} >"$MC_CONF"
	mc_run account register
	assert_exit 0 "register at $url"
	assert_file_mode "$(account_dir "$url")/account.key" 600
	assert_contains "$(account_dir "$url")/account.json" "$FAKECA_URL/p/$which/acct/1"
	mc_run issue mail
	assert_exit 0 "issue through $url"
done
a=$(account_dir "$dir_a")
b=$(account_dir "$dir_b")
assert_eq "$a" "$MC_STATE/accounts/127.0.0.1_${FAKECA_URL##*:}/p/a/dir" "folder of /p/a/dir"
assert_ne "$(pubkey_of_key "$a/account.key")" "$(pubkey_of_key "$b/account.key")" "two account keys"
assert_eq "$(acct_count a) $(acct_count b)" "1 1" "one newAccount at each directory"
assert_eq "$(find "$MC_STATE/accounts" -name account.key | wc -l)" 2 "two account keys in the state"
bg_stop "$FAKECA_PID"

# 2. Migration of the host-only layout, against Pebble.
pebble_start
MC_STATE=$TEST_TMP/state-old
write_config mail "mail.example.test" "challenge = http-01"
mc_run account register
assert_exit 0 "register at Pebble"
new=$(account_dir)
old=${new%/dir}
key=$(pubkey_of_key "$new/account.key")
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$new/account.json")
mv "$new/account.key" "$new/account.json" "$old/" && rmdir "$new"
accounts=$(grep -c 'accounts in memory' "$TEST_TMP/pebble.log")
mc_run issue mail
assert_exit 0 "issue with the old layout"
assert_contains "$MC_ERR" "moved the account of $PEBBLE_DIR_URL from $old to $new"
assert_no_path "$old/account.key" "the old key is moved"
assert_file_mode "$new/account.key" 600
assert_eq "$(pubkey_of_key "$new/account.key")" "$key" "the same key"
assert_contains "$new/account.json" "$url"
assert_eq "$(grep -c 'accounts in memory' "$TEST_TMP/pebble.log")" "$accounts" "no new account at Pebble"
mc_run issue mail
assert_exit 0 "issue again"
assert_not_contains "$MC_ERR" "moved the account"

# An old folder that names another directory stays; this one registers anew.
MC_STATE=$TEST_TMP/state-other
write_config mail "mail.example.test" "challenge = http-01"
old=${old/state-old/state-other}
new=${new/state-old/state-other}
mkdir -p "$old"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$old/account.key" 2>/dev/null
printf '{"url": "https://127.0.0.1:1/my-account/x", "directory": "https://127.0.0.1:%s/other"}\n' \
	"$PEBBLE_PORT" >"$old/account.json"
mc_run issue mail
assert_exit 0 "issue beside another directory's old account"
assert_file "$old/account.key"
assert_not_contains "$MC_ERR" "moved the account"
assert_ne "$(pubkey_of_key "$new/account.key")" "$(pubkey_of_key "$old/account.key")" "a new key for this directory"
