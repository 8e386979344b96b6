#!/bin/bash
# t_account - `account register` creates the account key (0600) and
# account.json under accounts/<directory host>_<port>/<path> (one account
# per directory URL); `account show` prints the account URL and status; an
# unreachable CA fails with exit 1.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
write_config mail "mail.example.test"

mc_run account register
assert_exit 0 "account register"
# shellcheck disable=SC2206
dirs=($MC_STATE/accounts/127.0.0.1*)
if [ "${#dirs[@]}" != 1 ] || [ ! -d "${dirs[0]}" ]; then
	fail "expected one accounts/127.0.0.1* directory, found: ${dirs[*]}"
fi
acct=$(account_dir)
assert_eq "$acct" "${dirs[0]}/dir" "the account folder is host_port/path"
assert_file_mode "$acct/account.key" 600
python3 -m json.tool "$acct/account.json" >/dev/null || fail "account.json is not JSON" "$acct/account.json"
assert_contains "$acct/account.json" "https://127.0.0.1:$PEBBLE_PORT/my-account/"
key1=$(pubkey_of_key "$acct/account.key")

mc_run account show
assert_exit 0 "account show"
assert_contains "$MC_OUT" "https://127.0.0.1:$PEBBLE_PORT/my-account/" "account URL"
assert_contains "$MC_OUT" "valid" "account status"

mc_run account register
assert_exit 0 "account register again"
assert_eq "$(pubkey_of_key "$acct/account.key")" "$key1" "the account key is kept"

# Failure rows: an unknown subcommand; the CA is unreachable.
mc_run account nonsense
assert_exit 2 "unknown account subcommand"

dead=""
free_port dead
MC_STATE=$TEST_TMP/state2
{
	conf_global "https://127.0.0.1:$dead/dir"
	conf_cert mail "mail.example.test"
} >"$MC_CONF"
mc_run account register
assert_exit 1 "account register with the CA unreachable"
assert_no_path "$MC_STATE/accounts/127.0.0.1/account.json"
