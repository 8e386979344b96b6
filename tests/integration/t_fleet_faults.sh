#!/bin/bash
# t_fleet_faults - a fleet of two hosts (A with its own Postfix, B with
# none) on a real three-member etcd cluster, dns-01 through challtestsrv,
# when etcd misbehaves:
#   1. the etcd leader is killed while A renews: the run completes (or
#      fails cleanly) and the next runs converge on one version; with the
#      first member of the endpoint list down a run retries once;
#   2. a holder SIGSTOPped past its lease TTL (in the middle of its order)
#      cannot overwrite the newer version another host stored meanwhile;
#   3. etcd entirely down: A keeps serving, `status` says the store is
#      unreachable, `renew --force` orders nothing and exits 1; when etcd
#      returns, B takes the version it missed and both converge.
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
etcd_start
fleet_init

mail_certs "$TEST_TMP/boot" boot.example.test
mkdir -p "$TEST_TMP/A/tls"
mail_replace "$MAIL_COMBINED" "$TEST_TMP/A/tls/mail.pem"
postfix_start "$TEST_TMP/A/postfix" "$TEST_TMP/A/tls/mail.pem"

# dns_hook HOST GATE - HOST's dns-01 hook: challtestsrv; with GATE, "add"
# waits at the gate $TEST_TMP/HOST.dns.{in,go} after publishing; B never
# deletes (so a stopped A's record survives B's cleanup).
dns_hook() {
	local h=$1 f=$TEST_TMP/$1/dns-hook
	{
		printf '#!/bin/sh\n'
		[ "$h" = B ] && printf '[ "$1" = del ] && exit 0\n'
		printf '%s --mgmt %s "$@" || exit 1\n' \
			"$MC_LIB_DIR/hooks/challtestsrv-dns.sh" "$CHALLTESTSRV_MGMT"
		printf '[ "$1" = add ] && [ -e %s ] || exit 0\n' "$TEST_TMP/$h.dns.armed"
		printf 'rm -f %s; touch %s\n' "$TEST_TMP/$h.dns.armed" "$TEST_TMP/$h.dns.in"
		printf 'n=0; while [ ! -e %s ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done\n' \
			"$TEST_TMP/$h.dns.go"
		printf 'rm -f %s %s\n' "$TEST_TMP/$h.dns.in" "$TEST_TMP/$h.dns.go"
	} >"$f"
	chmod 755 "$f"
}
mkdir -p "$TEST_TMP/A" "$TEST_TMP/B"
dns_hook A
dns_hook B
FLEET_TARGETS=$(printf '%s\n' '[target postfix]' "chain_file = $TEST_TMP/A/tls/%n.pem" \
	"config = $POSTFIX_DIR/etc" "reload = $POSTFIX_RELOAD")
fleet_host A "$HTTP01_PORT" 'challenge = dns-01' "dns_hook = $TEST_TMP/A/dns-hook" \
	'targets = postfix' "verify = smtp://127.0.0.1:$POSTFIX_PORT_SMTP" 'verify_timeout = 10s'
FLEET_TARGETS=
fleet_host B "$HTTP01_PORT" 'challenge = dns-01' "dns_hook = $TEST_TMP/B/dns-hook"

# served_serial - the serial A's Postfix serves (lower-case hex, no zeros first).
served_serial() {
	timeout 5 openssl s_client -connect "127.0.0.1:$POSTFIX_PORT_SMTP" -starttls smtp \
		-servername mail.example.test </dev/null 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//' | tr 'A-F' 'a-f' |
		sed 's/^0*//'
}

# assert_converged - A and B hold the shared current; A's Postfix serves it.
assert_converged() {
	local v s
	v=$(fleet_shared_version)
	s=$(fleet_current_serial A | sed 's/^0*//')
	assert_eq "$(readlink "$TEST_TMP/A/state/certs/mail/current")" "versions/$v" "A's current"
	assert_eq "$(readlink "$TEST_TMP/B/state/certs/mail/current")" "versions/$v" "B's current"
	assert_eq "$(fleet_current_serial B | sed 's/^0*//')" "$s" "B's serial"
	assert_eq "$(served_serial)" "$s" "serial served by A's Postfix"
}

# start_gated LOG - A's `renew --force` in the background (A_PID), held at
# its dns-01 gate; ORDERS: the CA's order count just before it. A issued
# these names before: authz_forget, else Pebble may hand back a still-valid
# authorization of the fleet's account (no dns-01 asked, the gate never
# reached). Any end before the gate fails.
start_gated() {
	local n
	authz_forget "$TEST_TMP/A/state"
	touch "$TEST_TMP/A.dns.armed"
	ORDERS=$(fleet_orders)
	fleet_bg A "$1" -v renew --force
	A_PID=$BG_PID
	for ((n = 0; n < 600; n++)); do
		[ ! -e "$TEST_TMP/A.dns.in" ] || return 0
		kill -0 "$A_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ ! -e "$TEST_TMP/A.dns.in" ] || return 0
	kill -0 "$A_PID" 2>/dev/null && fail "A's renew did not reach its dns-01 gate within 60 s" "$1"
	wait "$A_PID"
	fail "A's renew exited ($?) before its dns-01 gate" "$1"
}

fleet_run A issue mail
assert_exit 0 "A issue"
fleet_run B renew
assert_exit 0 "B renew (sync)"
assert_converged

