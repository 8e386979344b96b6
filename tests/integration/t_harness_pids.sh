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
# 3. mail.sh (the Postfix, Dovecot and Exim of the tests) likewise: the
#    review found it recording the daemons' pids by number only, so a pid
#    file or a record naming a pid reused since our daemon ended (the tests
#    end daemons on purpose, t_daemon_down; pid_max is 32768) made it TERM
#    and KILL whatever process had that pid - the host's own mail daemon,
#    say. With `kill` traced and sleep processes as masters (no daemon is
#    needed to show what the harness signals), the same reuse stand-in:
#      - a registered master of each type has ended, its record now holds
#        a live foreign pid (its start time kept) and so does its pid file:
#        mail_own_pid refuses it, postfix_stop/dovecot_stop/exim_stop send
#        it nothing;
#      - a master and its child being stopped (dovecot_stop_begin) end on
#        TERM; their pids in the stop list are replaced by live foreign
#        pids before mail_stop_finish: it signals neither (on main's mail.sh
#        it waited 10 s for them, then TERMed them);
#      - mc_procs_stop TERMs a live recorded process, not a reused one.
# Needs nothing but bash and /proc.
. "$(dirname "$0")/lib.sh"
# shellcheck source=mail.sh
. "$(dirname "$0")/mail.sh"

T=$TEST_TMP # part 1's cleanup runs in a subshell that clears TEST_TMP
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
# kill_trace - from here on `kill` (a function in front of the builtin)
# logs its arguments to KILLS; unset -f kill ends that.
kill_trace() {
	# shellcheck disable=SC2317 # called through the functions under test
	kill() {
		printf '%s\n' "$*" >>"$KILLS"
		builtin kill "$@"
	}
}
kill_trace
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

# 3. mail.sh
# reuse_stand_in ENDED - start a process (FOREIGN) in a later clock tick than
# the ended process ENDED, and put FOREIGN's pid in place of ENDED's in
# MAIL_STARTED_PIDS and MAIL_STOPPING (their start times kept).
reuse_stand_in() {
	local ended=$1 i e
	sleep 0.05
	sleep 300 >/dev/null 2>&1 &
	FOREIGN=$!
	mc_record "foreign stand-in" "$FOREIGN" # the test's own cleanup stops it
	for i in "${!MAIL_STARTED_PIDS[@]}"; do
		[ "${MAIL_STARTED_PIDS[i]}" = "$ended" ] || continue
		MAIL_STARTED_PIDS[i]=$FOREIGN
		[ "$(mc_pid_start "$FOREIGN")" != "${MAIL_STARTED_STARTS[i]:-}" ] ||
			fail "the stand-in pid $FOREIGN started in the clock tick of pid $ended: no reuse stand-in"
	done
	for i in "${!MAIL_STOPPING[@]}"; do
		e=${MAIL_STOPPING[i]}
		[ "${e%%:*}" = "$ended" ] && MAIL_STOPPING[i]=$FOREIGN${e#"$ended"}
	done
	return 0
}

# no_signal_to PID WHAT - fail when the traced kill calls name PID.
no_signal_to() {
	if grep -qw -- "$1" "$KILLS"; then
		fail "$2 signalled pid $1: the pid of a process it started that has ended, now another process's" "$KILLS"
	fi
	[ -d "/proc/$1" ] || fail "pid $1 (not the harness's) is gone after $2"
}

: >"$KILLS"
kill_trace
for type in postfix dovecot exim; do
	d=$T/mail-$type
	case $type in
	postfix) pidfile=$d/queue/pid/master.pid ;;
	dovecot) pidfile=$d/run/master.pid ;;
	exim) pidfile=$d/exim.pid ;;
	esac
	mkdir -p "$(dirname "$pidfile")"
	sleep 300 >/dev/null 2>&1 &
	master=$!
	echo "$master" >"$pidfile"
	mail_register "$type" "$d" "$master"
	got=$(mail_own_pid "$type" "$d" "$pidfile") ||
		fail "mail_own_pid refuses the live $type master $master the harness registered"
	[ "$got" = "$master" ] || fail "mail_own_pid gave '$got' for the $type master $master"
	builtin kill "$master"
	wait "$master" 2>/dev/null
	reuse_stand_in "$master"
	echo "$FOREIGN" >"$pidfile" # stale: the pid of our ended master, reused
	if got=$(mail_own_pid "$type" "$d" "$pidfile" 2>>"$T/mail.err"); then
		fail "mail_own_pid gave pid $got of a stale $type pid file: our master $master has ended, the pid now names another process"
	fi
	"${type}_stop" "$d" 2>>"$T/mail.err"
	no_signal_to "$FOREIGN" "${type}_stop (stale pid file)"
