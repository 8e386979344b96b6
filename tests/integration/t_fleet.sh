#!/bin/bash
# t_fleet - three mailcert hosts (A with its own Postfix, B with its own
# Dovecot, C with no daemon) share one certificate through a real
# three-member etcd cluster (https with client certificates):
#   1. A issues (http-01) while B's renew waits for the fleet lock; the CA
#      validates through B's responder (Pebble's http-01 port is B's
#      http_listen; A's is unreachable), so B answers A's token from etcd.
#   2. B (it waited) and C `renew`: not due, no order; every host serves
#      or holds the same serial (A and B verified live, C stored), and
#      `status` shows all nodes.
#   3. etcd holds no private key in the clear (every value scanned for
#      "PRIVATE KEY" and for the DER of every key, account key included).
#   4. `renew --force` on A and B at once: exactly one new order; every
#      host ends on the same new serial.
#   5. Convergence time: store write -> all three hosts verified.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=etcd.sh
. "$(dirname "$0")/etcd.sh"
# shellcheck source=fleet.sh
. "$(dirname "$0")/fleet.sh"
# shellcheck source=mail.sh
. "$(dirname "$0")/mail.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (the daemons drop privileges)"
pebble_start
etcd_start --tls
fleet_init

# Each host's daemon starts on a throw-away certificate at mailcert's paths.
mail_certs "$TEST_TMP/boot" boot.example.test
mkdir -p "$TEST_TMP/A/tls" "$TEST_TMP/B/tls"
mail_replace "$MAIL_COMBINED" "$TEST_TMP/A/tls/mail.pem"
mail_replace "$MAIL_FULLCHAIN" "$TEST_TMP/B/tls/mail.crt"
mail_replace "$MAIL_KEY" "$TEST_TMP/B/tls/mail.key"
postfix_start "$TEST_TMP/A/postfix" "$TEST_TMP/A/tls/mail.pem"
dovecot_start "$TEST_TMP/B/dovecot" "$TEST_TMP/B/tls/mail.crt" "$TEST_TMP/B/tls/mail.key"

free_port A_HTTP
free_port C_HTTP
FLEET_TARGETS=$(printf '%s\n' '[target postfix]' "chain_file = $TEST_TMP/A/tls/%n.pem" \
	"config = $POSTFIX_DIR/etc" "reload = $POSTFIX_RELOAD")
fleet_host A "$A_HTTP" 'targets = postfix' \
	"verify = smtp://127.0.0.1:$POSTFIX_PORT_SMTP" 'verify_timeout = 10s'
FLEET_TARGETS=$(printf '%s\n' '[target dovecot]' "cert_file = $TEST_TMP/B/tls/%n.crt" \
	"key_file = $TEST_TMP/B/tls/%n.key" "config = $DOVECOT_CONF" "reload = $DOVECOT_RELOAD")
fleet_host B "$HTTP01_PORT" 'targets = dovecot' \
	"verify = imaps://127.0.0.1:$DOVECOT_PORT_IMAPS" 'verify_timeout = 10s'
FLEET_TARGETS=
fleet_host C "$C_HTTP"

# served_serial PORT MODE - the serial (lower-case hex) the endpoint serves.
served_serial() {
	local sha pem=$TEST_TMP/served.pem args=()
	[ "$2" = smtp ] && args=(-starttls smtp)
	timeout 5 openssl s_client -connect "127.0.0.1:$1" "${args[@]}" \
		-servername mail.example.test </dev/null 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//' | tr 'A-F' 'a-f' |
		sed 's/^0*//'
}

