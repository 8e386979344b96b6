#!/bin/bash
# t_deploy_crash - kill -9 of `mailcert deploy` at many points (a loop over
# delays): afterwards every daemon still completes a TLS handshake (so the
# certificate it serves matches its key), and the next `mailcert deploy`
# converges: every endpoint serves the current version again.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=mailstack.sh
. "$(dirname "$0")/mailstack.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (the daemons drop privileges)"
pebble_start
mailstack_start mail
TLS=$MAILSTACK_TLS

EPS=("$POSTFIX_PORT_SMTP smtp" "$POSTFIX_PORT_SMTPS smtps" "$DOVECOT_PORT_IMAP imap"
	"$DOVECOT_PORT_POP3S pop3s" "$EXIM_PORT_SMTP smtp" "$EXIM_PORT_SMTPS smtps")
urls="smtp://127.0.0.1:$POSTFIX_PORT_SMTP smtps://127.0.0.1:$POSTFIX_PORT_SMTPS imap://127.0.0.1:$DOVECOT_PORT_IMAP pop3s://127.0.0.1:$DOVECOT_PORT_POP3S smtp://127.0.0.1:$EXIM_PORT_SMTP smtps://127.0.0.1:$EXIM_PORT_SMTPS"
{
	conf_global
	conf_cert mail "mail.example.test" "targets = postfix dovecot exim" \
		"verify = $urls" "verify_timeout = 10s"
	mailstack_targets
} >"$MC_CONF"

mc_run issue mail
assert_exit 0 "first issue"
mc_run issue mail
assert_exit 0 "second issue"

# handshake_ok PORT MODE - a full TLS handshake succeeds (retrying up to
# 10 s while a daemon restarts after a reload it was sent).
handshake_ok() {
	local port=$1 mode=$2 proto out end=$((SECONDS + 10))
	proto=$(mail_starttls_arg "$mode")
	while :; do
		out=$(timeout -k 1 5 openssl s_client -connect "127.0.0.1:$port" \
			${proto:+-starttls "$proto"} -servername mail.example.test </dev/null 2>&1)
		if grep -q 'Cipher is ' <<<"$out" && ! grep -q 'Cipher is (NONE)' <<<"$out"; then
			return 0
		fi
		[ "$SECONDS" -lt "$end" ] || { printf '%s\n' "$out" >"$TEST_TMP/handshake.err"; return 1; }
		sleep 0.2
	done
}

cur=$MC_STATE/certs/mail/current
for delay in 0 0.005 0.01 0.02 0.03 0.05 0.07 0.1 0.13 0.16 0.2 0.25 0.3 0.4 0.5; do
	# Alternate between the two versions so every deploy changes the files.
	if [ "$(readlink "$cur")" = versions/0002 ]; then next=0001; else next=0002; fi
	ln -sfn "versions/$next" "$cur.tmp" && mv -T "$cur.tmp" "$cur"
	"$MAILCERT" -q -c "$MC_CONF" deploy mail >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for e in "${EPS[@]}"; do
		read -r port mode <<<"$e"
		handshake_ok "$port" "$mode" ||
			fail "after kill -9 at ${delay}s: $mode on port $port fails the TLS handshake" \
				"$TEST_TMP/handshake.err"
	done
	ls "$TLS"/*/.mail.* >/dev/null 2>&1 && rm -f "$TLS"/*/.mail.* # temp files of the killed run
	mc_run deploy mail
	assert_exit 0 "deploy after kill -9 at ${delay}s converges"
	want=$(mail_cert_sha256 "$cur/cert.pem")
	for e in "${EPS[@]}"; do
		read -r port mode <<<"$e"
		got=$(mail_served_sha256 127.0.0.1 "$port" "$mode" mail.example.test)
		[ "$got" = "$want" ] || fail "after kill -9 at ${delay}s and a deploy: $mode on $port serves ${got:-nothing}"
	done
done
log "ok"
