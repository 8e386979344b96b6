#!/bin/bash
# t_deploy_safety - the safety rules of a deployment (issue 8), each a
# regression test, with a `files` target (cert_file + key_file, so a set;
# its reload is a script that can be told to fail; no verify endpoints):
#  1. a failed deployment rolls back to the version that was current
#     before, never to one that was stored but never live; `rollback` goes
#     to the version current before the present one, and a second one
#     further back;
#  2. a version whose privkey.pem does not match its certificate is
#     refused before any file is written;
#  3. a full target disk (a small tmpfs, filled): "nothing was changed",
#     never "ROLLBACK FAILED", every target file unchanged;
#  4. a certificate whose notBefore lies 300 days ahead (fakeca.py
#     "future": Pebble cannot issue one) is refused before it is stored;
#  5. (before 4) status shows drift and changes nothing; renew repairs it;
#     a newer version on a target than `current` is never replaced silently.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (mounts a small tmpfs)"
pebble_start
T=$TEST_TMP/targets
mkdir -p "$T"
trap 'rc=$?; umount "$T" 2>/dev/null; (exit $rc); mc_cleanup' EXIT
mount -t tmpfs -o size=256k,mode=0755 tmpfs "$T" ||
	skip_or_fail "cannot mount a tmpfs on $T (needs CAP_SYS_ADMIN)"
# (fails once when reload-fails exists: the deployment fails, the rollback works)
printf '#!/bin/sh\n[ ! -e %s/reload-fails ] || { rm %s/reload-fails; echo reload-broke >&2; exit 1; }\n' \
	"$TEST_TMP" "$TEST_TMP" >"$TEST_TMP/reload"
chmod 755 "$TEST_TMP/reload"

# config [LINE...] - cert mail with the files target (extra target lines).
config() {
	{
		conf_global
		conf_cert mail "mail.example.test" "targets = files"
		printf '%s\n' "[target files]" "type = files" "cert_file = $T/%n.crt" \
			"key_file = $T/%n.key" "reload = $TEST_TMP/reload" "$@"
	} >"$MC_CONF"
}

# holds V - the target files hold version V (leaf and key).
holds() {
	local v=$MC_STATE/certs/mail/versions/$1
	[ "$(mail_sha "$T/mail.crt")" = "$(mail_sha "$v/cert.pem")" ] &&
		[ "$(pubkey_of_key "$T/mail.key")" = "$(pubkey_of_key "$v/privkey.pem")" ]
}

# mail_sha FILE - SHA-256 of the first certificate's DER.
mail_sha() {
	openssl x509 -in "$1" -outform DER 2>/dev/null | sha256sum | cut -c1-64
}

# files_sum - the bytes of both target files, for "unchanged" checks.
files_sum() {
	cat "$T/mail.crt" "$T/mail.key" | sha256sum
}

cur() {
	readlink "$MC_STATE/certs/mail/current"
}

# 1. Rollback goes to what was live, not to the newest stored version.
config
mc_run issue mail
assert_exit 0 "first issue"
holds 0001 || fail "the target does not hold version 0001"
config "group = no-such-group-mc"
mc_run issue mail
assert_exit 1 "issue with a target that fails its check"
assert_contains "$MC_ERR" "nothing was changed"
assert_eq "$(cur)" versions/0001 "current after a refused deployment"
config
touch "$TEST_TMP/reload-fails"
mc_run issue mail
assert_exit 1 "issue with a failing reload"
assert_contains "$MC_ERR" "reload-broke"
assert_eq "$(cur)" versions/0001 "current after the rollback (0002 was never live)"
assert_contains "$MC_ERR" "version 0001 is live"
holds 0001 || fail "after the rollback the target does not hold version 0001"
mc_run rollback mail
assert_exit 2 "rollback with no version current before 0001"
assert_contains "$MC_ERR" "nothing to roll back to"
mc_run issue mail
assert_exit 0 "issue version 0004"
assert_eq "$(cur)" versions/0004 "current after issue"
mc_run rollback mail
assert_exit 0 "rollback from 0004"
assert_eq "$(cur)" versions/0001 "rollback went to the version current before 0004"
holds 0001 || fail "after rollback the target does not hold version 0001"