# assert_all_serve SERIAL - A's Postfix, B's Dovecot and C's state hold it.
assert_all_serve() {
	local want=${1#0} got
	for h in A B C; do
		got=$(fleet_current_serial "$h" | sed 's/^0*//')
		assert_eq "$got" "$want" "current serial of host $h"
	done
	got=$(served_serial "$POSTFIX_PORT_SMTP" smtp)
	assert_eq "$got" "$want" "serial served by A's Postfix"
	got=$(served_serial "$DOVECOT_PORT_IMAPS" imaps)
	assert_eq "$got" "$want" "serial served by B's Dovecot"
}

# 1. A issues while B waits for the lock and answers http-01 for the fleet.
fleet_gate_hook A pre
fleet_bg A "$TEST_TMP/A-issue.log" -v issue mail
A_PID=$BG_PID
fleet_wait_file "$TEST_TMP/A.pre.in" 60 "$A_PID" "$TEST_TMP/A-issue.log"
[ -n "$(fleet_lock_holder)" ] || fail "A runs its pre hook without holding the fleet lock"
fleet_bg B "$TEST_TMP/B-renew.log" -v renew
B_PID=$BG_PID
wait_listening "$HTTP01_PORT" "$B_PID" "B's http-01 responder (B waits for the fleet lock)" "$TEST_TMP/B-renew.log"
port_listening "$A_HTTP" && fail "A's http_listen must be unreachable for this test"
touch "$TEST_TMP/A.pre.go"
wait "$A_PID" || fail "A's issue failed (exit $?)" "$TEST_TMP/A-issue.log" "$TEST_TMP/B-renew.log"
wait "$B_PID" || fail "B's renew failed (exit $?)" "$TEST_TMP/B-renew.log"
rm -f "$TEST_TMP/A/hooks/pre.d/10-gate"
assert_contains "$TEST_TMP/B-renew.log" "answering the fleet's http-01 challenges on 127.0.0.1:$HTTP01_PORT"
assert_contains "$TEST_TMP/B-renew.log" "version 0001 was stored by another host"
grep -q 'http-01 responder: GET request, answering 200' "$TEST_TMP/B-renew.log" ||
	fail "the CA's http-01 request did not reach B" "$TEST_TMP/B-renew.log"
assert_not_contains "$TEST_TMP/A-issue.log" "answering 200"
assert_eq "$(fleet_orders)" 1 "orders after A's issue"
assert_eq "$(fleet_shared_version)" 0001 "shared current"

# 2. C renews (not due): it takes version 0001, no order. Status: 3 nodes.
fleet_run C renew
assert_exit 0 "C renew"
assert_eq "$(fleet_orders)" 1 "orders after C's renew"
S1=$(fleet_current_serial A)
assert_all_serve "$S1"
fleet_run B renew
assert_exit 0 "B renew, in sync"
assert_eq "$(fleet_orders)" 1 "orders after B's second renew"
fleet_run A status
assert_exit 0 "status"
for hr in "A verified" "B verified" "C stored"; do
	grep -Eq "^mail +0001 +${hr% *} +0001 +0001 ${hr#* }" "$MC_OUT" ||
		fail "status does not show node ${hr% *} ${hr#* } on 0001" "$MC_OUT"
done
fleet_run C --json status
python3 - "$MC_OUT" <<'EOF' || fail "status --json lacks the fleet's nodes" "$MC_OUT"
import json, sys
row = json.load(open(sys.argv[1]))[0]
nodes = {n["node"]: n for n in row["fleet"]["nodes"]}
assert row["fleet"]["current"] == 1, row
assert sorted(nodes) == ["A", "B", "C"], nodes
assert all(n["live"] == 1 for n in nodes.values()), nodes
assert [nodes[h]["result"] for h in "ABC"] == ["verified", "verified", "stored"], nodes
EOF

# 3. No private key in the clear anywhere in etcd.
ACCOUNT_KEY=$(find "$TEST_TMP/A/state/accounts" -name account.key | head -1)
etcd_dump "$TEST_TMP/dump1"
etcd_scan_plaintext_keys "$TEST_TMP/dump1" "$TEST_TMP/A/state/certs/mail/current/privkey.pem" \
	"$ACCOUNT_KEY"
cmp -s "$ACCOUNT_KEY" "$(find "$TEST_TMP/B/state/accounts" -name account.key | head -1)" ||
	fail "B does not use the fleet's ACME account"

# 4. renew --force on A and B at once: one order, one new serial everywhere.
#    Whichever holds the lock waits 1 s in its pre hook, so the other one
#    is answering http-01 (B's responder serves Pebble's port either way).
for h in A B; do
	mkdir -p "$TEST_TMP/$h/hooks/pre.d"
	printf '#!/bin/sh\nsleep 1\n' >"$TEST_TMP/$h/hooks/pre.d/10-slow"
	chmod 755 "$TEST_TMP/$h/hooks/pre.d/10-slow"
done
fleet_bg A "$TEST_TMP/A-force.log" -v renew --force
A_PID=$BG_PID
fleet_bg B "$TEST_TMP/B-force.log" -v renew --force
B_PID=$BG_PID
wait "$A_PID" || fail "A's renew --force failed" "$TEST_TMP/A-force.log" "$TEST_TMP/B-force.log"
wait "$B_PID" || fail "B's renew --force failed" "$TEST_TMP/B-force.log" "$TEST_TMP/A-force.log"
assert_eq "$(fleet_orders)" 2 "orders after renew --force on A and B at once"
assert_eq "$(fleet_shared_version)" 0002 "shared current after the forced renewal"
t0=$(date +%s.%N)
fleet_run C sync
assert_exit 0 "C sync"
t1=$(date +%s.%N)
S2=$(fleet_current_serial A)
assert_ne "$S2" "$S1" "the forced renewal changed the serial"
assert_all_serve "$S2"
log "convergence: C's sync after the store write took $(echo "$t1 - $t0" | bc) s"

# 5. Convergence of 3 hosts: B issues (its responder is Pebble's http-01
#    port); the moment the new current appears in etcd, A (Postfix) and C
#    sync at once while B deploys and verifies it on its Dovecot. Measured:
#    from the store write (seen in etcd) to the last host verified.
rm -f "$TEST_TMP"/{A,B}/hooks/pre.d/10-slow
fleet_bg B "$TEST_TMP/B-issue3.log" issue mail
B_PID=$BG_PID
for ((n = 0; n < 600; n++)); do
	[ "$(fleet_shared_version)" = 0003 ] && break
	sleep 0.02
done
t0=$(date +%s.%N)
[ "$(fleet_shared_version)" = 0003 ] || fail "B did not store version 0003" "$TEST_TMP/B-issue3.log"
bg_start "mailcert A" "$TEST_TMP/A-sync.log" sh -c \
	'exec "$1" -c "$2" --json sync >"$3"' _ "$MAILCERT" "$TEST_TMP/A/mailcert.conf" \
	"$TEST_TMP/A-sync.json"
A_PID=$BG_PID
fleet_bg C "$TEST_TMP/C-sync.log" sync
C_PID=$BG_PID
wait "$A_PID" || fail "A sync" "$TEST_TMP/A-sync.log"
wait "$C_PID" || fail "C sync" "$TEST_TMP/C-sync.log"
wait "$B_PID" || fail "B issue" "$TEST_TMP/B-issue3.log"
t1=$(date +%s.%N)
assert_all_serve "$(fleet_current_serial B)"
python3 - "$TEST_TMP/A-sync.json" <<'EOF' || fail "sync --json is not one JSON document" "$TEST_TMP/A-sync.json"
import json, sys
rows = json.load(open(sys.argv[1]))
assert rows[0]["name"] == "mail" and rows[0]["ok"] and rows[0]["version"] == 3, rows
assert rows[0]["deploy"]["live"], rows
EOF
log "convergence: store write -> 3 hosts verified (B Dovecot, A Postfix, C) in $(echo "$t1 - $t0" | bc) s"
fleet_run A status
for hr in "A verified" "B verified" "C stored"; do
	grep -Eq "^mail +0003 +${hr% *} +0003 +0003 ${hr#* }" "$MC_OUT" ||
		fail "status does not show node ${hr% *} ${hr#* } on 0003" "$MC_OUT"
done
