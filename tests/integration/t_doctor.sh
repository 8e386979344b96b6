#!/bin/bash
# t_doctor - `mailcert doctor` on a host laid out as Debian leaves it:
# private Postfix (smtpd_tls_cert_file/key_file on a snakeoil-like
# certificate), Dovecot (ssl_cert = <snakeoil) and Exim (tls_certificate =
# snakeoil) on 127.0.0.1 high ports - never the system's own daemons.
# doctor names the exact lines to add to each daemon's configuration (exit
# 1) and changes nothing; the lines it printed, applied verbatim, make it
# clean (exit 0) once the files exist. Also: a taken http_listen port, a
# hook that is not executable, a config error (exit 2), --json.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=mail.sh
. "$(dirname "$0")/mail.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (the daemons drop privileges)"
pebble_start

# The Debian layout: every daemon on the snakeoil-like certificate.
mail_certs "$TEST_TMP/snakeoil" snakeoil.example.test
SNAKE_CERT=$MAIL_CERT SNAKE_KEY=$MAIL_KEY
postfix_start "$TEST_TMP/postfix" "$MAIL_COMBINED"
postconf -c "$POSTFIX_DIR/etc" -X smtpd_tls_chain_files
postconf -c "$POSTFIX_DIR/etc" -e "smtpd_tls_cert_file = $SNAKE_CERT" \
	"smtpd_tls_key_file = $SNAKE_KEY"
postfix_reload
dovecot_start "$TEST_TMP/dovecot" "$SNAKE_CERT" "$SNAKE_KEY"
exim_start "$TEST_TMP/exim" "$SNAKE_CERT" "$SNAKE_KEY"

TLS=$TEST_TMP/tls
mkdir -p "$TLS/postfix" "$TLS/dovecot" "$TLS/exim"
chgrp Debian-exim "$TLS/exim" && chmod 750 "$TLS/exim"
URLS="smtp://127.0.0.1:$POSTFIX_PORT_SMTP submission://127.0.0.1:$POSTFIX_PORT_SUB smtps://127.0.0.1:$POSTFIX_PORT_SMTPS imap://127.0.0.1:$DOVECOT_PORT_IMAP imaps://127.0.0.1:$DOVECOT_PORT_IMAPS pop3s://127.0.0.1:$DOVECOT_PORT_POP3S smtp://127.0.0.1:$EXIM_PORT_SMTP smtps://127.0.0.1:$EXIM_PORT_SMTPS"

# config - the mailcert config; extra lines go into [cert mail].
config() {
	{
		conf_global
		conf_cert mail "mail.example.test" "targets = postfix dovecot exim" \
			"verify = $URLS" "verify_timeout = 30s" "$@"
		printf '%s\n' "[target postfix]" "config = $POSTFIX_DIR/etc" \
			"chain_file = $TLS/postfix/%n.pem" "reload = $POSTFIX_RELOAD" ""
		printf '%s\n' "[target dovecot]" "config = $DOVECOT_CONF" \
			"cert_file = $TLS/dovecot/%n.crt" "key_file = $TLS/dovecot/%n.key" \
			"reload = $DOVECOT_RELOAD" ""
		printf '%s\n' "[target exim]" "config = $EXIM_CONF" \
			"cert_file = $TLS/exim/%n.crt" "key_file = $TLS/exim/%n.key" \
			"reload = $EXIM_RELOAD" ""
	} >"$MC_CONF"
}

# tree_sum - checksum of the daemons' configuration and the state (doctor changes nothing).
tree_sum() {
	find "$POSTFIX_DIR/etc" "$DOVECOT_CONF" "$EXIM_CONF" "$TLS" "$MC_STATE" \
		-printf '%p %m %s %T@\n' 2>/dev/null | sort | sha256sum
	cat "$POSTFIX_DIR/etc/main.cf" "$DOVECOT_CONF" "$EXIM_CONF" | sha256sum
}

# fix_line PATTERN - the configuration line doctor printed that starts with PATTERN.
fix_line() {
	sed -n "s/^ *\($1 = .*\)$/\1/p" "$MC_OUT" | head -n 1
}

config

# 1. Errors of use: exit 2.
mc_run doctor nosuch
assert_exit 2 "unknown cert"
assert_contains "$MC_ERR" "no [cert nosuch]"
printf '[cert broken]\nnames = a.example.test\nkey_type = dsa\n' >"$TEST_TMP/bad.conf"
timeout 30 "$MAILCERT" -c "$TEST_TMP/bad.conf" doctor >"$TEST_TMP/bad.out" 2>&1
[ $? = 2 ] || fail "a config error must exit 2" "$TEST_TMP/bad.out"
grep -qF "bad.conf:3: key_type" "$TEST_TMP/bad.out" || fail "no file:line in the config error" "$TEST_TMP/bad.out"

