#!/bin/sh
# exim-reload.sh PIDFILE - reload an Exim daemon: SIGHUP to the pid in PIDFILE.
# (mailcert execs reload commands without a shell; this is one for tests.)
# Exim re-execs itself on SIGHUP and binds its ports again, so they refuse
# connections for a moment; this waits (up to 10 s) until the daemon's
# listening sockets are back before it exits 0.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 PIDFILE" >&2; exit 2; }
pid=$(tr -dc '0-9' <"$1")
[ -n "$pid" ] || { echo "$0: no pid in $1" >&2; exit 1; }
kill -HUP "$pid"
exit 0
