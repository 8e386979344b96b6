#!/bin/bash
# t_first_run - the first run on a host laid out as Debian leaves it
# (issue 9): a private Postfix on a snakeoil-like certificate
# (smtpd_tls_cert_file/key_file, no smtpd_tls_chain_files) and a private
# Dovecot on its own default certificate, on 127.0.0.1 high ports - never
# the system's daemons. The targets name each daemon's `config` and no
# `reload`: the default reload must use that config (postfix -c DIR,
# doveadm -c FILE).
#   1. doctor names the exact lines (exit 1);
#   2. the first issue writes the files and reports each daemon "not yet
#      configured" with those lines (exit 3): no rollback, no "ROLLBACK
#      FAILED", the daemons untouched (still serving their own
#      certificates), the version stored and current, pending in status;
#   3. deploy and renew before the lines are applied order nothing and
#      still say what to add;
#   4. after the lines are applied (by the admin, with a reload), deploy
#      verifies the stored version live, without a new order;
#   5. Pebble's log shows exactly one order.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=mail.sh
. "$(dirname "$0")/mail.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (the daemons drop privileges)"
pebble_start

# The Debian layout: Postfix on snakeoil, Dovecot on its own certificate.
mail_certs "$TEST_TMP/snakeoil" snakeoil.example.test
SNAKE_CERT=$MAIL_CERT SNAKE_KEY=$MAIL_KEY SNAKE_SHA=$MAIL_CERT_SHA256
postfix_start "$TEST_TMP/postfix" "$MAIL_COMBINED"
postconf -c "$POSTFIX_DIR/etc" -X smtpd_tls_chain_files
postconf -c "$POSTFIX_DIR/etc" -e "smtpd_tls_cert_file = $SNAKE_CERT" \
	"smtpd_tls_key_file = $SNAKE_KEY"
postfix_reload
mail_certs "$TEST_TMP/dovecot-default" dovecot.example.test
DC_SHA=$MAIL_CERT_SHA256
dovecot_start "$TEST_TMP/dovecot" "$MAIL_CERT" "$MAIL_KEY"

TLS=$TEST_TMP/tls
mkdir -p "$TLS/postfix" "$TLS/dovecot"
URLS="smtp://127.0.0.1:$POSTFIX_PORT_SMTP smtps://127.0.0.1:$POSTFIX_PORT_SMTPS imaps://127.0.0.1:$DOVECOT_PORT_IMAPS pop3s://127.0.0.1:$DOVECOT_PORT_POP3S"
{
	conf_global
	conf_cert mail "mail.example.test" "targets = postfix dovecot" \
		"verify = $URLS" "verify_timeout = 30s"
	printf '%s\n' "[target postfix]" "config = $POSTFIX_DIR/etc" \
		"chain_file = $TLS/postfix/%n.pem" ""
	printf '%s\n' "[target dovecot]" "config = $DOVECOT_CONF" \
		"cert_file = $TLS/dovecot/%n.crt" "key_file = $TLS/dovecot/%n.key" ""
} >"$MC_CONF"

# orders - how many orders Pebble has taken.
orders() {
	grep -c 'Added order' "$TEST_TMP/pebble.log"
}

# serves PORT MODE SHA - the endpoint serves the leaf with SHA.
serves() {
	assert_eq "$(mail_served_sha256 127.0.0.1 "$1" "$2")" "$3" "127.0.0.1:$1 ($2)"
}

# prom_pending N - status --prometheus parses and says N pending targets.
prom_pending() {
	mc_run status --prometheus
	assert_exit 0 "status --prometheus"
	/usr/bin/python3 - "$MC_OUT" "$1" <<'EOF' || fail "mailcert_pending_targets is not $1" "$MC_OUT"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
s = fams["mailcert_pending_targets"].samples
assert [(x.labels["cert"], x.value) for x in s] == [("mail", float(sys.argv[2]))], s
EOF
}

PF_LINE="smtpd_tls_chain_files = $TLS/postfix/mail.pem"
DC_LINE1="ssl_cert = <$TLS/dovecot/mail.crt"
DC_LINE2="ssl_key = <$TLS/dovecot/mail.key"

# 1. doctor: the exact lines.
mc_run doctor
assert_exit 1 "doctor on the Debian layout"
assert_contains "$MC_OUT" "add to $POSTFIX_DIR/etc/main.cf:"
assert_contains "$MC_OUT" "    $PF_LINE"
assert_contains "$MC_OUT" "add to $DOVECOT_CONF:"
assert_contains "$MC_OUT" "    $DC_LINE1"
assert_contains "$MC_OUT" "    $DC_LINE2"

