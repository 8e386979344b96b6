#!/bin/sh
# exim-reload.sh PIDFILE - reload an Exim daemon: SIGHUP to the pid in PIDFILE.
# mailcert execs reload commands without a shell, so the test harness
# (mail.sh) gives it this one. Exim re-execs itself on SIGHUP under the same
# pid and reads the TLS files again. It closes its listening sockets and
# binds them anew, so its ports refuse connections for a moment (~30 ms
# idle); mailcert waits for them after a reload (deploy/owner.c).
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
