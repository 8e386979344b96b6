#!/bin/bash
# t_renew_index - issue 14: a `renew` with nothing due reads one index
# (state_dir/renew-index) and stats each meta.json instead of reading and
# parsing every one. The index is a cache: an entry is used only while the
# meta.json it came from is unchanged (inode, size, mtime), so a new
# version, a rollback or a meta.json edited by hand is read again; a
# missing, damaged or foreign index is never trusted. A meta.json changed
# in the last 2 s is not indexed yet (same-tick edits), hence age_metas.
# An entry also records the mtimes of certs/NAME and its versions/ and
# whether there was no journal and no version above current: while all
# match, renew skips convergence and the look for an unfinished version
# of a cert without targets; a journal, a stored version or a `current`
# switched by hand since is still found (9).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
IX=$MC_STATE/renew-index
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert a "a.example.test"
	conf_cert b "b.example.test b2.example.test"
} >"$MC_CONF"
mc_run issue a
assert_exit 0 "issue a"
mc_run issue b
assert_exit 0 "issue b"
assert_no_path "$IX" "no index before any renew"

# age_metas - every meta.json and directory of the certs one minute older.
age_metas() {
	find "$MC_STATE/certs" \( -name meta.json -o -type d \) \
		-exec touch -d '-1 min' {} +
}

# conf_certs - the certs (b's names: $1, default both), the CA's directory
# unchanged (another directory makes every cert due).
conf_certs() {
	{
		conf_global "$PEBBLE_DIR_URL"
		conf_cert a "a.example.test"
		conf_cert b "${1:-b.example.test b2.example.test}"
	} >"$MC_CONF"
}

# ca_down / ca_up - stop Pebble (any request fails: a no-op renew must make
# none), start it again on the same ports (it has lost the account, which
# mailcert registers again by itself).
ca_down() {
	pebble_stop
	mv "$TEST_TMP/pebble.log" "$TEST_TMP/pebble.log.$PEBBLE_PID"
}
ca_up() {
	pebble_run
}

# 1. A no-op renew writes the index.
age_metas
ca_down
mc_run renew
assert_exit 0 "renew, nothing due"
assert_contains "$MC_OUT" "nothing due among 2 certificate"
assert_file "$IX"
assert_file_mode "$IX" 600
[ "$(head -1 "$IX")" = "mailcert-renew-index 3" ] || fail "index header" "$IX"
grep -q "^a [0-9]* [0-9]* [0-9]* [0-9]* [0-9]* [01] 1 ecdsa-p256 .* - $PEBBLE_DIR_URL a\.example\.test\$" "$IX" ||
	fail "index entry of a (with its directory)" "$IX"
grep -q ' b\.example\.test b2\.example\.test$' "$IX" || fail "index entry of b" "$IX"
cp "$IX" "$TEST_TMP/index.1"

# 2. The next no-op run uses it and leaves it alone.
mc_run renew
assert_exit 0 "renew with the index"
assert_contains "$MC_OUT" "nothing due among 2 certificate"
cmp -s "$IX" "$TEST_TMP/index.1" || fail "a no-op run rewrote the index"

# 3. A new version of a: read from its meta.json, indexed again.
ca_up
mc_run issue a
assert_exit 0 "issue a again"
age_metas
ca_down
mc_run renew
assert_exit 0 "renew after issue"
grep -q '^a [0-9]* [0-9]* [0-9]* [0-9]* [0-9]* [01] 2 ' "$IX" || fail "the index has a's version 2" "$IX"

# 4. meta.json of b edited by hand to expire in a day: due at once.
meta_b=$MC_STATE/certs/b/current/meta.json
python3 - "$meta_b" <<'PY'
import json, sys, time
m = json.load(open(sys.argv[1]))
m["not_before"] = int(time.time()) - 89 * 86400
m["not_after"] = int(time.time()) + 86400
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
mc_run renew
assert_exit 1 "b is due after its meta.json changed (CA down)"
assert_contains "$MC_ERR" "b: due (1/3 of lifetime left)"

# 5. Damaged or foreign indexes are not trusted; a good one is written.
python3 - "$meta_b" <<'PY'
import json, sys, time
m = json.load(open(sys.argv[1]))
m["not_before"] = int(time.time()) - 86400
m["not_after"] = int(time.time()) + 80 * 86400
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
age_metas
for bad in 'garbage' 'mailcert-renew-index 9' \
	"$(printf 'mailcert-renew-index 3\nb 1 2 3 4 5 1 1 ecdsa-p256 1 2 0 0 - - - - x\na 1 2 3 4 5 1 1 ecdsa-p256 1 2')" \
	"$(grep -v '^mailcert-renew-index' "$IX" | sed '1i mailcert-renew-index 1')"; do
	printf '%s\n' "$bad" >"$IX"
	mc_run renew
	assert_exit 0 "renew with a bad index"
	assert_contains "$MC_OUT" "nothing due among 2 certificate"
	grep -q '^a [0-9]* [0-9]* [0-9]* [0-9]* [0-9]* [01] 2 ' "$IX" || fail "renew did not rewrite a bad index" "$IX"
done

# 6. The index never hides a config change: b's names changed -> due.
conf_certs "b.example.test"
mc_run renew
assert_exit 1 "b is due after its names changed (CA down)"
assert_contains "$MC_ERR" "b: due (names changed)"
conf_certs

