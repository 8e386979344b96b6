#!/usr/bin/env bash
# t_harness_pids.sh - the harness's exit cleanup (lib.sh mc_cleanup) runs
# only in the test's own shell.
#
# A child that bg_start forked and bg_stop TERMed before it had reset its
# traps ran the test's EXIT trap - every recorded process TERMed, TEST_TMP
# removed - in 1 of 20 runs of a test that stopped a process right after
# starting it. The window after the fork cannot be hit at will; a subshell
# that runs the trap stands in for that child.
# Needs nothing but bash and /proc.
. "$(dirname "$0")/lib.sh"

bg_start "live" "$TEST_TMP/live.log" sleep 300
LIVE=$BG_PID

# a copy of this shell runs the EXIT trap
touch "$TEST_TMP/marker"
(
	(exit 0)
	mc_cleanup
) 2>"$TEST_TMP/copy.err"
[ -e "$TEST_TMP/marker" ] || fail "a copy of the test's shell ran the cleanup: TEST_TMP is gone"
kill -0 "$LIVE" 2>/dev/null || fail "a copy of the test's shell ran the cleanup: recorded pid $LIVE was stopped"
log "ok: a copy of the test's shell does not clean up"
exit 0
