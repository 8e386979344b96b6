#!/bin/bash
# bench/check_mail.sh - `mailcert check` beside testssl.sh on the real-daemon
# cases of t_check_mail.sh: private Postfix, Dovecot and Exim on loopback
# (tests/integration/mail.sh) with Debian's stock TLS settings, dual RSA +
# ECDSA certificates with the RSA one expired, intermediates revoked on a
# CRL and at an OCSP responder (tests/integration/pkihttp.py), a
# misordered chain, a CN-only leaf, an IDN name, a Dovecot that cannot load
# its key, and imap:// pointed at an imaps port.
#
# For each case both tools run once on the same endpoint (testssl.sh takes
# about a minute each, so this is not part of CI): mailcert check --json,
# and testssl.sh -S -p -s --phone-out with --jsonfile. The table shows
# mailcert's findings (code:severity; "nt" = not tested; ok remarks left
# out) and exit status, and testssl.sh's findings of severity LOW and up
# (its ids, <cert#N> kept), with each tool's wall time.
#
# Usage (root: the daemons drop privileges; testssl.sh is installed with
# apt-get when missing):
#   MAILCERT=/path/to/mailcert bench/check_mail.sh
# KEEP=1 keeps the temp dir with every tool's output (TEST_TMP/out/).
# Every process started here is stopped by PID (lib.sh and mail.sh).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export MAILCERT=${MAILCERT:-$ROOT/build/mailcert} MC_TESTS_DIR=$ROOT/tests

# shellcheck source=../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
# shellcheck source=../tests/integration/mail.sh
. "$ROOT/tests/integration/mail.sh"
# shellcheck source=../tests/integration/checkmail.sh
. "$ROOT/tests/integration/checkmail.sh"

ROWS=()

# install_testssl - apt-get testssl.sh when it is missing.
install_testssl() {
	command -v testssl >/dev/null 2>&1 && return 0
	log "installing testssl.sh"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
		install -y --no-install-recommends testssl.sh \
		>"$TEST_TMP/apt.log" 2>&1 || fail "apt-get install testssl.sh" "$TEST_TMP/apt.log"
}

# mc_summary - OUT: mailcert's findings (check_summary's second line).
mc_summary() {
	local all
	all=$(check_summary "$1" 2>/dev/null) || {
		echo "?"
		return
	}
	all=${all#*$'\n'}
	all=${all%%$'\n'*}
	echo "${all:--}"
}

# ts_summary - OUT: testssl.sh's findings of severity LOW and up.
ts_summary() {
	python3 - "$1" <<'EOF' 2>/dev/null || echo "?"
import json, sys
skip = {"engine_problem", "cipherlist_AVERAGE", "sessionresumption_ticket",
        "sessionresumption_ID", "DNS_CAArecord"}
out = []
for f in json.load(open(sys.argv[1])):
    if f["severity"] in ("INFO", "OK", "DEBUG") or f["id"] in skip:
        continue
    if f["id"].startswith("cert_notAfter"):
        continue  # the same as cert_expirationStatus
    out.append("%s:%s" % (f["id"].replace(" <cert#", "#").rstrip(">"), f["severity"]))
print(" ".join(out) or "-")
EOF
}

# ts_mode - URL: testssl.sh's -t protocol for a STARTTLS scheme, or "".
ts_mode() {
	case $1 in
	smtp://* | submission://*) echo smtp ;;
	imap://*) echo imap ;;
	pop3://*) echo pop3 ;;
	sieve://*) echo sieve ;;
	*) echo "" ;;
	esac
}