# 2. A version whose key is not its certificate's: refused, nothing written.
#    (4 becomes current, then 3 with 4 before it; 4's key is then spoilt.)
mc_run deploy mail --version 4
assert_exit 0 "deploy --version 4"
mc_run deploy mail --version 3
assert_exit 0 "deploy --version 3"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$TEST_TMP/other.key" 2>/dev/null || fail "openssl genpkey"
install -m 0600 "$TEST_TMP/other.key" "$MC_STATE/certs/mail/versions/0004/privkey.pem"
before=$(files_sum)
mc_run rollback mail
assert_exit 1 "rollback to a version with the wrong privkey.pem"
assert_contains "$MC_ERR" "does not match"
assert_contains "$MC_ERR" "nothing was changed"
assert_eq "$(files_sum)" "$before" "target files after the refused rollback"
assert_eq "$(cur)" versions/0003 "current after the refused rollback"
mc_run deploy mail --version 4
assert_exit 1 "deploy --version of the broken version"
assert_contains "$MC_ERR" "does not match"
assert_eq "$(files_sum)" "$before" "target files after the refused deploy"
mc_run deploy mail --version 1
assert_exit 0 "back to version 1"
before=$(files_sum)

# 3. A full target disk: nothing changes, and the error says so.
dd if=/dev/zero of="$T/fill" bs=4k 2>/dev/null
mc_run issue mail
assert_exit 1 "issue onto a full disk"
assert_contains_i "$MC_ERR" "No space left on device"
assert_contains "$MC_ERR" "nothing was changed"
assert_not_contains "$MC_ERR" "ROLLBACK FAILED"
assert_eq "$(files_sum)" "$before" "target files on the full disk"
assert_eq "$(cur)" versions/0001 "current after the full disk"
rm -f "$T/fill"
mc_run renew
assert_exit 0 "renew once there is space again"

# 5. Drift: status shows a target that differs from current and changes
#    nothing; renew (nothing due) repairs it. A target holding a NEWER
#    version than current without a journal (lost) is not overwritten
#    silently: the warning names both versions.
live=$T/.mailcert.mail.files/$(readlink "$T/.mailcert.mail.files/live")
install -m 0600 "$TEST_TMP/other.key" "$live/key_file"
spoilt=$(files_sum)
mc_run status
assert_exit 0 "status with drift"
assert_contains "$MC_OUT" "target files"
assert_contains "$MC_OUT" "drift: mixed"
assert_contains "$MC_OUT" "mailcert renew"
assert_eq "$(files_sum)" "$spoilt" "status changed the target"
mc_run --json status
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))[0]["drift"][0]; sys.exit(d["state"] != "mixed")' \
	"$MC_OUT" || fail "status --json does not report the drift" "$MC_OUT"
mc_run renew
assert_exit 0 "renew repairs the drift"
assert_contains "$MC_ERR" "differs from current 0001"
holds 0001 || fail "after the repair the target does not hold version 0001"
mc_run status
assert_not_contains "$MC_OUT" "drift"
mc_run deploy mail --version 5
assert_exit 0 "deploy --version 5"
ln -sfn versions/0001 "$MC_STATE/certs/mail/current"
mc_run status
assert_contains "$MC_OUT" "holds version 0005 (newer than current 0001)"
mc_run deploy mail
assert_exit 0 "deploy of current while the target holds a newer version"
assert_contains "$MC_ERR" "holds version 0005, newer than current 0001"
holds 0001 || fail "deploy did not write current"

# 4. notBefore 300 days ahead: refused before it is stored.
fakeca_start future
{
	conf_global "$FAKECA_DIR_URL"
	conf_cert fut "fut.example.test"
} >"$MC_CONF"
mc_run issue fut
assert_exit 1 "a certificate valid only from 300 days ahead"
assert_contains "$MC_ERR" "not valid before"
assert_eq "$(version_count fut)" 0 "versions stored of the future certificate"
log "ok"