# 2. The first issue: files written, "not yet configured" with the lines.
mc_run issue mail
assert_exit 3 "the first issue on the Debian layout"
assert_not_contains "$MC_ERR" "ROLLBACK FAILED"
assert_not_contains "$MC_OUT" "rolled back"
for f in "$MC_ERR" "$MC_OUT"; do
	assert_contains "$f" "not yet configured"
	assert_contains "$f" "$PF_LINE"
	assert_contains "$f" "$DC_LINE1"
	assert_contains "$f" "$DC_LINE2"
	assert_contains "$f" "mailcert deploy mail"
done
assert_contains "$MC_OUT" "add to $POSTFIX_DIR/etc/main.cf:"
assert_contains "$MC_OUT" "add to $DOVECOT_CONF:"
assert_file "$TLS/postfix/mail.pem"
assert_file "$TLS/dovecot/mail.crt"
assert_file "$TLS/dovecot/mail.key"
assert_symlink "$(cert_dir mail)/current" versions/0001
NEW_SHA=$(mail_cert_sha256 "$(cert_dir mail)/versions/0001/cert.pem")
assert_eq "$(mail_cert_sha256 "$TLS/postfix/mail.pem")" "$NEW_SHA" "postfix file holds 0001"
serves "$POSTFIX_PORT_SMTP" smtp "$SNAKE_SHA"
serves "$DOVECOT_PORT_IMAPS" imaps "$DC_SHA"
assert_eq "$(orders)" 1 "orders after the first issue"
grep -q 'reloading' "$MC_ERR" && fail "a daemon that does not read the files was reloaded" "$MC_ERR"
mc_run status
assert_exit 0
assert_contains "$MC_OUT" "pending"
assert_contains "$MC_OUT" "postfix"
mc_run --json status
python3 - "$MC_OUT" <<'EOF' || fail "status --json: pending targets" "$MC_OUT"
import json, sys
rows = json.load(open(sys.argv[1]))
rows = rows["certs"] if isinstance(rows, dict) else rows
p = rows[0]["pending"]
assert p["version"] == 1, p
assert sorted(t["target"] for t in p["targets"]) == ["dovecot", "postfix"], p
assert all(t["reason"] == "unconfigured" for t in p["targets"]), p
EOF
mc_run status --nagios
assert_exit 1 "nagios: pending targets are a warning"
assert_contains "$MC_OUT" "mail: WARNING: 2 targets pending (2 not yet configured, 0 down"
prom_pending 2


# 3. deploy and renew before the lines are applied: no order, the lines again.
mc_run deploy mail
assert_exit 3 "deploy before the lines are applied"
assert_contains "$MC_ERR" "$PF_LINE"
assert_not_contains "$MC_ERR" "ROLLBACK FAILED"
assert_not_contains "$MC_ERR" "no current certificate"
mc_run renew
assert_exit 3 "renew before the lines are applied"
assert_contains "$MC_ERR" "not yet configured"
assert_eq "$(orders)" 1 "orders before the lines are applied"

# 4. The admin applies the lines and reloads; deploy verifies 0001 live.
postconf -c "$POSTFIX_DIR/etc" -e "$PF_LINE"
printf '%s\n' "$DC_LINE1" "$DC_LINE2" >>"$DOVECOT_CONF"
postfix_reload
dovecot_reload
mc_run deploy mail
assert_exit 0 "deploy once the lines are applied"
assert_contains "$MC_OUT" "version 0001 deployed and verified live"
assert_not_contains "$MC_OUT" "not yet configured"
serves "$POSTFIX_PORT_SMTP" smtp "$NEW_SHA"
serves "$POSTFIX_PORT_SMTPS" smtps "$NEW_SHA"
serves "$DOVECOT_PORT_IMAPS" imaps "$NEW_SHA"
serves "$DOVECOT_PORT_POP3S" pop3s "$NEW_SHA"
assert_symlink "$(cert_dir mail)/current" versions/0001
mc_run --json status
python3 - "$MC_OUT" <<'EOF' || fail "status after the verified deploy" "$MC_OUT"
import json, sys
rows = json.load(open(sys.argv[1]))
rows = rows["certs"] if isinstance(rows, dict) else rows
assert "pending" not in rows[0], rows[0]
EOF
mc_run status --nagios
assert_exit 0 "nagios once nothing is pending"
prom_pending 0
mc_run renew
assert_exit 0 "renew: nothing due, nothing pending"

# 5. One order in all.
assert_eq "$(orders)" 1 "orders in the whole walk"
log "ok"