# 2. The Debian layout: the exact lines, exit 1, nothing changed.
before=$(tree_sum)
mc_run doctor
assert_exit 1 "doctor on the Debian layout"
assert_contains "$MC_OUT" "add to $POSTFIX_DIR/etc/main.cf:"
assert_contains "$MC_OUT" "    smtpd_tls_chain_files = $TLS/postfix/mail.pem"
assert_contains "$MC_OUT" "it reads smtpd_tls_cert_file = $SNAKE_CERT, smtpd_tls_key_file = $SNAKE_KEY"
assert_contains "$MC_OUT" "add to $DOVECOT_CONF:"
assert_contains "$MC_OUT" "    ssl_cert = <$TLS/dovecot/mail.crt"
assert_contains "$MC_OUT" "    ssl_key = <$TLS/dovecot/mail.key"
assert_contains "$MC_OUT" "add to $EXIM_CONF:"
assert_contains "$MC_OUT" "    tls_certificate = $TLS/exim/mail.crt"
assert_contains "$MC_OUT" "    tls_privatekey = $TLS/exim/mail.key"
assert_contains "$MC_OUT" "Postfix runs (pid $POSTFIX_PID)"
assert_contains "$MC_OUT" "Dovecot runs (pid $DOVECOT_PID)"
assert_contains "$MC_OUT" "Exim runs (pid $EXIM_PID)"
assert_contains "$MC_OUT" "first write the files"
assert_contains "$MC_OUT" "127.0.0.1:$HTTP01_PORT can be bound"
assert_contains "$MC_OUT" "3 problems found"
assert_eq "$(tree_sum)" "$before" "doctor changed files"
[ ! -e "$MC_STATE" ] || fail "doctor created the state directory"

mc_run --json doctor
assert_exit 1 "doctor --json"
python3 - "$MC_OUT" <<'EOF' || fail "doctor --json" "$MC_OUT"
import json, sys
r = json.load(open(sys.argv[1]))
bad = [i for i in r["items"] if i["level"] == "problem"]
assert r["problems"] == 3 == len(bad), r["problems"]
assert sorted(i["subject"] for i in bad) == ["target dovecot", "target exim", "target postfix"], bad
assert all(i["check"] == "daemon-config" and "add to" in i["fix"] for i in bad), bad
EOF

# 3. A taken http_listen port and a hook that cannot run are problems.
free_port BUSY
bg_start busy "$TEST_TMP/busy.log" python3 -c "import socket,time
s=socket.socket(); s.bind(('127.0.0.1', $BUSY)); s.listen(1); time.sleep(120)"
BUSY_PID=$BG_PID
wait_listening "$BUSY" "$BUSY_PID" "the port holder" "$TEST_TMP/busy.log"
mkdir -p "$TEST_TMP/hooks/deploy.d"
printf '#!/bin/sh\nexit 0\n' >"$TEST_TMP/hooks/deploy.d/10-notify"
chmod 0644 "$TEST_TMP/hooks/deploy.d/10-notify"
config "http_listen = 127.0.0.1:$BUSY"
sed -i "s/^http_listen = 127.0.0.1:$HTTP01_PORT\$//" "$MC_CONF"
mc_run doctor mail
assert_exit 1
assert_contains "$MC_OUT" "http_listen: http_listen: cannot bind 127.0.0.1:$BUSY: Address already in use"
assert_contains "$MC_OUT" "set \`webroot =\` to its document root"
assert_contains "$MC_OUT" "$TEST_TMP/hooks/deploy.d/10-notify is not an executable file"
bg_stop "$BUSY_PID"
chmod 0755 "$TEST_TMP/hooks/deploy.d/10-notify"
config

# 4. The first issue writes the files (the daemons still read snakeoil).
mc_run issue mail
assert_file "$TLS/postfix/mail.pem"
assert_file "$TLS/dovecot/mail.crt"
assert_file "$TLS/exim/mail.key"
mc_run doctor
assert_exit 1 "the lines are not applied yet"
assert_not_contains "$MC_OUT" "first write the files"

# 5. Apply exactly the lines doctor printed, reload: doctor is clean.
pf=$(fix_line smtpd_tls_chain_files)
dc1=$(fix_line ssl_cert) dc2=$(fix_line ssl_key)
ex1=$(fix_line tls_certificate) ex2=$(fix_line tls_privatekey)
[ -n "$pf" ] && [ -n "$dc1" ] && [ -n "$dc2" ] && [ -n "$ex1" ] && [ -n "$ex2" ] ||
	fail "doctor did not print every line" "$MC_OUT"
postconf -c "$POSTFIX_DIR/etc" -e "$pf"
printf '%s\n' "$dc1" "$dc2" >>"$DOVECOT_CONF"
sed -i -e '/^tls_certificate =/d' -e '/^tls_privatekey =/d' "$EXIM_CONF"
sed -i "/^tls_advertise_hosts/a $ex1\n$ex2" "$EXIM_CONF"
postfix_reload
dovecot_reload
exim_reload
mc_run doctor
assert_exit 0 "doctor after the lines were applied"
assert_contains "$MC_OUT" "Postfix reads mailcert's files (smtpd_tls_chain_files = $TLS/postfix/mail.pem"
assert_contains "$MC_OUT" "Dovecot reads mailcert's files (ssl_cert = <$TLS/dovecot/mail.crt"
assert_contains "$MC_OUT" "Exim reads mailcert's files (tls_certificate = $TLS/exim/mail.crt"
assert_contains "$MC_OUT" "no problems found"

# 6. Deployed and verified: every endpoint serves the current version.
mc_run issue mail
assert_exit 0 "issue once the daemons read mailcert's files"
mc_run doctor mail
assert_exit 0
[ "$(grep -c 'serves the current version' "$MC_OUT")" = 8 ] ||
	fail "every endpoint must serve the current version" "$MC_OUT"
assert_contains "$MC_OUT" "privkey.pem has mode 0600"

# 7. A daemon that stops is a problem.
dovecot_stop
mc_run doctor mail
assert_exit 1 "dovecot stopped"
assert_contains "$MC_OUT" "Dovecot does not run"