done
log "ok: mail_own_pid and the stop functions refuse a stale pid file naming a reused pid"

# A master that stops its child on TERM, like the daemons.
d=$T/mail-tree
mkdir -p "$d/run"
# shellcheck disable=SC2016 # for the child shell
bash -c 'sleep 300 & c=$!; trap "builtin kill \$c; wait \$c; exit 0" TERM; wait' >/dev/null 2>&1 &
master=$!
for ((n = 0; n < 100; n++)); do
	[ -n "$(mail_children "$master")" ] && break
	sleep 0.02
done
child=$(mail_children "$master")
[ -n "$child" ] || fail "the stand-in master $master started no child"
echo "$master" >"$d/run/master.pid"
mail_register dovecot "$d" "$master"
want="$(mc_proc "$master") $(mc_proc "$child")"
MAIL_STOPPING=()
dovecot_stop_begin "$d" 2>>"$T/mail.err"
grep -qx -- "-TERM $master" "$KILLS" || fail "dovecot_stop_begin did not TERM the live master $master" "$KILLS"
[ "${MAIL_STOPPING[*]}" = "$want" ] ||
	fail "dovecot_stop_begin listed '${MAIL_STOPPING[*]}' to stop, not the master and its child with their start times ($want)"
wait "$master" 2>/dev/null
for ((n = 0; n < 100; n++)); do
	[ -d "/proc/$child" ] || break
	sleep 0.02
done
[ ! -d "/proc/$child" ] || fail "the stand-in master's child $child outlived it"
: >"$KILLS"
reuse_stand_in "$master"
FOREIGN_MASTER=$FOREIGN
reuse_stand_in "$child"
FOREIGN_CHILD=$FOREIGN
mail_stop_finish 2>>"$T/mail.err"
no_signal_to "$FOREIGN_MASTER" "mail_stop_finish (a master's pid reused)"
no_signal_to "$FOREIGN_CHILD" "mail_stop_finish (a descendant's pid reused)"
log "ok: mail_stop_finish sends nothing to the reused pids of a stopped master and its child"

# a process that ignores TERM (SIG_IGN survives the exec), so that
# mc_procs_stop gets to its KILL (after 3 s)
bash -c 'trap "" TERM; exec sleep 300' >/dev/null 2>&1 &
live=$!
mc_record "live for mc_procs_stop" "$live"
for ((n = 0; n < 100; n++)); do
	[ "$(cat "/proc/$live/comm" 2>/dev/null)" = sleep ] && break
	sleep 0.02
done
live_proc=$(mc_proc "$live") || fail "mc_proc: no start time for live pid $live"
: >"$KILLS"
mc_procs_stop 3 "$live_proc" "$FOREIGN_MASTER:${live_proc#*:}" "$FOREIGN_CHILD:${live_proc#*:}" \
	2>>"$T/mail.err"
unset -f kill
log "kill calls of mc_procs_stop: $(tr '\n' ';' <"$KILLS")"
grep -qx -- "-TERM $live" "$KILLS" || fail "mc_procs_stop did not TERM the live process $live" "$KILLS"
grep -qx -- "-KILL $live" "$KILLS" ||
	fail "mc_procs_stop did not KILL the live process $live that ignores TERM" "$KILLS"
no_signal_to "$FOREIGN_MASTER" "mc_procs_stop"
no_signal_to "$FOREIGN_CHILD" "mc_procs_stop"
log "ok: mc_procs_stop TERMs and KILLs the recorded process that runs, not a reused pid"
exit 0