# run_case - LABEL URL NAME [mailcert args...]: both tools, one table row.
run_case() {
	local label=$1 url=$2 name=$3 out port mode t0 mc_ms ts_ms rc
	local -a st=()
	shift 3
	out=$TEST_TMP/out/${label//[^A-Za-z0-9]/_}
	port=${url##*:}
	mode=$(ts_mode "$url")
	[ -z "$mode" ] || st=(-t "$mode")
	t0=$(date +%s%N)
	timeout -k 5 120 "$MAILCERT" check --json --trust-bundle "$PKI/root.pem" \
		--servername "$name" "$@" "$url" >"$out.mc.json" 2>&1 </dev/null
	rc=$?
	mc_ms=$((($(date +%s%N) - t0) / 1000000))
	t0=$(date +%s%N)
	timeout -k 5 600 testssl --quiet --color 0 --warnings off -n none \
		--ip 127.0.0.1 --add-ca "$PKI/root.pem" -S -p -s --phone-out \
		"${st[@]}" --jsonfile "$out.ts.json" "$name:$port" \
		>"$out.ts.txt" 2>&1 </dev/null
	ts_ms=$((($(date +%s%N) - t0) / 1000000))
	ROWS+=("$label|$(mc_summary "$out.mc.json") (exit $rc)|$mc_ms|$(ts_summary "$out.ts.json")|$ts_ms")
	log "$label: mailcert ${mc_ms} ms, testssl.sh ${ts_ms} ms"
}

# postfix_rows - stock Postfix on 25 and 587, dual, misordered.
postfix_rows() {
	# shellcheck disable=SC2016 # Postfix expands it (Debian's main.cf)
	MAIL_POSTFIX_BANNER='$myhostname ESMTP $mail_name (Debian/GNU)' \
		postfix_start "$TEST_TMP/postfix" "$PKI/ec.chain"
	run_case "Postfix stock :25 (mx)" "smtp://127.0.0.1:$POSTFIX_PORT_SMTP" \
		mail.test --profile mx
	run_case "Postfix stock :587" "submission://127.0.0.1:$POSTFIX_PORT_SUB" mail.test
	postfix_reconfigure "smtpd_tls_chain_files = $PKI/ec.chain, $PKI/rsaold.chain"
	run_case "Postfix dual, RSA expired" "smtp://127.0.0.1:$POSTFIX_PORT_SMTP" \
		mail.test --profile mx
	postfix_reconfigure "smtpd_tls_chain_files = $PKI/misorder.chain"
	run_case "Postfix misordered chain" "smtps://127.0.0.1:$POSTFIX_PORT_SMTPS" mail.test
	postfix_stop
}

# exim_rows - stock Exim (GnuTLS) on 25 and 465, dual, IDN.
exim_rows() {
	exim_start "$TEST_TMP/exim" "$PKI/ec.full" "$PKI/ec.key"
	exim_set 's/^smtp_banner.*//'
	run_case "Exim stock :25 (mx)" "smtp://127.0.0.1:$EXIM_PORT_SMTP" mail.test --profile mx
	run_case "Exim stock :465" "smtps://127.0.0.1:$EXIM_PORT_SMTPS" mail.test
	exim_set "s|^tls_certificate = .*|tls_certificate = $PKI/ec.full : $PKI/rsaold.full|;
		s|^tls_privatekey = .*|tls_privatekey = $PKI/ec.key : $PKI/rsaold.key|"
	run_case "Exim dual, RSA expired" "smtps://127.0.0.1:$EXIM_PORT_SMTPS" mail.test
	exim_set "s|^tls_certificate = .*|tls_certificate = $PKI/idn.full|;
		s|^tls_privatekey = .*|tls_privatekey = $PKI/idn.key|"
	run_case "Exim IDN (U-label name)" "smtps://127.0.0.1:$EXIM_PORT_SMTPS" bücher.mail.test
	exim_stop
}

# dovecot_rows - dual, revoked intermediates, CN-only, broken key, imap on imaps.
dovecot_rows() {
	local imaps
	dovecot_start "$TEST_TMP/dovecot" "$PKI/ec.full" "$PKI/ec.key"
	imaps=imaps://127.0.0.1:$DOVECOT_PORT_IMAPS
	printf 'ssl_alt_cert = <%s\nssl_alt_key = <%s\n' "$PKI/rsaold.full" \
		"$PKI/rsaold.key" >>"$DOVECOT_CONF"
	dovecot_set
	run_case "Dovecot dual, RSA expired" "$imaps" mail.test
	sed -i '/^ssl_alt_/d' "$DOVECOT_CONF"
	dovecot_keys "$PKI/revleaf.full" "$PKI/revleaf.key"
	run_case "Intermediate revoked (CRL)" "$imaps" mail.test
	dovecot_keys "$PKI/ocspleaf.full" "$PKI/ocspleaf.key"
	run_case "Intermediate revoked (OCSP)" "$imaps" mail.test
	dovecot_keys "$PKI/cnonly.full" "$PKI/cnonly.key"
	run_case "CN-only leaf" "$imaps" mail.test
	dovecot_keys "$PKI/ec.full" "$PKI/broken.key"
	run_case "Dovecot cannot load its key" "imap://127.0.0.1:$DOVECOT_PORT_IMAP" mail.test
	dovecot_keys "$PKI/ec.full" "$PKI/ec.key"
	run_case "imap:// on the imaps port" "imap://127.0.0.1:$DOVECOT_PORT_IMAPS" mail.test
	dovecot_stop
}

# main - the cases, then the table.
main() {
	local row
	mail_init
	install_testssl
	require_cmd testssl python3 openssl
	mkdir -p "$TEST_TMP/out"
	pki_make
	postfix_rows
	exim_rows
	dovecot_rows
	printf '\nmailcert check %s vs testssl.sh %s (-S -p -s --phone-out), one run each\n' \
		"$("$MAILCERT" --version | cut -d' ' -f2)" \
		"$(dpkg-query -W -f '${Version}' testssl.sh 2>/dev/null)"
	printf 'case | mailcert findings (exit) | ms | testssl.sh findings (LOW and up) | ms\n'
	for row in "${ROWS[@]}"; do printf '%s\n' "$row"; done
}

main "$@"
