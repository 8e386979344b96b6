#!/usr/bin/env bash
# t_harness_pids.sh - the harness's exit cleanup (lib.sh mc_cleanup) stops
# every process the test recorded, by its PID, and nothing else, and only
# the test's own shell runs it.
#
# 1. Not the pid of a recorded process that has already ended - stopped
#    by bg_stop, or ended by itself and reaped: the kernel may have given
#    that pid to an unrelated process by then. The review found mc_cleanup
#    TERMing every recorded pid, also the ones bg_stop had stopped and
#    reaped. The cleanup runs here in a subshell with `kill` traced (a
#    shell function in front of the builtin), after:
#      - a process started with bg_start and stopped with bg_stop;
#      - one started with bg_start that ended by itself and was reaped;
#      - one that still runs (it must be stopped);
#      - a stand-in for pid reuse, which cannot be forced: a live process
#        that this test started but did not record, whose pid is put in
#        the record of the stopped process (its start time kept), as if
#        the kernel had reused the pid.
#    bg_stop likewise: neither the ended process nor the stand-in, nor a
#    pid never recorded, is signalled; and a recorded process that ends on
#    TERM gets no KILL after it (the review found bg_stop sending KILL to
#    the pid once its process had ended and been reaped).
# 2. Not in a copy of the test's shell: a child that bg_start forked and
#    bg_stop TERMed before it had reset its traps ran the test's EXIT trap
#    - every recorded process TERMed, TEST_TMP removed - in 1 of 20 runs
#    of part 1. The window after the fork cannot be hit at will; a subshell
#    that runs the trap stands in for that child.
# Needs nothing but bash and /proc.
. "$(dirname "$0")/lib.sh"

bg_start "live" "$TEST_TMP/live.log" sleep 300
LIVE=$BG_PID
mc_pid_start "$LIVE" >/dev/null || fail "mc_pid_start: no start time for live pid $LIVE"

# 2. a copy of this shell runs the EXIT trap
touch "$TEST_TMP/marker"
(
	(exit 0)
	mc_cleanup
) 2>"$TEST_TMP/copy.err"
[ -e "$TEST_TMP/marker" ] || fail "a copy of the test's shell ran the cleanup: TEST_TMP is gone"
kill -0 "$LIVE" 2>/dev/null || fail "a copy of the test's shell ran the cleanup: recorded pid $LIVE was stopped"
log "ok: a copy of the test's shell does not clean up"

# 1. ended processes, pid reuse
bg_start "stopped" "$TEST_TMP/stopped.log" sleep 60
STOPPED=$BG_PID
STOPPED_START=${MC_PID_STARTS[-1]}
bg_stop "$STOPPED"
kill -0 "$STOPPED" 2>/dev/null && fail "bg_stop left recorded pid $STOPPED running"
bg_start "ended" "$TEST_TMP/ended.log" true
ENDED=$BG_PID
wait "$ENDED"
# a reused pid names a process started after ours ended: in a later clock
# tick (the unit of the start time; bg_stop may return within the tick
# the stopped process was started in)
sleep 0.05
sleep 300 >/dev/null 2>&1 &
FOREIGN=$!
# the reuse stand-in: the stopped process's record, FOREIGN's pid
[ -n "$STOPPED_START" ] || fail "no start time recorded for pid $STOPPED"
[ "$(mc_pid_start "$FOREIGN")" != "$STOPPED_START" ] ||
	fail "the stand-in pid $FOREIGN started in the stopped process's clock tick: no reuse stand-in"
MC_PIDS+=("$FOREIGN")
MC_PID_NAMES+=("stopped, its pid reused")
MC_PID_STARTS+=("$STOPPED_START")

KILLS=$TEST_TMP/kills
: >"$KILLS"
kill() {
	printf '%s\n' "$*" >>"$KILLS"
	builtin kill "$@"
}
bg_stop "$ENDED"
bg_stop "$FOREIGN"
sleep 300 >/dev/null 2>&1 &
UNRECORDED=$!
bg_stop "$UNRECORDED"
bg_start "termed" "$TEST_TMP/termed.log" sleep 300
TERMED=$BG_PID
bg_stop "$TERMED"
unset -f kill
log "kill calls of bg_stop: $(tr '\n' ';' <"$KILLS")"
builtin kill "$UNRECORDED"
wait "$UNRECORDED"
for pid in "$ENDED" "$FOREIGN" "$UNRECORDED"; do
	grep -qw -- "$pid" "$KILLS" && fail "bg_stop signalled pid $pid (ended, reused or never recorded)" "$KILLS"
done
grep -qx -- "-TERM $TERMED" "$KILLS" || fail "bg_stop did not TERM the live recorded pid $TERMED" "$KILLS"
grep -qx -- "-KILL $TERMED" "$KILLS" &&
	fail "bg_stop sent KILL to pid $TERMED after its process had ended on TERM (the pid may be another's by then)" "$KILLS"
: >"$KILLS"
(
	kill() {
		printf '%s\n' "$*" >>"$KILLS"
		builtin kill "$@"
	}
	MC_SHELL=$BASHPID # run the cleanup here, as the test's shell would
	TEST_TMP=
	(exit 3) # a failing status: no PASS line from this run
	mc_cleanup
)
# from here on the test's own cleanup stops FOREIGN
mc_record "foreign stand-in" "$FOREIGN"
log "kill calls of the cleanup: $(tr '\n' ';' <"$KILLS")"

for pid in "$STOPPED" "$ENDED"; do
	if grep -qw -- "$pid" "$KILLS"; then
		fail "the cleanup signalled pid $pid, a recorded process that had ended" "$KILLS"
	fi
done
grep -qw -- "$FOREIGN" "$KILLS" &&
	fail "the cleanup signalled pid $FOREIGN: a recorded pid reused by a process it did not record" "$KILLS"
kill -0 "$FOREIGN" 2>/dev/null || fail "pid $FOREIGN (not recorded) is gone after the cleanup"
grep -qx -- "-TERM $LIVE" "$KILLS" || fail "the cleanup did not TERM the live recorded pid $LIVE" "$KILLS"
for ((n = 0; n < 50; n++)); do
	kill -0 "$LIVE" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$LIVE" 2>/dev/null && fail "the live recorded pid $LIVE still runs after the cleanup"
log "ok: only the recorded process that still ran was signalled"
exit 0
