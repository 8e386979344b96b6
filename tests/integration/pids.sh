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
