#!/bin/bash
# t_mail_harness - the mail harness (mail.sh) itself: real Postfix, Dovecot
# and Exim start on loopback with a generated cert; every TLS endpoint serves
# it; the files are replaced (temp + rename, as mailcert does); what each
# endpoint serves BEFORE the reload is compared with what we know of the
# daemon (see EXPECT_BEFORE); after each daemon's reload command every
# endpoint serves the new cert; at the end no process the test started is
# left. Needs root and scripts/setup-mail.sh; does not need mailcert.
# shellcheck source=mail.sh
. "$(dirname "$0")/mail.sh"

T0=$SECONDS
mail_init
T=$MAIL_TMP

# Endpoints: label daemon port-variable probe-mode.
ENDPOINTS=(
	"postfix-smtp postfix POSTFIX_PORT_SMTP smtp"
	"postfix-submission postfix POSTFIX_PORT_SUB submission"
	"postfix-smtps postfix POSTFIX_PORT_SMTPS smtps"
	"dovecot-imap dovecot DOVECOT_PORT_IMAP imap"
	"dovecot-imaps dovecot DOVECOT_PORT_IMAPS imaps"
	"dovecot-pop3 dovecot DOVECOT_PORT_POP3 pop3"
	"dovecot-pop3s dovecot DOVECOT_PORT_POP3S pop3s"
	"dovecot-sieve dovecot DOVECOT_PORT_SIEVE sieve"
	"exim-smtp exim EXIM_PORT_SMTP smtp"
	"exim-smtps exim EXIM_PORT_SMTPS smtps"
)

# What a daemon serves after its files were replaced but before its reload,
# for an endpoint that was already probed once (old = still the old cert).
# Observed with Postfix 3.7.11, Dovecot 2.3.19.1, Exim 4.96 (GnuTLS), Debian 12.
declare -A EXPECT_BEFORE=(
	[postfix]=old # an idle smtpd keeps the chain it loaded at process start
	[dovecot]=old # the config process read the files at start
	[exim]=old    # the daemon preloads them; its file watch reloads ~5 s later
)

# The probe itself can fail: a closed port and a wrong dialog give nothing.
mail_free_port CLOSED_PORT
if mail_served_sha256 127.0.0.1 "$CLOSED_PORT" tls >"$T/closed.out"; then
	mail_fail "mail_served_sha256 succeeded on a closed port" "$T/closed.out"
fi
[ ! -s "$T/closed.out" ] || mail_fail "mail_served_sha256 printed something for a closed port"

# Two leaves from one CA; the daemons read copies under live/.
mail_certs "$T/c1" mail.example.test 127.0.0.1
SHA1=$MAIL_CERT_SHA256
MAIL_CA_DIR=$T/c1 mail_certs "$T/c2" mail.example.test 127.0.0.1
SHA2=$MAIL_CERT_SHA256
[ "$SHA1" != "$SHA2" ] || mail_fail "the two test certificates are the same"
mkdir -p "$T/live"

# install_version - copy cert set DIR to the files the daemons read (temp + rename).
install_version() {
	mail_replace "$1/combined.pem" "$T/live/postfix.pem"
	mail_replace "$1/fullchain.pem" "$T/live/dovecot.crt"
	mail_replace "$1/key.pem" "$T/live/dovecot.key"
	mail_replace "$1/fullchain.pem" "$T/live/exim.crt"
	mail_replace "$1/key.pem" "$T/live/exim.key"
}
install_version "$T/c1"

t=$SECONDS
postfix_start "$T/postfix" "$T/live/postfix.pem"
dovecot_start "$T/dovecot" "$T/live/dovecot.crt" "$T/live/dovecot.key"
exim_start "$T/exim" "$T/live/exim.crt" "$T/live/exim.key"
mail_log "all three started in $((SECONDS - t)) s"
MASTERS=("$POSTFIX_PID" "$DOVECOT_PID" "$EXIM_PID")

# served_on - print the fingerprint served by ENDPOINT-ROW (optional SNI).
served_on() {
	local label daemon var mode
	read -r label daemon var mode <<<"$1"
	mail_served_sha256 127.0.0.1 "${!var}" "$mode" "${2:-}"
}

