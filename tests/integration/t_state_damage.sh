#!/bin/bash
# t_state_damage - state that a copy, a crash or a hand left broken (issue 8):
#  1. `current` copied as a directory (the state restored with cp -r):
#     renew --force, issue and deploy stop before any order or write,
#     naming the path and the command that fixes it; status shows it;
#  2. FIFOs where mailcert reads (the config file, a meta.json, the
#     journal, the lock): refused at once, never waited on;
#  3. leftovers of interrupted runs - versions/.new-NNNN.PID/, our
#     .NAME.<12 hex> temp files (some hold keys) in the state and beside
#     the target files, unused versions of a target's set - are removed by
#     the next run (renew, nothing due) when the lock says the run before
#     was interrupted ("running PID" left in it); names that only look like
#     ours stay.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
T=$TEST_TMP/targets
{
	conf_global
	conf_cert mail "mail.example.test" "targets = files"
	printf '%s\n' "[target files]" "type = files" "cert_file = $T/%n.crt" \
		"key_file = $T/%n.key" "reload = /bin/true"
} >"$MC_CONF"
CD=$MC_STATE/certs/mail
mc_run issue mail
assert_exit 0 "issue"

# bounded - run mailcert with a 15 s bound; a hang is exit 124.
bounded() {
	MC_RUN_TIMEOUT=15 mc_run "$@"
	[ "$MC_RC" != 124 ] || fail "mailcert $* hung (killed after 15 s)" "$MC_ERR"
}

# 1. `current` is a directory.
rm "$CD/current"
cp -r "$CD/versions/0001" "$CD/current"
for cmd in "renew --force" "issue mail" "deploy mail"; do
	# shellcheck disable=SC2086
	bounded $cmd
	assert_exit 1 "$cmd with current copied as a directory"
	assert_contains "$MC_ERR" "$CD/current is a directory, not a symbolic link"
	assert_contains "$MC_ERR" "rm -r $CD/current && ln -s versions/0001 $CD/current"
	assert_not_contains "$MC_ERR" "ordering" "$cmd ordered a certificate"
	assert_eq "$(version_count mail)" 1 "versions after $cmd"
done
bounded status
assert_contains "$MC_OUT" "not a symbolic link"
rm -r "$CD/current" && ln -s versions/0001 "$CD/current"
bounded renew
assert_exit 0 "renew once current is a link again"

# 2. FIFOs.
mkfifo "$TEST_TMP/fifo.conf"
MC_CONF_SAVED=$MC_CONF
MC_CONF=$TEST_TMP/fifo.conf bounded status
assert_exit 2 "status with a FIFO as the config"
assert_contains "$MC_ERR" "not a regular file"
MC_CONF=$MC_CONF_SAVED
for f in "$CD/versions/0001/meta.json" "$CD/journal.json" "$MC_STATE/lock"; do
	[ ! -e "$f" ] || mv "$f" "$f.saved"
	mkfifo "$f"
	bounded status # shows the problem in its table (or has none to show)
	[ "$f" = "$MC_STATE/lock" ] || cat "$MC_OUT" "$MC_ERR" | grep -q "$f is not a regular file" ||
		fail "status does not name $f" "$MC_OUT"
	for cmd in renew "deploy mail"; do
		# shellcheck disable=SC2086
		bounded $cmd
		assert_exit 1 "$cmd with a FIFO at $f"
		assert_contains_i "$MC_ERR" "$f" "not a regular file"
		assert_not_contains "$MC_ERR" "ordering" "$cmd ordered with a FIFO at $f"
	done
	rm "$f"
	[ ! -e "$f.saved" ] || mv "$f.saved" "$f"
done
assert_eq "$(version_count mail)" 1 "versions after the FIFOs"
bounded renew
assert_exit 0 "renew once the FIFOs are gone"

# 3. Leftovers of interrupted runs, and names that only look like ours.
key=$CD/versions/0001/privkey.pem
SET=$T/.mailcert.mail.files
acct=$(find "$MC_STATE/accounts" -mindepth 1 -maxdepth 1 -type d | head -n 1)
ours=("$CD/versions/.new-0002.4242" "$CD/versions/0001/.privkey.pem.0123456789ab"
	"$CD/.current.a1b2c3d4e5f6" "$CD/.journal.json.00000000abcd"
	"$acct/.account.key.abcdef012345" "$T/.mail.key.abcdefabcdef"
	"$T/.mail.crt.000000000001" "$SET/v0009.0123456789ab" "$SET/.live.0123456789ab")
kept=("$CD/versions/.new-01.5" "$CD/versions/0001/.privkey.pem.0123456789AB"
	"$CD/versions/0001/.privkey.pem.0123456789ab.bak" "$T/.mail.key.notes"
	"$T/.other.key.0123456789ab" "$SET/vX.0123456789ab" "$SET/notes")
mkdir "$CD/versions/.new-0002.4242" "$SET/v0009.0123456789ab" "$CD/versions/.new-01.5" \
	"$SET/vX.0123456789ab"
install -m 0600 "$key" "$CD/versions/.new-0002.4242/privkey.pem"
install -m 0600 "$key" "$SET/v0009.0123456789ab/key_file"
for f in "${ours[@]}" "${kept[@]}"; do
	[ -e "$f" ] || install -m 0600 "$key" "$f"
done
rm -f "$CD/.current.a1b2c3d4e5f6" "$SET/.live.0123456789ab"
ln -s versions/0001 "$CD/.current.a1b2c3d4e5f6"
ln -s v0009.0123456789ab "$SET/.live.0123456789ab"
# a run that finished leaves the lock empty: nothing is looked for
mc_run renew
assert_exit 0 "renew (nothing due) after a run that finished"
[ -e "$CD/versions/.new-0002.4242" ] || fail "leftovers were looked for after a finished run"
[ ! -s "$MC_STATE/lock" ] || fail "the lock still says a run is on after renew" "$MC_STATE/lock"
# what a killed run leaves in the lock
printf 'running 4242\n' >"$MC_STATE/lock"
mc_run renew
assert_exit 0 "renew (nothing due) with leftovers"
for f in "${ours[@]}"; do
	assert_no_path "$f" "a leftover of an interrupted run"
done
for f in "${kept[@]}"; do
	[ -e "$f" ] || fail "$f was removed, but it is not one of ours"
done
[ -f "$T/mail.key" ] && [ -f "$T/mail.crt" ] || fail "the target files are gone"
log "ok"
