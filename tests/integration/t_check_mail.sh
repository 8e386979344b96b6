#!/bin/bash
# shellcheck disable=SC2154
#
# t_check_mail.sh - `mailcert check` against real Postfix, Dovecot and Exim
# (tests/integration/mail.sh: private instances on 127.0.0.1 high ports).
#
# Each case is a failure seen for real with Debian's stock TLS settings:
#   - Postfix and Exim as Debian ships them (Postfix: smtpd_tls_security_
#     level = may, TLS 1.0/1.1 and anonymous suites allowed, the Debian
#     banner; Exim: GnuTLS defaults, its own banner): on the MX port only
#     warnings (--profile mx, exit 0), for submission/smtps warnings too,
#     --profile strict critical (exit 3); the advice names the daemon the
#     banner names and no other;
#   - dual RSA + ECDSA certificates with the RSA one expired: Postfix
#     (smtpd_tls_chain_files with two files), Dovecot (ssl_alt_cert) and
#     Exim (a tls_certificate list): both chains are reported and the
#     expired one is found, whichever one the default ClientHello gets;
#   - a misordered Postfix chain file; a CN-only leaf on Dovecot; an IDN
#     name on Exim (GnuTLS refuses a U-label SNI: the A-label is sent);
#   - on Dovecot, a good leaf under an intermediate the root revoked, once
#     on its CRL and once at its OCSP responder (pkihttp.py);
#   - a Dovecot that cannot load its key: its BYE/-ERR after the STARTTLS
#     go-ahead is quoted; imap:// pointed at its imaps port gets a hint;
#   - -c with trust_bundle; --file on a Postfix chain file with two keys.
# Needs root (the daemons drop privileges); skipped (77) without, a
# failure under CI=true.

. "$MC_TESTS_DIR/integration/lib.sh"
# shellcheck source=tests/integration/mail.sh
. "$MC_TESTS_DIR/integration/mail.sh"
# shellcheck source=tests/integration/checkmail.sh
. "$MC_TESTS_DIR/integration/checkmail.sh"
mail_init

# check_json - ARGS...: mailcert check --json with the test root; MC_RC, MC_OUT.
check_json() {
	MC_OUT=$TEST_TMP/check.out
	timeout -k 5 60 "$MAILCERT" check --json --trust-bundle "$PKI/root.pem" \
		--timeout 5 "$@" >"$MC_OUT" 2>"$TEST_TMP/check.err" </dev/null
	MC_RC=$?
}

