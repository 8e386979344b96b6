#!/bin/sh
# exim-reload.sh PIDFILE - reload an Exim daemon: SIGHUP to the pid in PIDFILE.
# mailcert execs reload commands without a shell, so the test harness
# (mail.sh) gives it this one. Exim re-execs itself on SIGHUP under the same
# pid and reads the TLS files again; in our runs its listening ports kept
# accepting connections throughout the re-exec.
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 PIDFILE" >&2
	exit 2
fi
pid=$(tr -dc '0-9' <"$1")
if [ -z "$pid" ]; then
	echo "$0: no pid in $1" >&2
	exit 1
fi
exec kill -HUP "$pid"
