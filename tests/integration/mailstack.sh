# shellcheck shell=bash disable=SC2034
#
# mailstack.sh - Postfix, Dovecot and Exim started on a throw-away
# certificate at the very paths mailcert deploys to, plus the [target]
# sections and endpoint URLs a mailcert config needs for them. Used by the
# deploy tests, the demo and bench/verify.sh. Source lib.sh first.
#
#   mailstack_start NAME   start the three daemons; files under
#                          $TEST_TMP/tls/{postfix,dovecot,exim}/NAME.*
#   mailstack_targets [POSTFIX_RELOAD [DOVECOT_RELOAD [EXIM_RELOAD]]]
#                          print [target postfix|dovecot|exim] sections
#                          (an empty argument keeps the daemon's reload)
#   mailstack_loaded DAEMON
#                          ask DAEMON (postfix, dovecot, exim) which key and
#                          certificate files its configuration names (postconf,
#                          doveconf, exim -bP), read them as it would on its
#                          next start or reload, and print "ok SHA" (SHA: the
#                          leaf's SHA-256) when the key matches the leaf, else
#                          "mismatch ..." or "unreadable ..." (returns 1)
# Sets MAILSTACK_TLS and MAILSTACK_URLS (all ten STARTTLS and implicit-TLS
# endpoints, space separated).

# shellcheck source=mail.sh
. "$(dirname "${BASH_SOURCE[0]}")/mail.sh"

# mailstack_start - the three daemons on a boot certificate for NAME's paths.
mailstack_start() {
	local name=$1 t
	MAILSTACK_TLS=$TEST_TMP/tls
	for t in postfix dovecot exim; do mkdir -p "$MAILSTACK_TLS/$t"; done
	chgrp Debian-exim "$MAILSTACK_TLS/exim" && chmod 750 "$MAILSTACK_TLS/exim"
	mail_certs "$TEST_TMP/boot" boot.example.test
	t=$MAILSTACK_TLS
	mail_replace "$MAIL_COMBINED" "$t/postfix/$name.pem"
	mail_replace "$MAIL_FULLCHAIN" "$t/dovecot/$name.crt"
	mail_replace "$MAIL_KEY" "$t/dovecot/$name.key"
	mail_replace "$MAIL_FULLCHAIN" "$t/exim/$name.crt"
	mail_replace "$MAIL_KEY" "$t/exim/$name.key"
	chgrp Debian-exim "$t/exim/$name.key" && chmod 640 "$t/exim/$name.key"
	postfix_start "$TEST_TMP/postfix" "$t/postfix/$name.pem"
	dovecot_start "$TEST_TMP/dovecot" "$t/dovecot/$name.crt" "$t/dovecot/$name.key"
	exim_start "$TEST_TMP/exim" "$t/exim/$name.crt" "$t/exim/$name.key"
	MAILSTACK_URLS="smtp://127.0.0.1:$POSTFIX_PORT_SMTP submission://127.0.0.1:$POSTFIX_PORT_SUB smtps://127.0.0.1:$POSTFIX_PORT_SMTPS imap://127.0.0.1:$DOVECOT_PORT_IMAP imaps://127.0.0.1:$DOVECOT_PORT_IMAPS pop3://127.0.0.1:$DOVECOT_PORT_POP3 pop3s://127.0.0.1:$DOVECOT_PORT_POP3S sieve://127.0.0.1:$DOVECOT_PORT_SIEVE smtp://127.0.0.1:$EXIM_PORT_SMTP smtps://127.0.0.1:$EXIM_PORT_SMTPS"
}

# mailstack_targets - the [target] sections for the three daemons.
mailstack_targets() {
	local t=$MAILSTACK_TLS
	printf '%s\n' "[target postfix]" "chain_file = $t/postfix/%n.pem" \
		"reload = ${1:-$POSTFIX_RELOAD}" ""
	printf '%s\n' "[target dovecot]" "cert_file = $t/dovecot/%n.crt" \
		"key_file = $t/dovecot/%n.key" "reload = ${2:-$DOVECOT_RELOAD}" ""
	printf '%s\n' "[target exim]" "cert_file = $t/exim/%n.crt" \
		"key_file = $t/exim/%n.key" "reload = ${3:-$EXIM_RELOAD}" ""
}

# mailstack_files - "CERTFILE KEYFILE" that DAEMON's configuration names
# (the key file is the certificate file when the key is in it).
mailstack_files() {
	local cert key
	case $1 in
	postfix)
		cert=$(postconf -c "$POSTFIX_DIR/etc" -h smtpd_tls_chain_files | tr ', ' '\n\n' | sed -n '/./{p;q}')
		key=$cert ;;
	dovecot)
		cert=$(doveconf -c "$DOVECOT_CONF" -h ssl_cert)
		key=$(doveconf -c "$DOVECOT_CONF" -h ssl_key)
		cert=${cert#<} key=${key#<} ;;
	exim)
		cert=$("$MAIL_EXIM_BIN" -C "$EXIM_CONF" -bP -n tls_certificate 2>/dev/null)
		key=$("$MAIL_EXIM_BIN" -C "$EXIM_CONF" -bP -n tls_privatekey 2>/dev/null)
		[ -n "$key" ] || key=$cert ;;
	*) mail_fail "mailstack_files: unknown daemon $1" ;;
	esac
	printf '%s %s\n' "$cert" "$key"
}

# mailstack_loaded - the pair DAEMON would load now (see the header).
mailstack_loaded() {
	local cert key kpub cpub
	read -r cert key < <(mailstack_files "$1")
	kpub=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | sha256sum | cut -c1-64)
	cpub=$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null |
		openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -c1-64)
	# sha256 of empty input: the file had no key or no certificate
	if [ "$kpub" = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ] ||
		[ "$cpub" = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ]; then
		echo "unreadable $cert $key"
		return 1
	fi
	if [ "$kpub" != "$cpub" ]; then
		echo "mismatch key $key (spki ${kpub:0:12}) vs cert $cert (spki ${cpub:0:12})"
		return 1
	fi
	echo "ok $(mail_cert_sha256 "$cert")"
}