# 7. Nor another directory (e.g. staging, then production): both due,
# decided from index entries that are current.
cp "$IX" "$TEST_TMP/index.7"
{
	conf_global "https://127.0.0.1:1/other-dir"
	conf_cert a "a.example.test"
	conf_cert b "b.example.test b2.example.test"
} >"$MC_CONF"
mc_run renew
assert_exit 1 "due after the directory changed"
assert_contains "$MC_ERR" "a: due (directory changed)"
assert_contains "$MC_ERR" "b: due (directory changed)"
conf_certs

# 8. Nor a revocation recorded in meta.json: due, and the index entry
# carries the reason, so the next run (from the index) is due too.
python3 - "$meta_b" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["status"] = "revoked"
m["revocation_reason"] = "keyCompromise"
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
age_metas
mc_run renew
assert_exit 1 "b is due after its revocation (CA down)"
assert_contains "$MC_ERR" "b: due (revoked (keyCompromise))"
grep -q '^b .* revoked [^ ]* keyCompromise ' "$IX" || fail "b's entry lacks its revocation" "$IX"
mc_run renew
assert_exit 1 "b is still due, from its index entry"
assert_contains "$MC_ERR" "b: due (revoked (keyCompromise))"
! grep -q 'a: due' "$MC_ERR" || fail "a became due" "$MC_ERR"


# 9. A settled cert (no targets, no journal, no version above current,
# nothing changed since its entry) skips convergence and the look for an
# unfinished version; what appears since is still found every run.
conf_abc() {
	{
		conf_global "$PEBBLE_DIR_URL"
		conf_cert a "a.example.test"
		conf_cert b "b.example.test b2.example.test"
		conf_cert c "c.example.test"
	} >"$MC_CONF"
}
ca_up
conf_abc
mc_run issue c
assert_exit 0 "issue c"
age_metas
ca_down
mc_run renew
assert_exit 1 "renew (b still due)"
grep -q '^c [0-9]* [0-9]* [0-9]* [0-9]* [0-9]* 1 1 ' "$IX" || fail "c's entry is not settled" "$IX"
grep -q '^a [0-9]* [0-9]* [0-9]* [0-9]* [0-9]* 1 2 ' "$IX" || fail "a's entry is not settled" "$IX"
mc_run renew
assert_exit 1 "renew from c's settled entry"
! grep -q 'c: ' "$MC_ERR" "$MC_OUT" || fail "c did something" "$MC_OUT" "$MC_ERR"
# 9a. a stored version made since (never live): deployed at once
vc=$MC_STATE/certs/c/versions
cp -a "$vc/0001" "$vc/0002"
python3 - "$vc/0002/meta.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["version"] = 2
m["status"] = "issued"
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
touch -d '-1 min' "$vc/0002/meta.json"
mc_run renew
assert_contains "$MC_OUT" "c: deploying stored version 0002"
[ "$(readlink "$MC_STATE/certs/c/current")" = versions/0002 ] || fail "c's stored version is not current"
age_metas
mc_run renew
assert_exit 1 "renew (b still due)"
grep -q '^c [0-9]* [0-9]* [0-9]* [0-9]* [0-9]* 1 2 ' "$IX" || fail "c's version 2 is not settled" "$IX"
# 9b. a journal made since (an interrupted deployment): finished at once
printf '{"op": "deploy", "to": 2, "from": 1, "started": %s, "pid": 1}\n' \
	"$(date +%s)" >"$MC_STATE/certs/c/journal.json"
mc_run renew
assert_contains "$MC_OUT" "c: an interrupted deploy of version 0002 was found"
assert_no_path "$MC_STATE/certs/c/journal.json" "the journal is finished"
# 9c. `current` switched by hand: the settled check stats the entry's own
# version (versions/NNNN/meta.json), not `current`; only certs/NAME's
# mtime shows the switch. Version 1, which expires in a day, made current
# by hand behind a settled entry of version 2: due at once.
age_metas
mc_run renew
assert_exit 1 "renew (b still due)"
grep -q '^c [0-9]* [0-9]* [0-9]* [0-9]* [0-9]* 1 2 ' "$IX" || fail "c's version 2 is not settled" "$IX"
python3 - "$vc/0001/meta.json" <<'PY'
import json, os, sys, time
st = os.stat(sys.argv[1])
m = json.load(open(sys.argv[1]))
m["not_before"] = int(time.time()) - 89 * 86400
m["not_after"] = int(time.time()) + 86400
with open(sys.argv[1], "r+") as f:  # in place: no directory changes
    f.truncate(0)
    json.dump(m, f, indent=2)
os.utime(sys.argv[1], ns=(st.st_atime_ns, st.st_mtime_ns))
PY
ln -sfn versions/0001 "$MC_STATE/certs/c/current"
mc_run renew
assert_exit 1 "renew after current was switched by hand"
assert_contains "$MC_ERR" "c: due (1/3 of lifetime left)"

# 10. A rollback makes another version current: never the indexed one.
grep -q '^a [0-9]* [0-9]* [0-9]* [0-9]* [0-9]* [01] 2 ' "$IX" || fail "a's version 2 is indexed" "$IX"
mc_run rollback a
assert_exit 0 "rollback a to version 1"
age_metas
mc_run renew
assert_exit 1 "renew after the rollback (b still due)"
! grep -q 'a: due' "$MC_ERR" || fail "a became due after its rollback" "$MC_ERR"
grep -q '^a [0-9]* [0-9]* [0-9]* [0-9]* [0-9]* [01] 1 ' "$IX" || fail "the index has a's version 1 after the rollback" "$IX"

