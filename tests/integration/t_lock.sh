#!/bin/bash
# t_lock - while another process holds state_dir/lock (flock), mailcert
# exits 4 at once and touches nothing; once released, the run succeeds.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd flock
pebble_start
write_config mail "mail.example.test"
mkdir -p "$MC_STATE"
lock=$MC_STATE/lock
# The subshell takes the lock on fd 9 and becomes sleep, so one pid holds it.
# shellcheck disable=SC2016
bg_start lockholder "$TEST_TMP/lockholder.log" \
	bash -c 'exec 9>>"$1" && flock -x 9 && exec sleep 300' _ "$lock"
holder=$BG_PID
for ((i = 0; i < 50; i++)); do
	flock -n "$lock" true 2>/dev/null || break
	sleep 0.1
done
flock -n "$lock" true 2>/dev/null && fail "the test could not take the lock"

for cmd in "issue mail" "issue --all"; do
	start=$(date +%s%N)
	# shellcheck disable=SC2086
	mc_run $cmd
	ms=$((($(date +%s%N) - start) / 1000000))
	assert_exit 4 "'$cmd' while the lock is held"
	assert_contains_i "$MC_ERR" "lock"
	[ "$ms" -lt 5000 ] || fail "'$cmd' took $ms ms; a held lock must fail at once"
done
assert_no_path "$(cert_dir mail)" "nothing stored while locked"

bg_stop "$holder"
mc_run issue mail
assert_exit 0 "issue after the lock was released"
assert_symlink "$(cert_dir mail)/current" versions/0001