# expect - LABEL WANT_SUMMARY WANT_EXIT [MUST_SAY [MUST_NOT_SAY]].
expect() {
	local all server got
	all=$(check_summary "$MC_OUT") || fail "$1: no JSON" "$MC_OUT" "$TEST_TMP/check.err"
	server=${all%%$'\n'*}
	all=${all#*$'\n'}
	got="$server ${all%%$'\n'*}"
	got=${got% }
	TEXTS=${all#*$'\n'}
	[ "$got" = "$2" ] || fail "$1: got [$got], want [$2]" "$MC_OUT"
	[ "$MC_RC" = "$3" ] || fail "$1: exit $MC_RC, want $3" "$MC_OUT"
	[ -z "${4:-}" ] || grep -qF -- "$4" <<<"$TEXTS" || fail "$1: nothing says '$4'" "$MC_OUT"
	[ -z "${5:-}" ] || ! grep -qF -- "$5" <<<"$TEXTS" || fail "$1: says '$5'" "$MC_OUT"
	log "ok: $1 -> [$got] exit $MC_RC"
}

W2="weak-protocol:warning weak-protocol:warning"
C2="weak-protocol:critical weak-protocol:critical"

# postfix_cases - stock Debian Postfix on 25/587/465, then dual, misorder.
postfix_cases() {
	local smtp sub smtps conf=$TEST_TMP/check.conf
	# shellcheck disable=SC2016 # Postfix expands it (Debian's main.cf)
	MAIL_POSTFIX_BANNER='$myhostname ESMTP $mail_name (Debian/GNU)' \
		postfix_start "$TEST_TMP/postfix" "$PKI/ec.chain"
	smtp=smtp://127.0.0.1:$POSTFIX_PORT_SMTP sub=submission://127.0.0.1:$POSTFIX_PORT_SUB
	smtps=smtps://127.0.0.1:$POSTFIX_PORT_SMTPS
	check_json "$smtp" --servername mail.test --profile mx
	expect "Postfix stock, MX port, --profile mx" \
		"postfix weak-cipher:warning $W2" 0 \
		"very unlikely that you need to exclude anonymous ciphers" "Exim"
	check_json "$smtp" --servername mail.test --profile strict
	expect "Postfix stock, MX port, --profile strict" \
		"postfix weak-cipher:critical $C2" 3
	check_json "$sub" --servername mail.test
	expect "Postfix stock, submission (default profile)" \
		"postfix weak-cipher:warning $W2" 0 "smtpd_tls_mandatory_protocols" "Dovecot"
	check_json "$smtps" --servername mail.test
	expect "Postfix stock, smtps (default profile)" \
		"postfix weak-cipher:warning $W2" 0 "add aNULL to smtpd_tls_exclude_ciphers"
	timeout -k 5 60 "$MAILCERT" check --nagios --trust-bundle "$PKI/root.pem" \
		--servername mail.test --profile mx "$smtp" >"$TEST_TMP/nagios.out" 2>&1
	assert_eq "$?" 1 "Postfix MX --nagios: exit (WARNING)"
	grep -q '^MAILCERT WARNING - 1 endpoint: weak-protocol' "$TEST_TMP/nagios.out" ||
		fail "Postfix MX --nagios line" "$TEST_TMP/nagios.out"
	printf '[global]\ntrust_bundle = %s\n' "$PKI/root.pem" >"$conf"
	timeout -k 5 60 "$MAILCERT" -c "$conf" check --json --servername mail.test \
		--profile mx "$smtp" >"$MC_OUT" 2>&1 </dev/null
	MC_RC=$?
	expect "Postfix, -c with trust_bundle (no --trust-bundle)" \
		"postfix weak-cipher:warning $W2" 0
	postfix_dual "$smtp"
	postfix_reconfigure "smtpd_tls_chain_files = $PKI/misorder.chain"
	check_json "$smtps" --servername mail.test
	expect "Postfix, misordered chain file" \
		"postfix chain-order:warning weak-cipher:warning $W2" 0 \
		"\"mailcert mail Test Intermediate\" (#3), \"mailcert mail Test Root\" (#2)"
}

# postfix_dual - SMTP_URL: two chain files, the RSA one expired; --file.
postfix_dual() {
	local both=$TEST_TMP/both.pem
	postfix_reconfigure "smtpd_tls_chain_files = $PKI/ec.chain, $PKI/rsaold.chain"
	check_json "$1" --servername mail.test --profile mx
	expect "Postfix dual ECDSA + expired RSA (smtpd_tls_chain_files)" \
		"postfix expired@RSA 2048:critical weak-cipher:warning $W2" 3
	python3 -c 'import json,sys
e=json.load(open(sys.argv[1]))["endpoints"][0]
c=e["chains"]
assert [x["key"] for x in c] == ["EC P-256", "RSA 2048"], c
assert c[0]["probes"] == ["any", "ecdsa"] and c[1]["probes"] == ["rsa"], c
assert c[1]["worst"] == "critical" and c[0]["worst"] == "ok", c' "$MC_OUT" ||
		fail "Postfix dual: chains" "$MC_OUT"
	cat "$PKI/ec.chain" "$PKI/rsaold.chain" >"$both"
	chmod 0600 "$both"
	check_json --file "$both" --servername mail.test
	expect "--file on a chain file with an ECDSA and an RSA key" \
		"- expired@RSA 2048:critical" 3
}

# exim_cases - stock Exim (GnuTLS) on 25 and 465, dual, IDN.
exim_cases() {
	local smtp smtps
	exim_start "$TEST_TMP/exim" "$PKI/ec.full" "$PKI/ec.key"
	exim_set 's/^smtp_banner.*//' # Exim's own banner, as shipped
	smtp=smtp://127.0.0.1:$EXIM_PORT_SMTP smtps=smtps://127.0.0.1:$EXIM_PORT_SMTPS
	check_json "$smtp" --servername mail.test --profile mx
	expect "Exim stock (GnuTLS), MX port, --profile mx" "exim $W2" 0 \
		"tls_require_ciphers = NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1" \
		"smtpd_"
	check_json "$smtps" --servername mail.test
	expect "Exim stock (GnuTLS), smtps (default profile)" "exim $W2" 0
	check_json "$smtps" --servername mail.test --profile strict
	expect "Exim stock (GnuTLS), smtps, --profile strict" "exim $C2" 3
	exim_set "s|^tls_certificate = .*|tls_certificate = $PKI/ec.full : $PKI/rsaold.full|;
		s|^tls_privatekey = .*|tls_privatekey = $PKI/ec.key : $PKI/rsaold.key|"
	check_json "$smtps" --servername mail.test
	expect "Exim dual ECDSA + expired RSA (tls_certificate list)" \
		"exim expired@RSA 2048:critical $W2" 3
	exim_set "s|^tls_certificate = .*|tls_certificate = $PKI/idn.full|;
		s|^tls_privatekey = .*|tls_privatekey = $PKI/idn.key|"
	check_json "$smtps" --servername bücher.mail.test
	expect "Exim, IDN name given as U-label" "exim $W2" 0
	check_json "$smtps" --servername xn--bcher-kva.mail.test
	expect "Exim, IDN name given as A-label" "exim $W2" 0
}

# dovecot_cases - dual, CN-only, a key it cannot load, imap:// on imaps.
dovecot_cases() {
	local imap imaps pop3
	dovecot_start "$TEST_TMP/dovecot" "$PKI/ec.full" "$PKI/ec.key"
	imap=imap://127.0.0.1:$DOVECOT_PORT_IMAP imaps=imaps://127.0.0.1:$DOVECOT_PORT_IMAPS
	pop3=pop3://127.0.0.1:$DOVECOT_PORT_POP3
	printf 'ssl_alt_cert = <%s\nssl_alt_key = <%s\n' "$PKI/rsaold.full" \
		"$PKI/rsaold.key" >>"$DOVECOT_CONF"
	dovecot_set
	check_json "$imap" --servername mail.test
	expect "Dovecot dual ECDSA + expired RSA (ssl_alt_cert), STARTTLS" \
		"dovecot expired@RSA 2048:critical" 3
	check_json "$imaps" --servername mail.test
	expect "Dovecot dual ECDSA + expired RSA (ssl_alt_cert), imaps" \
		"dovecot expired@RSA 2048:critical" 3
	sed -i '/^ssl_alt_/d' "$DOVECOT_CONF"
	dovecot_keys "$PKI/revleaf.full" "$PKI/revleaf.key"
	check_json "$imaps" --servername mail.test
	expect "Dovecot, intermediate revoked on the root's CRL" \
		"dovecot revoked:critical" 3 \
		"The intermediate \"mailcert mail Revoked Intermediate\" was revoked"
	dovecot_keys "$PKI/ocspleaf.full" "$PKI/ocspleaf.key"
	check_json "$imaps" --servername mail.test
	expect "Dovecot, intermediate revoked at the root's OCSP responder" \
		"dovecot revoked:critical" 3 \
		"The intermediate \"mailcert mail OCSP-revoked Intermediate\" was revoked"
	dovecot_keys "$PKI/cnonly.full" "$PKI/cnonly.key"
	check_json "$imaps" --servername mail.test
	expect "Dovecot, CN-only leaf" "dovecot name-mismatch:critical" 3 \
		"has no subjectAltName, only the subject CN \"mail.test\""
	dovecot_keys "$PKI/ec.full" "$PKI/broken.key" nowait
	check_json "$imap" --servername mail.test
	expect "Dovecot cannot load its key: IMAP" "dovecot unreachable:critical" 3 \
		"\"* BYE [UNAVAILABLE] TLS initialization failed.\""
	grep -qF "check ssl_cert and ssl_key" <<<"$TEXTS" || fail "Dovecot advice" "$MC_OUT"
	check_json "$pop3" --servername mail.test
	expect "Dovecot cannot load its key: POP3" "dovecot unreachable:critical" 3 \
		"\"-ERR [SYS/TEMP] TLS initialization failed.\""
	dovecot_keys "$PKI/ec.full" "$PKI/ec.key"
	check_json "imap://127.0.0.1:$DOVECOT_PORT_IMAPS" --timeout 4
	expect "imap:// pointed at Dovecot's imaps port" "- unreachable:critical" 3 \
		"answers TLS at once (implicit TLS): use imaps://127.0.0.1:$DOVECOT_PORT_IMAPS"
}

pki_make
postfix_cases
exim_cases
dovecot_cases
