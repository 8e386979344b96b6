#!/bin/bash
# t_dry_run - `issue --dry-run` and `renew --dry-run` order from
# staging_directory (here the harness's Pebble; `directory` is dead) into a
# throwaway state: no target written, no reload, no hook, nothing left in
# the state but the staging account (reused by the next dry run), and a
# report of what a real run would do. No staging directory known: exit 2.
# `issue --no-deploy` stores a version only: not current, no target, no
# deploy hook.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
free_port dead
H=$TEST_TMP/hooks
FILES=$TEST_TMP/files
mkdir -p "$FILES"
for ev in pre reload deploy post failure; do
	mkdir -p "$H/$ev.d"
	printf '#!/bin/sh\necho %s >>%s/hooks.log\n' "$ev" "$TEST_TMP" >"$H/$ev.d/10-log"
	chmod 755 "$H/$ev.d/10-log"
done
printf '#!/bin/sh\necho reload >>%s/reload.log\n' "$TEST_TMP" >"$TEST_TMP/reload"
chmod 755 "$TEST_TMP/reload"

# conf DIRECTORY [STAGING] - the config.
conf() {
	{
		conf_global "$1" ${2:+"staging_directory = $2"}
		conf_cert mail "mail.example.test smtp.example.test" "targets = plain"
		printf '%s\n' "[target plain]" "type = files" "cert_file = $FILES/%n.crt" \
			"key_file = $FILES/%n.key" "reload = $TEST_TMP/reload" ""
	} >"$MC_CONF"
}

# nothing_changed - no target file, no reload, no hook, no cert state,
# no throwaway state left.
nothing_changed() {
	[ -z "$(ls -A "$FILES")" ] || fail "a dry run wrote target files: $(ls "$FILES")"
	assert_no_path "$TEST_TMP/reload.log" "a dry run reloaded"
	assert_no_path "$TEST_TMP/hooks.log" "a dry run ran hooks"
	assert_no_path "$MC_STATE/certs" "a dry run stored a certificate in the real state"
	if ls -d "$MC_STATE"/.dry-run.* >/dev/null 2>&1; then
		fail "the throwaway state was left behind"
	fi
}

conf "https://127.0.0.1:$dead/dir" "$PEBBLE_DIR_URL"
mc_run issue mail --dry-run
assert_exit 0 "issue --dry-run"
assert_contains "$MC_OUT" "mail: dry run: the staging CA issued serial"
assert_contains "$MC_OUT" "mail: would write target plain: $FILES/mail.crt $FILES/mail.key (checks pass)"
assert_contains "$MC_OUT" "mail: would reload target plain with \`$TEST_TMP/reload\`"
assert_contains "$MC_OUT" "would run hooks: pre.d 1 reload.d 1 deploy.d 1 post.d 1"
nothing_changed
acct=$(find "$MC_STATE/accounts" -name account.key)
[ "$(echo "$acct" | wc -l)" = 1 ] && [ -f "$acct" ] || fail "the staging account was not kept"
acct_sum=$(sha256sum <"$acct")

mc_run renew --dry-run
assert_exit 0 "renew --dry-run"
assert_contains "$MC_OUT" "mail: due now: yes (no certificate yet); the dry run orders it anyway"
assert_contains "$MC_OUT" "mail: dry run: the staging CA issued serial"
nothing_changed
assert_eq "$(sha256sum <"$acct")" "$acct_sum" "the dry runs reuse the staging account"
[ "$(find "$MC_STATE/accounts" -name account.key | wc -l)" = 1 ] ||
	fail "a second staging account was registered"

mc_run --json issue mail --dry-run
assert_exit 0 "--json issue --dry-run"
python3 - "$MC_OUT" "$PEBBLE_DIR_URL" "$FILES" <<'PY' || fail "bad --json dry run" "$MC_OUT"
import json, sys
r = json.load(open(sys.argv[1]))[0]
d = r["dry_run"]
assert r["ok"] and d["directory"] == sys.argv[2], r
assert d["targets"][0]["files"] == [sys.argv[3] + "/mail.crt", sys.argv[3] + "/mail.key"], d
assert d["targets"][0]["ok"] is True and d["hooks"]["deploy"] == 1, d
PY
nothing_changed

# A target that would fail is reported (and still nothing is written).
touch "$TEST_TMP/blocker"
sed -i "s|^key_file = .*|key_file = $TEST_TMP/blocker/%n.key|" "$MC_CONF"
mc_run issue mail --dry-run
assert_exit 0 "dry run with a target problem"
assert_contains "$MC_OUT" "(PROBLEM: target plain: key_file $TEST_TMP/blocker/mail.key"
nothing_changed

# No staging directory known for a non-Let's Encrypt directory: exit 2.
conf "https://127.0.0.1:$dead/dir"
mc_run issue mail --dry-run
assert_exit 2 "no staging directory"
assert_contains "$MC_ERR" "no staging directory is known for https://127.0.0.1:$dead/dir; set staging_directory"

# issue --no-deploy: stored only.
conf "$PEBBLE_DIR_URL"
mc_run issue mail --no-deploy
assert_exit 0 "issue --no-deploy"
assert_contains "$MC_OUT" "mail: version 0001 stored, not deployed (--no-deploy)"
assert_file "$(cert_dir mail)/versions/0001/privkey.pem"
assert_no_path "$(cert_dir mail)/current" "--no-deploy makes nothing current"
[ -z "$(ls -A "$FILES")" ] || fail "--no-deploy wrote target files"
assert_no_path "$TEST_TMP/reload.log" "--no-deploy reloaded"
assert_eq "$(tr '\n' ' ' <"$TEST_TMP/hooks.log")" "pre post " "--no-deploy runs pre and post only"
mc_run issue mail --no-deploy --dry-run
assert_exit 2 "--no-deploy with --dry-run"
log "ok"