# 1. The first cert everywhere, with and without SNI.
for row in "${ENDPOINTS[@]}"; do
	label=${row%% *}
	got=$(served_on "$row")
	[ "$got" = "$SHA1" ] || mail_fail "$label serves '${got:-nothing}', expected the first cert $SHA1" \
		"$POSTFIX_LOG" "$DOVECOT_LOG" "$EXIM_DIR/log/paniclog"
	got=$(served_on "$row" mail.example.test)
	[ "$got" = "$SHA1" ] || mail_fail "$label (SNI mail.example.test) serves '${got:-nothing}'"
done
mail_log "every endpoint serves the first cert"

# A STARTTLS dialog against an implicit-TLS port must not yield a cert.
if got=$(MAIL_PROBE_TIMEOUT=1 mail_served_sha256 127.0.0.1 "$DOVECOT_PORT_IMAPS" imap) &&
	[ -n "$got" ]; then
	mail_fail "an IMAP STARTTLS probe of the imaps port returned a certificate"
fi

# 2. Replace the files; record what is served before any reload. Exim
# first: its file watch switches to the new files by itself ~4-5 s after
# the rename, and the ten probes took longer than that under CI's load
# (Exim then served the new cert "before reload"). Past 3 s after the
# rename, Exim serving the new cert is that watch, logged and let through.
install_version "$T/c2"
renamed=$EPOCHREALTIME
sleep 0.2
EXIM_FIRST=()
for row in "${ENDPOINTS[@]}"; do [[ $row == *" exim "* ]] && EXIM_FIRST+=("$row"); done
for row in "${ENDPOINTS[@]}"; do [[ $row == *" exim "* ]] || EXIM_FIRST+=("$row"); done
for row in "${EXIM_FIRST[@]}"; do
	read -r label daemon _ <<<"$row"
	got=$(served_on "$row")
	case $got in
	"$SHA1") state=old ;;
	"$SHA2") state=new ;;
	*) state="other(${got:-nothing})" ;;
	esac
	since=$(awk -v a="$renamed" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	mail_log "before reload: $label serves the $state cert (${since} s after the rename)"
	if [ "$daemon:$state" = exim:new ] && awk -v s="$since" 'BEGIN { exit !(s > 3) }'; then
		mail_log "Exim's file watch took the new files by itself, ${since} s after the rename"
		continue
	fi
	[ "$state" = "${EXPECT_BEFORE[$daemon]}" ] ||
		mail_fail "before reload $label serves the $state cert ${since} s after the rename, expected ${EXPECT_BEFORE[$daemon]}"
done

# 3. Reload each daemon with its reload command (argv, no shell, as mailcert runs it).
# Exim serving the new cert afterwards proves nothing when its file watch
# already took the files in step 2 (past 3 s, likely on a loaded machine):
# its re-exec must show in its log ("daemon started" once more).
EXIM_STARTS=$(mail_log_count "$EXIM_LOG" ' daemon started: pid=')
for cmd in "$POSTFIX_RELOAD" "$DOVECOT_RELOAD" "$EXIM_RELOAD"; do
	read -r -a argv <<<"$cmd"
	"${argv[@]}" >"$T/reload.out" 2>&1 || mail_fail "reload '$cmd' failed" "$T/reload.out"
done
t=$SECONDS
for row in "${ENDPOINTS[@]}"; do
	read -r label _ var mode <<<"$row"
	start=$EPOCHREALTIME
	mail_wait_served 127.0.0.1 "${!var}" "$mode" "$SHA2" 10 ||
		mail_fail "$label does not serve the new cert 10 s after the reload" \
			"$POSTFIX_LOG" "$DOVECOT_LOG" "$EXIM_LOG" "$EXIM_DIR/log/paniclog"
	waited=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	mail_log "after reload: $label serves the new cert (after ${waited} s, probe $MAIL_WAIT_TRIES)"
	got=$(served_on "$row" mail.example.test)
	[ "$got" = "$SHA2" ] || mail_fail "$label (SNI) serves '${got:-nothing}' after the reload"
done

mail_wait_log "$EXIM_LOG" ' daemon started: pid=' "$EXIM_STARTS" 30 ||
	mail_fail "'$EXIM_RELOAD' did not make Exim re-exec (no new 'daemon started' line)" "$EXIM_LOG"

# The masters survived their reload (same pids).
for pid in "${MASTERS[@]}"; do
	kill -0 "$pid" 2>/dev/null || mail_fail "master pid $pid is gone after the reload"
done

# 4. Exim also picks up a renamed file without a reload: its daemon watches
# the files (inotify) and reloads its preloaded credentials some seconds
# after a change. Until then it serves the old cert.
mail_replace "$T/c1/fullchain.pem" "$T/live/exim.crt"
mail_replace "$T/c1/key.pem" "$T/live/exim.key"
start=$EPOCHREALTIME
got=$(mail_served_sha256 127.0.0.1 "$EXIM_PORT_SMTP" smtp)
[ "$got" = "$SHA2" ] || mail_fail "exim switched at once to '${got:-nothing}' without a reload"
mail_wait_served 127.0.0.1 "$EXIM_PORT_SMTP" smtp "$SHA1" 15 ||
	mail_fail "exim did not pick up the renamed files by itself within 15 s" "$EXIM_LOG"
waited=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
mail_log "exim, no reload: serves the new cert after ${waited} s (file watch, probe $MAIL_WAIT_TRIES)"
got=$(mail_served_sha256 127.0.0.1 "$EXIM_PORT_SMTPS" smtps)
[ "$got" = "$SHA1" ] || mail_fail "exim-smtps serves '${got:-nothing}' after the file watch reload"

# 5. A pid file this harness did not write names a process it did not start
#    (a stand-in for the host's own Dovecot, Postfix or Exim): the stop
#    functions leave that process alone, registered directory or not.
sleep 300 &
FOREIGN=$!
mkdir -p "$MAIL_TMP/foreign/run" "$MAIL_TMP/foreign/queue/pid"
echo "$FOREIGN" >"$MAIL_TMP/foreign/run/master.pid"
echo "$FOREIGN" >"$MAIL_TMP/foreign/exim.pid"
echo "$FOREIGN" >"$MAIL_TMP/foreign/queue/pid/master.pid"
dovecot_stop "$MAIL_TMP/foreign" 2>/dev/null
exim_stop "$MAIL_TMP/foreign" 2>/dev/null
postfix_stop "$MAIL_TMP/foreign" 2>/dev/null
cp "$DOVECOT_DIR/run/master.pid" "$MAIL_TMP/dovecot-master.pid"
echo "$FOREIGN" >"$DOVECOT_DIR/run/master.pid" # our instance, a foreign pid
dovecot_stop_begin "$DOVECOT_DIR" 2>/dev/null
MAIL_INSTANCES+=("dovecot:$DOVECOT_DIR")
cp "$MAIL_TMP/dovecot-master.pid" "$DOVECOT_DIR/run/master.pid"
kill -0 "$FOREIGN" 2>/dev/null || mail_fail "a stop function signalled pid $FOREIGN, which the harness did not start"
kill "$FOREIGN" 2>/dev/null
wait "$FOREIGN" 2>/dev/null
mail_log "a pid the harness did not start is never signalled"

# 6. Stop everything; nothing the test started may remain.
t=$SECONDS
mail_stop_all
mail_log "all stopped in $((SECONDS - t)) s (${#MAIL_STARTED_PIDS[@]} pids seen)"
# (the masters are among them; a recorded pid now used by a process
# started later is another's)
for i in "${!MAIL_STARTED_PIDS[@]}"; do
	pid=${MAIL_STARTED_PIDS[i]}
	if mc_proc_runs "$pid:${MAIL_STARTED_STARTS[i]}"; then
		mail_fail "pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) is still running"
	fi
done
for row in "${ENDPOINTS[@]}"; do
	read -r label _ var _ <<<"$row"
	if port_listens "${!var}"; then
		mail_fail "$label port ${!var} still listens after the stop"
	fi
done
mail_log "PASS in $((SECONDS - T0)) s"
