#!/bin/bash
# shellcheck disable=SC2154
#
# t_check_greeting.sh - `mailcert check` names the daemon of an
# implicit-TLS endpoint (smtps, imaps, pop3s) however late its greeting
# comes within the greeting's half of --timeout, and reports a server
# that completes the TLS handshake but does not greet.
#
# Seen for real: under load a stock Dovecot (one login process per
# connection) greeted imaps/pop3s clients later than the 100 ms check
# listened after the handshake (the greeting was only heard at the
# goodbye), and check named no daemon for that line (t_check_bound failed
# once in CI). Real servers made to greet late, each by its own means:
#   - Dovecot: a login process greets only once its auth process has
#     answered; the test holds the auth process of its own private
#     Dovecot (SIGSTOP, then SIGCONT, by PID: a child of the master this
#     test started, never another process): the TLS handshake completes at
#     once, the greeting waits. The SIGCONT comes from a recorded helper
#     (bg_start); should the test end before it, the exit trap stops the
#     helper and resumes the auth process before the daemons are stopped;
#   - Exim: a connect ACL with `delay` (an admin's greet pause) runs after
#     the TLS-on-connect handshake and before the banner; its length is
#     read from a file, so no reload between the cases.
# Cases:
#   idle:   imaps, pop3s (Dovecot) and smtps (Exim) named;
#   late:   Dovecot's auth held 1 s after check starts, Exim's delay 1 s:
#           the same report as idle (the check took >= 1 s, so the
#           greetings really were late);
#   silent: Exim's delay 5 s, --timeout 2 (1 s for the greeting): an
#           "unreachable" critical finding first says no greeting came
#           after the handshake, the chain is still checked (the other
#           findings are the idle ones by code and severity; their advice
#           names no daemon), exit 3.
# Needs root (the daemons); skipped (77) without, a failure under CI=true.

. "$MC_TESTS_DIR/integration/lib.sh"
# shellcheck source=tests/integration/mail.sh
. "$MC_TESTS_DIR/integration/mail.sh"
# shellcheck source=tests/integration/checkmail.sh
. "$MC_TESTS_DIR/integration/checkmail.sh"
mail_init
require_cmd python3

mail_certs "$TEST_TMP/pki0" mail.test 127.0.0.1
dovecot_start "$TEST_TMP/dovecot" "$MAIL_FULLCHAIN" "$MAIL_KEY"
mkdir -p "$TEST_TMP/exim"
if ! cp "$MAIL_FULLCHAIN" "$TEST_TMP/exim/mail.crt" || ! cp "$MAIL_KEY" "$TEST_TMP/exim/mail.key" ||
	! chgrp Debian-exim "$TEST_TMP/exim/mail.key" || ! chmod 640 "$TEST_TMP/exim/mail.key"; then
	fail "cannot copy the key for Exim"
fi
exim_start "$TEST_TMP/exim" "$TEST_TMP/exim/mail.crt" "$TEST_TMP/exim/mail.key"
DELAY=$TEST_TMP/exim/greet.delay
echo 0s >"$DELAY" && chmod 644 "$DELAY"
exim_set "s|^smtp_banner = .*|smtp_banner = \$primary_hostname ESMTP Exim \$version_number|
s|^acl_smtp_rcpt = acl_check_rcpt|&\nacl_smtp_connect = acl_greet|
s|^begin acl|&\n\nacl_greet:\n  accept delay = \${readfile{$DELAY}{}}|"
dovecot_greets || fail "Dovecot's imaps never greeted" "$DOVECOT_LOG"
URLS=("imaps://127.0.0.1:$DOVECOT_PORT_IMAPS" "pop3s://127.0.0.1:$DOVECOT_PORT_POP3S"
	"smtps://127.0.0.1:$EXIM_PORT_SMTPS")

# auth_pid - the pid of our Dovecot's auth process (a child of the master
# this test started, argv "<instance>/auth").
auth_pid() {
	local child
	for child in $(mail_children "$DOVECOT_PID"); do
		if tr '\0' '\n' <"/proc/$child/cmdline" 2>/dev/null | head -n 1 | grep -q '/auth$'; then
			echo "$child"
			return 0
		fi
	done
	return 1
}
AUTH=$(auth_pid) || fail "no auth process under Dovecot's master $DOVECOT_PID" "$DOVECOT_LOG"
log "Dovecot's auth process: pid $AUTH"

# auth_resume - stop the helper that would resume the auth process
# (HOLD), then resume it ourselves: by PID, while it still is the auth
# process of our Dovecot.
auth_resume() {
	[ -z "${HOLD:-}" ] || bg_stop "$HOLD"
	HOLD=
	[ "$(auth_pid)" != "$AUTH" ] || kill -CONT "$AUTH" 2>/dev/null
	return 0
}

# greet_exit - EXIT trap: the auth process is never left stopped (the
# test may end while it is held), then the mail harness's trap.
greet_exit() {
	local rc=$?
	[ "$BASHPID" = "$MAIL_SHELL" ] || exit "$rc"
	auth_resume
	(exit "$rc")
	mail_exit_trap
}
trap greet_exit EXIT

