#!/bin/bash
# t_renew_index - issue 14: a `renew` with nothing due reads one index
# (state_dir/renew-index) instead of every meta.json. The index is a cache:
# the first no-op run writes it, every store change (issue, a meta.json
# rewrite, a switch of current) removes it first, and a missing, damaged or
# foreign index is never trusted: renew reads meta.json and writes a new
# one. Decisions are the same with and without it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
IX=$MC_STATE/renew-index
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert a "a.example.test"
	conf_cert b "b.example.test b2.example.test"
	conf_cert c "c.example.test"
} >"$MC_CONF"
mc_run issue a
assert_exit 0 "issue a"
mc_run issue b
assert_exit 0 "issue b"
assert_no_path "$IX" "no index before any renew"

# 1. A no-op renew writes the index (c has no certificate yet: it is due
#    and fails against a dead CA, so leave it out of this run's config).
free_port dead
conf_ab() {
	{
		conf_global "https://127.0.0.1:$dead/dir"
		conf_cert a "a.example.test"
		conf_cert b "b.example.test b2.example.test"
	} >"$MC_CONF"
}
conf_ab
mc_run renew
assert_exit 0 "renew, nothing due"
assert_contains "$MC_OUT" "nothing due among 2 certificate"
assert_file "$IX"
assert_file_mode "$IX" 600
[ "$(head -1 "$IX")" = "mailcert-renew-index 1" ] || fail "index header" "$IX"
grep -q '^a 1 ecdsa-p256 [0-9]* [0-9]* 0 [0-9]* [a-z]* [^ ]* a.example.test$' "$IX" ||
	fail "index entry of a" "$IX"
grep -q ' b.example.test b2.example.test$' "$IX" || fail "index entry of b" "$IX"
cp "$IX" "$TEST_TMP/index.1"

# 2. The second no-op run uses it and leaves it alone.
mc_run renew
assert_exit 0 "renew with the index"
assert_contains "$MC_OUT" "nothing due among 2 certificate"
cmp -s "$IX" "$TEST_TMP/index.1" || fail "a no-op run rewrote the index"

# 3. A store change removes it; the next no-op run writes it anew with
#    the new version.
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert a "a.example.test"
	conf_cert b "b.example.test b2.example.test"
} >"$MC_CONF"
mc_run issue a
assert_exit 0 "issue a again"
assert_no_path "$IX" "issue removes the index"
conf_ab
mc_run renew
assert_exit 0 "renew after issue"
grep -q '^a 2 ' "$IX" || fail "the index has a's new version 2" "$IX"

# 4. Damaged or foreign indexes are not trusted: decisions from meta.json,
#    then a good index again.
for bad in 'garbage' 'mailcert-renew-index 9' \
	"$(printf 'mailcert-renew-index 1\nb 1 ecdsa-p256 1 2 0 0 - - x\na 1 ecdsa-p256 1 2')"; do
	printf '%s\n' "$bad" >"$IX"
	mc_run renew
	assert_exit 0 "renew with a bad index"
	assert_contains "$MC_OUT" "nothing due among 2 certificate"
	grep -q '^a 2 ' "$IX" || fail "renew did not rewrite a bad index" "$IX"
done

# 5. The index never hides what the config changed: names of b changed ->
#    due (and it fails against the dead CA, exit 1), index entry kept old.
{
	conf_global "https://127.0.0.1:$dead/dir"
	conf_cert a "a.example.test"
	conf_cert b "b.example.test"
} >"$MC_CONF"
mc_run renew
assert_exit 1 "b is due after its names changed (dead CA)"
assert_contains "$MC_ERR" "names changed"
