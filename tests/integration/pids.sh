# shellcheck shell=bash
#
# pids.sh - the one way the harness tells whether a pid still names the
# process it recorded (sourced by lib.sh and mail.sh; works alone).
#
# A pid alone does not name a process: once the process has ended, the
# kernel gives its pid to the next process that needs one (pid_max is
# 32768 on many hosts), which may be any process of the host - its own
# mail daemon too. The pid and the start time together name one process.
#
# mc_pid_start PID  print the start time of process PID (clock ticks after
#                   boot, field 22 of /proc/PID/stat); nothing and 1 when
#                   there is no such process.
# A recorded process is PID:START (mc_proc); mc_proc_runs, mc_procs_wait
# and mc_procs_stop act on it only while that pid still has that start
# time (below).

[ -z "${MC_PIDS_SH:-}" ] || return 0
MC_PIDS_SH=1

mc_pid_start() {
	local stat f
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	read -r -a f <<<"${stat##*) }" # after the command name, field 3 on
	[ -n "${f[19]:-}" ] || return 1
	echo "${f[19]}"
}

# mc_proc PID  print PID:START for the process PID now (START: its
#              mc_pid_start), or nothing and 1 when there is none.
mc_proc() {
	local start
	start=$(mc_pid_start "$1") || return 1
	echo "$1:$start"
}

# mc_proc_runs PROC  whether PROC (PID:START) still runs: its pid names
#                    the process that started at START. Once that process
#                    has ended its pid may name any other: then 1 (gone).
#                    A bare pid, or an empty START (a process gone before
#                    it was recorded), is gone too.
mc_proc_runs() {
	local pid=${1%%:*} start=${1#*:}
	if [ "$pid" = "$1" ]; then
		mc_pids_log "mc_proc_runs: '$1' is not PID:START; taken as gone"
		return 1
	fi
	[ -n "$start" ] && [ "$(mc_pid_start "$pid")" = "$start" ]
}

# mc_procs_wait SECS PROC...  wait up to SECS until none of the PROCs
#                             (PID:START) runs; 1 when one still does.
mc_procs_wait() {
	local secs=$1 proc n alive
	shift
	for ((n = 0; n < secs * 20; n++)); do
		alive=0
		for proc in "$@"; do
			mc_proc_runs "$proc" && alive=1 && break
		done
		[ "$alive" = 1 ] || return 0
		sleep 0.05
	done
	return 1
}

# mc_procs_stop SECS PROC...  the one way the harness stops processes it
#                             recorded: TERM each PROC (PID:START) that
#                             still runs, wait up to SECS, then KILL each
#                             that still runs; a process that has ended
#                             gets no signal (its pid may be another's).
mc_procs_stop() {
	local secs=$1 proc pid
	shift
	[ $# -gt 0 ] || return 0
	for proc in "$@"; do
		mc_proc_runs "$proc" && kill -TERM "${proc%%:*}" 2>/dev/null
	done
	mc_procs_wait "$secs" "$@" && return 0
	for proc in "$@"; do
		pid=${proc%%:*}
		if mc_proc_runs "$proc"; then
			mc_pids_log "pid $pid ($(cat /proc/"$pid"/comm 2>/dev/null)) ignored TERM; sending KILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	return 0
}

# mc_pids_log - a line on stderr (lib.sh's log when present).
mc_pids_log() {
	if declare -F log >/dev/null; then
		log "$*"
	else
		printf '[pids] %s\n' "$*" >&2
	fi
}
