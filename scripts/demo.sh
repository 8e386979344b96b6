#!/bin/bash
#
# demo.sh - the README quick start: install what is missing, build, start a
# local Pebble ACME server (with pebble-challtestsrv as its DNS) on
# 127.0.0.1 and real Postfix, Dovecot and Exim on loopback high ports;
# issue a certificate for a few mail names by http-01 with mailcert's
# built-in responder, deploy it to the three daemons, reload them, verify
# every endpoint live, and show `mailcert status`.
#
# Everything lives in a temp dir (state_dir included) and every process is
# stopped by PID at the end; KEEP=1 keeps the temp dir to look around.
# SKIP_SETUP=1 skips the package check, SKIP_BUILD=1 the build.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}

if [ "${SKIP_SETUP:-0}" != 1 ]; then
	bash "$ROOT/scripts/setup.sh" || exit 1
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
	BUILD_DIR=$BUILD_DIR bash "$ROOT/scripts/build.sh" || exit 1
fi

export MAILCERT=$BUILD_DIR/mailcert MC_TESTS_DIR=$ROOT/tests
# The integration-test harness starts and stops Pebble for us.
# shellcheck source=SCRIPTDIR/../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

# shellcheck source=SCRIPTDIR/../tests/integration/mailstack.sh
. "$ROOT/tests/integration/mailstack.sh"

# shellcheck disable=SC2119
pebble_start
pebble_fetch_roots

# Real Postfix, Dovecot and Exim on 127.0.0.1 high ports, started on a
# throw-away certificate at the paths mailcert will write.
mailstack_start demo

NAMES="mail.example.test imap.example.test smtp.example.test"
{
	conf_global
	conf_cert demo "$NAMES" "challenge = http-01" \
		"targets = postfix dovecot exim" \
		"verify = smtp://127.0.0.1:$POSTFIX_PORT_SMTP submission://127.0.0.1:$POSTFIX_PORT_SUB smtps://127.0.0.1:$POSTFIX_PORT_SMTPS imap://127.0.0.1:$DOVECOT_PORT_IMAP imaps://127.0.0.1:$DOVECOT_PORT_IMAPS pop3s://127.0.0.1:$DOVECOT_PORT_POP3S smtp://127.0.0.1:$EXIM_PORT_SMTP smtps://127.0.0.1:$EXIM_PORT_SMTPS"
	mailstack_targets
} >"$MC_CONF"

echo
echo "== config ($MC_CONF)"
cat "$MC_CONF"
echo "== mailcert -c $MC_CONF issue demo   (order, store, deploy, reload, verify)"
"$MAILCERT" -c "$MC_CONF" issue demo || fail "mailcert issue failed"
echo
echo "== mailcert -c $MC_CONF verify demo"
"$MAILCERT" -c "$MC_CONF" verify demo || fail "mailcert verify failed"
echo
echo "== mailcert -c $MC_CONF status"
"$MAILCERT" -c "$MC_CONF" status || fail "mailcert status failed"
echo
cur=$(cert_dir demo)/current
echo "== $cur -> $(readlink "$cur")"
ls -l "$cur/"
openssl x509 -in "$cur/cert.pem" -noout -subject -issuer -enddate -ext subjectAltName
openssl verify -CAfile "$PEBBLE_ROOT" -untrusted "$cur/chain.pem" "$cur/cert.pem" ||
	fail "the chain does not verify against Pebble's root"
echo
echo "demo: done (Pebble, challtestsrv, Postfix, Dovecot and Exim are stopped on exit)"