# 1. Kill the etcd leader while A renews (A is inside its order).
start_gated "$TEST_TMP/A-leader.log"
etcd_kill_leader
touch "$TEST_TMP/A.dns.go"
wait "$A_PID"
rc=$?
log "renew --force with the leader (m$ETCD_KILLED) killed: exit $rc"
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "A's renew must complete or fail cleanly, exit $rc" "$TEST_TMP/A-leader.log"
grep -qi 'segmentation\|abort\|sanitizer' "$TEST_TMP/A-leader.log" && fail "A crashed" "$TEST_TMP/A-leader.log"
etcd_member_start "$ETCD_KILLED"
etcd_wait_leader
fleet_run A renew
[ "$MC_RC" = 0 ] || fail "A's next renew does not converge" "$MC_ERR"
fleet_run B renew
assert_exit 0 "B's next renew"
assert_converged
V1=$(fleet_shared_version)

# 1b. The first member of the endpoint list is down: a run pays one
#     failed connection, then stays with the member that answered.
etcd_member_stop 1
etcd_wait_leader
fleet_run B -v renew
assert_exit 0 "B renew with the first etcd member down"
assert_eq "$(grep -c 'trying the next etcd member' "$MC_ERR")" 1 \
	"retries with the first member down (one per run)"
etcd_member_start 1
etcd_wait_leader

# 2. A holds the lock, is inside its order, and is stopped past its lease
#    TTL (2 s); B renews meanwhile and stores the next version; A resumes.
start_gated "$TEST_TMP/A-stopped.log"
[ -n "$(fleet_lock_holder)" ] || fail "A is in its order without the lock"
kill -STOP "$A_PID"
for ((n = 0; n < 100; n++)); do
	[ -z "$(fleet_lock_holder)" ] && break
	sleep 0.1
done
[ -z "$(fleet_lock_holder)" ] || fail "the stopped holder's lock did not expire"
fleet_run B renew --force
assert_exit 0 "B renew --force while A is stopped"
V2=$(fleet_shared_version)
assert_ne "$V2" "$V1" "B stored a new version"
B_SERIAL=$(fleet_current_serial B)
kill -CONT "$A_PID"
touch "$TEST_TMP/A.dns.go"
wait "$A_PID"
rc=$?
assert_eq "$rc" 4 "exit code of the holder that lost its lease"
assert_contains "$TEST_TMP/A-stopped.log" "not stored"
assert_eq "$(fleet_shared_version)" "$V2" "the shared current after A resumed"
assert_eq "$(fleet_orders)" $((ORDERS + 2)) "orders (A's and B's)"
etcd_dump "$TEST_TMP/dump2"
python3 - "$TEST_TMP/dump2" "$B_SERIAL" <<'EOF' || fail "A's certificate reached the store"
import base64, json, sys
serials = []
for line in open(sys.argv[1]):
    kv = json.loads(line)
    if base64.b64decode(kv["key"]).decode().endswith("/meta.json"):
        serials.append(json.loads(base64.b64decode(kv["value"]))["serial"])
assert sys.argv[2] in serials and len(serials) == len(set(serials)), serials
EOF
[ -e "$TEST_TMP/A/state/certs/mail/versions/$V2" ] &&
	[ "$(fleet_current_serial A)" != "$B_SERIAL" ] &&
	[ "$(readlink "$TEST_TMP/A/state/certs/mail/current")" = "versions/$V2" ] &&
	fail "A made its own certificate current as $V2"
fleet_run A renew
assert_exit 0 "A's next renew takes B's version"
assert_converged
assert_eq "$(fleet_current_serial A)" "$B_SERIAL" "A serves B's certificate"

# 3. etcd entirely down: A keeps serving, status says so, no order.
SERVED=$(served_serial)
ORDERS=$(fleet_orders)
fleet_run A renew --force
assert_exit 0 "A renew --force before the outage (B does not sync yet)"
V3=$(fleet_shared_version)
etcd_stop_all
fleet_run B renew --force
assert_exit 1 "B renew --force with etcd down"
assert_contains "$MC_ERR" "unreachable"
fleet_run A status
assert_exit 0 "status with etcd down"
assert_contains "$MC_OUT" "UNREACHABLE"
fleet_run B sync
assert_exit 1 "sync with etcd down"
assert_eq "$(fleet_orders)" $((ORDERS + 1)) "orders while etcd is down"
[ -n "$(served_serial)" ] || fail "A's Postfix stopped serving"
etcd_start_all
fleet_run B renew
assert_exit 0 "B renew after etcd returned"
assert_eq "$(readlink "$TEST_TMP/B/state/certs/mail/current")" "versions/$V3" "B took the version it missed"
fleet_run A renew
assert_exit 0 "A renew after etcd returned"
assert_converged
assert_ne "$(served_serial)" "$SERVED" "A serves the version stored before the outage"

# 4. A host that joins the fleet with a certificate of its own: its first
#    fleet run stores that version as the fleet's (no order); a host that
#    joins after it takes that version.
mkdir -p "$TEST_TMP/D"
{
	MC_STATE=$TEST_TMP/D/state conf_global "$PEBBLE_DIR_URL"
	conf_cert mail mail.example.test
} >"$TEST_TMP/D/local.conf"
MC_CONF=$TEST_TMP/D/local.conf MC_STATE=$TEST_TMP/D/state mc_run issue mail
assert_exit 0 "D issues on its own (no store)"
D_SERIAL=$(fleet_current_serial D)
ORDERS=$(fleet_orders)
FLEET_PREFIX=joined
fleet_host D "$HTTP01_PORT"
fleet_host E "$HTTP01_PORT"
fleet_run D renew
assert_exit 0 "D's first renew in the fleet"
assert_contains "$MC_ERR" "storing this host's version 0001"
assert_eq "$(fleet_shared_version)" 0001 "the fleet's version after D joined"
fleet_run E renew
assert_exit 0 "E joins after D"
assert_eq "$(fleet_current_serial E)" "$D_SERIAL" "E takes D's certificate"
assert_eq "$(fleet_orders)" "$ORDERS" "orders when D and E joined"
