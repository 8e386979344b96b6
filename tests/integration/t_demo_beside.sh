#!/bin/bash
# t_demo_beside - the demo (scripts/demo.sh, with its setup step) run twice
# on a host whose own, packaged Postfix listens on 127.0.0.1:25 with its
# /etc/postfix configuration: afterwards that Postfix still runs (same
# master pid) and answers SMTP. The demo's private Postfix, Dovecot and
# Exim run beside it on high ports. Also: the setup refuses an install
# that would remove the host's MTA (apt's own simulation: on this Postfix
# host, installing Exim would remove Postfix).
#
# When no system Postfix runs, the test starts the packaged one (`postfix
# start`, default config directory); if /etc/postfix/main.cf is missing
# (Debian's "No configuration", as the test setup installs it) it writes a
# local-only one (127.0.0.1, no relaying) and removes it again. A Postfix
# it started is stopped by its master pid at the end; one that ran before
# is left running.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (the system Postfix and the demo)"
require_cmd postfix postconf
ROOT=$(cd "$MC_TESTS_DIR/.." && pwd)
build=${MC_BUILD_DIR:?ctest sets MC_BUILD_DIR}
SYS_PID="" OUR_MAIN_CF=0 WE_STARTED=0

# sys_pid - the master pid of the system Postfix, if it runs.
sys_pid() {
	local pid
	pid=$({ tr -dc '0-9' </var/spool/postfix/pid/master.pid; } 2>/dev/null)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# smtp_answers - the system Postfix greets and answers EHLO on 127.0.0.1:25.
smtp_answers() {
	python3 - <<'PY'
import smtplib, sys
try:
    s = smtplib.SMTP("127.0.0.1", 25, timeout=10)
    code, _ = s.ehlo("t-demo-beside.example.test")
    s.quit()
except Exception as e:
    print("smtp: %s" % e, file=sys.stderr)
    sys.exit(1)
sys.exit(0 if code == 250 else 1)
PY
}

# system_cleanup - stop the system Postfix we started (by pid), remove
# the main.cf we wrote.
system_cleanup() {
	local rc=$? n
	if [ "$WE_STARTED" = 1 ] && [ -n "$SYS_PID" ]; then
		kill -TERM "$SYS_PID" 2>/dev/null
		for ((n = 0; n < 100; n++)); do
			kill -0 "$SYS_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SYS_PID" 2>/dev/null
	fi
	[ "$OUR_MAIN_CF" = 0 ] || rm -f /etc/postfix/main.cf
	(exit "$rc")
	mc_cleanup
}
trap system_cleanup EXIT

# The system Postfix is one per host: two runs of this test at once (two
# test suites on one machine) took it for the host's and stopped it under
# each other ("after demo run 1 the system postfix is gone"). One at a time.
exec {host_lock}>/tmp/mailcert-t_demo_beside.lock
flock -w 900 "$host_lock" || fail "another t_demo_beside holds /tmp/mailcert-t_demo_beside.lock for 15 minutes"
SYS_PID=$(sys_pid)
if [ -z "$SYS_PID" ]; then
	if [ ! -f /etc/postfix/main.cf ]; then
		OUR_MAIN_CF=1
		cat >/etc/postfix/main.cf <<'EOT'
# written by mailcert's t_demo_beside.sh for the length of the test
# (removed afterwards): a local-only Postfix as Debian's "Local only" sets it up
myhostname = localhost.localdomain
mydestination = localhost.localdomain, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination
compatibility_level = 3.6
EOT
	fi
	case $(postconf -h inet_interfaces) in
	127.0.0.1 | loopback-only | localhost) ;;
	*) skip_or_fail "the system Postfix would listen beyond loopback ($(postconf -h inet_interfaces))" ;;
	esac
	mail_port_in_use=0
	port_listening 25 && mail_port_in_use=1
	[ "$mail_port_in_use" = 0 ] || skip_or_fail "127.0.0.1:25 is taken by something that is not the system Postfix"
	postfix start >"$TEST_TMP/postfix-start.log" 2>&1 ||
		fail "the system postfix does not start" "$TEST_TMP/postfix-start.log"
	WE_STARTED=1
	for ((i = 0; i < 100; i++)); do
		SYS_PID=$(sys_pid) && break
		sleep 0.1
	done
	[ -n "$SYS_PID" ] || fail "no master pid of the system postfix" "$TEST_TMP/postfix-start.log"
fi
for ((i = 0; i < 100; i++)); do
	smtp_answers 2>/dev/null && break
	sleep 0.1
done
smtp_answers || fail "the system postfix does not answer on 127.0.0.1:25"
log "system postfix: master pid $SYS_PID on 127.0.0.1:25 (started by this test: $WE_STARTED)"

for run in 1 2; do
	SKIP_BUILD=1 BUILD_DIR=$build timeout -k 10 600 bash "$ROOT/scripts/demo.sh" \
		>"$TEST_TMP/demo$run.log" 2>&1 </dev/null || fail "demo run $run failed" "$TEST_TMP/demo$run.log"
	assert_contains "$TEST_TMP/demo$run.log" "demo: done"
	assert_not_contains "$TEST_TMP/demo$run.log" "stopping the system"
	now=$(sys_pid) || fail "after demo run $run the system postfix is gone" "$TEST_TMP/demo$run.log"
	assert_eq "$now" "$SYS_PID" "the system postfix's master pid after demo run $run"
	postfix status >/dev/null 2>&1 || fail "postfix status: not running after demo run $run"
	smtp_answers || fail "the system postfix does not answer after demo run $run"
done
assert_contains "$TEST_TMP/demo1.log" "this host runs postfix: left running"

# The setup refuses what would remove the host's MTA (here: Exim would
# replace this Postfix), before changing anything.
if bash "$ROOT/scripts/setup-mail.sh" --check-install exim4-daemon-light >"$TEST_TMP/check.log" 2>&1; then
	fail "installing Exim beside Postfix was not refused" "$TEST_TMP/check.log"
fi
assert_contains "$TEST_TMP/check.log" "would remove postfix"
postfix status >/dev/null 2>&1 || fail "the check changed the system postfix"
log "ok"