# check_run - OUT TIMEOUT URL...: check the URLs (JSON); the exit code in
# RC, the wall time in MS, a summary in OUT.sum.
check_run() {
	local out=$1 secs=$2 t0
	shift 2
	t0=$(date +%s%N)
	timeout -k 5 60 "$MAILCERT" check --json --trust-bundle "$MAIL_CA_CERT" \
		--servername mail.test --timeout "$secs" --no-fetch --parallel 4 \
		"$@" >"$TEST_TMP/$out.json" 2>"$TEST_TMP/$out.err" </dev/null
	RC=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
	python3 - "$TEST_TMP/$out.json" >"$TEST_TMP/$out.sum" <<'EOF' ||
import json, sys
for e in json.load(open(sys.argv[1]))["endpoints"]:
    print(e["url"], "server=" + e["server"], e["outcome"], e["worst"],
          "chains=%d" % len(e["chains"]), "greeting=" + e["greeting"][:4])
    for f in e["findings"]:
        print("  ", f["code"], f["label"], f["severity"], f["chain"], f["text"])
EOF
		fail "$out: no JSON" "$TEST_TMP/$out.json" "$TEST_TMP/$out.err"
	log "$out: exit $RC after $MS ms"
}

check_run idle 10 "${URLS[@]}"
for want in "imaps:// server=dovecot .*greeting=\* OK" "pop3s:// server=dovecot .*greeting=+OK " \
	"smtps:// server=exim .*greeting=220 "; do
	grep -q "^${want%%//*}//[^ ]* ${want#* }" "$TEST_TMP/idle.sum" ||
		fail "idle: no line '$want'" "$TEST_TMP/idle.sum" "$TEST_TMP/idle.err"
done
IDLE_RC=$RC

# late: every greeting ~1 s after its handshake.
echo 1s >"$DELAY"
kill -STOP "$AUTH" || fail "cannot stop pid $AUTH"
bg_start "auth resumer" "$TEST_TMP/resume.log" python3 -c \
	'import os, signal, sys, time; time.sleep(1); os.kill(int(sys.argv[1]), signal.SIGCONT)' "$AUTH"
HOLD=$BG_PID
check_run late 10 "${URLS[@]}"
wait "$HOLD" || fail "the helper did not resume Dovecot's auth process (pid $AUTH)" "$TEST_TMP/resume.log"
HOLD=
auth_resume
echo 0s >"$DELAY"
diff "$TEST_TMP/idle.sum" "$TEST_TMP/late.sum" >"$TEST_TMP/late.diff" ||
	fail "late greetings: the report differs from the idle one" "$TEST_TMP/late.diff"
[ "$RC" = "$IDLE_RC" ] || fail "late greetings: exit $RC, idle $IDLE_RC" "$TEST_TMP/late.err"
# the holds must have delayed the greetings, else this tested nothing
[ "$MS" -ge 900 ] || fail "late greetings: check took $MS ms: the greetings were not late"
log "ok: greetings ~1 s late: every daemon named, the idle report ($MS ms)"

# silent: no greeting within the greeting's 1 s (of --timeout 2).
echo 5s >"$DELAY"
check_run silent 2 "smtps://127.0.0.1:$EXIM_PORT_SMTPS"
echo 0s >"$DELAY"
python3 - "$TEST_TMP/idle.sum" "$TEST_TMP/silent.sum" >"$TEST_TMP/silent.diff" 2>&1 <<'EOF' ||
import re, sys
def blocks(path):
    out = {}
    for line in open(path).read().split("\n"):
        if line.startswith("   "):
            out[head][1].append(line.split(" ")[3:6])  # code, label, severity
            out[head][2].append(line)
        elif line:
            head = line.split(" ")[0]
            out[head] = (line.split(" "), [], [])
    return out
idle, silent = blocks(sys.argv[1]), blocks(sys.argv[2])
bad = [] if len(silent) == 1 else ["not one endpoint"]
for url, (sh, scodes, stexts) in silent.items():
    ih, icodes, _ = idle[url]
    want = [url, "server=", "ok", "critical", ih[4], "greeting="]
    if sh != want:
        bad.append("header: %s, want %s" % (" ".join(sh), " ".join(want)))
    first = (r"   unreachable unreachable critical None %s: no greeting within "
             r"1000 ms after the TLS handshake: a mail client cannot go on "
             r"without it \(it gives up\)" % re.escape(url))
    if not stexts or not re.match(first, stexts[0]):
        bad.append("first finding %r" % stexts[:1])
    if scodes[1:] != icodes:
        bad.append("the other findings: %s, idle %s" % (scodes[1:], icodes))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
	fail "silent server: not the idle report plus one unreachable finding first" \
		"$TEST_TMP/silent.diff" "$TEST_TMP/silent.sum"
[ "$RC" = 3 ] || fail "silent server: exit $RC, want 3 (a critical finding)" "$TEST_TMP/silent.err"
log "ok: a server that does not greet: unreachable (critical) first, chain still checked, exit 3"

# Dovecot works again once its auth process runs.
dovecot_greets || fail "Dovecot's imaps does not greet after the test" "$DOVECOT_LOG"
