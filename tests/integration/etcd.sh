# shellcheck shell=bash disable=SC2034
#
# etcd.sh - a real three-member etcd cluster on 127.0.0.1 high ports for the
# fleet tests. Source it after lib.sh.
#
# Each member has its own client and peer port and its data dir under
# $TEST_TMP/etcd/mN; every member is started and stopped by its PID (lib.sh
# records it, so the cluster also stops when the test exits). Timeouts are
# short (heartbeat 50 ms, election 500 ms) so the cluster forms and elects
# a new leader in well under a second.
#
#   etcd_start [--tls]      start the cluster and wait until it has a leader.
#                           --tls: https client URLs with client certificate
#                           auth, certificates from lib.sh's test CA
#                           (sets ETCD_CA ETCD_CLIENT_CERT ETCD_CLIENT_KEY).
#                           Sets ETCD_ENDPOINTS (host:port,...),
#                           ETCD_URLS (scheme://host:port,...), ETCD_SCHEME.
#   etcd_member_start N     (re)start member N (1..3) on its data dir.
#   etcd_member_stop N      stop member N by its PID (TERM, then KILL).
#   etcd_member_kill N      SIGKILL member N (a crash).
#   etcd_leader             print the number of the leader member (1..3).
#   etcd_kill_leader        SIGKILL the leader; sets ETCD_KILLED to its number.
#   etcd_wait_leader [SECS] wait until the running members have a leader.
#   etcd_stop_all           stop every member (etcd entirely down).
#   etcd_start_all          start every stopped member again and wait for a leader.
#   etcdctl_run ARGS...     etcdctl (API v3) against the running members.
#   etcd_dump FILE          every key and value of the cluster, as JSON lines
#                           {"key": base64, "value": base64} (for scans).
#   etcd_scan_plaintext_keys DUMP KEYFILE...
#                           fail if any value of DUMP holds "PRIVATE KEY" or
#                           the DER (raw or base64) of a KEYFILE's key.

ETCD_DIR=
ETCD_PIDS=(0 0 0 0)
ETCD_CLIENT_PORTS=(0 0 0 0)
ETCD_PEER_PORTS=(0 0 0 0)
ETCD_SCHEME=http
ETCD_TLS=0
ETCD_KILLED=

# etcd_tls_sign - a P-256 key DIR/NAME.key and a certificate DIR/NAME.pem
# from lib.sh's test CA with subject CN and the extension lines that follow.
etcd_tls_sign() {
	local d=$1 name=$2 cn=$3
	shift 3
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/$name.key" -out "$d/$name.csr" -subj "/CN=$cn" >/dev/null 2>&1 ||
		fail "openssl: cannot create the etcd $name key"
	printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
		'keyUsage=critical,digitalSignature' "$@" >"$d/$name.cnf"
	openssl x509 -req -in "$d/$name.csr" -CA "$PEBBLE_CA" -CAkey "$TEST_TMP/tls/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/$name.cnf" -out "$d/$name.pem" >/dev/null 2>&1 ||
		fail "openssl: cannot sign the etcd $name certificate"
	chmod 600 "$d/$name.key"
}

# etcd_tls_material - server and client certificates from lib.sh's test CA.
# The server's has clientAuth too: etcd's JSON gateway connects to its own
# gRPC listener with the server certificate, and client-cert-auth checks it.
etcd_tls_material() {
	local d=$ETCD_DIR/tls
	mkdir -p "$d"
	[ -n "${PEBBLE_CA:-}" ] || tls_material
	etcd_tls_sign "$d" server localhost 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
		'extendedKeyUsage=serverAuth,clientAuth'
	etcd_tls_sign "$d" client mailcert-fleet 'extendedKeyUsage=clientAuth'
	ETCD_CA=$PEBBLE_CA
	ETCD_SERVER_CERT=$d/server.pem
	ETCD_SERVER_KEY=$d/server.key
	ETCD_CLIENT_CERT=$d/client.pem
	ETCD_CLIENT_KEY=$d/client.key
}

# etcd_cluster_spec - the initial-cluster value.
etcd_cluster_spec() {
	local i spec=
	for i in 1 2 3; do
		spec="$spec${spec:+,}m$i=http://127.0.0.1:${ETCD_PEER_PORTS[i]}"
	done
	printf '%s' "$spec"
}

# etcd_member_start - start member N (new or existing data dir).
etcd_member_start() {
	local n=$1 state=new tls=()
	[ ! -d "$ETCD_DIR/m$n/member" ] || state=existing
	if [ "$ETCD_TLS" = 1 ]; then
		tls=(--cert-file "$ETCD_SERVER_CERT" --key-file "$ETCD_SERVER_KEY"
			--client-cert-auth --trusted-ca-file "$ETCD_CA")
	fi
	bg_start "etcd m$n" "$ETCD_DIR/m$n.log" etcd --name "m$n" \
		--data-dir "$ETCD_DIR/m$n" \
		--listen-client-urls "$ETCD_SCHEME://127.0.0.1:${ETCD_CLIENT_PORTS[n]}" \
		--advertise-client-urls "$ETCD_SCHEME://127.0.0.1:${ETCD_CLIENT_PORTS[n]}" \
		--listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[n]}" \
		--initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[n]}" \
		--initial-cluster "$(etcd_cluster_spec)" \
		--initial-cluster-state "$state" --initial-cluster-token "mc-$$" \
		--heartbeat-interval 50 --election-timeout 500 \
		--snapshot-count 10000 --log-level error --logger zap "${tls[@]}"
	ETCD_PIDS[n]=$BG_PID
}

# etcd_member_stop - stop member N by PID.
etcd_member_stop() {
	local n=$1
	[ "${ETCD_PIDS[n]}" != 0 ] || return 0
	bg_stop "${ETCD_PIDS[n]}"
	ETCD_PIDS[n]=0
}

# etcd_member_kill - SIGKILL member N (no clean shutdown).
etcd_member_kill() {
	local n=$1
	[ "${ETCD_PIDS[n]}" != 0 ] || return 0
	kill -KILL "${ETCD_PIDS[n]}" 2>/dev/null
	wait "${ETCD_PIDS[n]}" 2>/dev/null
	ETCD_PIDS[n]=0
}

# etcd_running_endpoints - host:port of the running members, comma separated.
etcd_running_endpoints() {
	local i eps=
	for i in 1 2 3; do
		[ "${ETCD_PIDS[i]}" = 0 ] || eps="$eps${eps:+,}$ETCD_SCHEME://127.0.0.1:${ETCD_CLIENT_PORTS[i]}"
	done
	printf '%s' "$eps"
}

# etcdctl_run - etcdctl v3 against the running members.
etcdctl_run() {
	local tls=()
	if [ "$ETCD_TLS" = 1 ]; then
		tls=(--cacert "$ETCD_CA" --cert "$ETCD_CLIENT_CERT" --key "$ETCD_CLIENT_KEY")
	fi
	ETCDCTL_API=3 etcdctl --endpoints "$(etcd_running_endpoints)" \
		--dial-timeout 2s --command-timeout 5s "${tls[@]}" "$@"
}

# etcd_leader - the number of the member that leads.
etcd_leader() {
	local i out
	for i in 1 2 3; do
		[ "${ETCD_PIDS[i]}" != 0 ] || continue
		out=$(etcdctl_run endpoint status -w json 2>/dev/null) || continue
		python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["Status"]["header"]["member_id"] == s["Status"]["leader"]:
        print(s["Endpoint"].rsplit(":", 1)[1])
        break
' <<<"$out" | while read -r port; do
			for i in 1 2 3; do
				[ "${ETCD_CLIENT_PORTS[i]}" != "$port" ] || echo "$i"
			done
		done
		return 0
	done
	return 1
}

# etcd_wait_leader - wait until the running members agree on a leader:
# SECS of wall time (one etcdctl call may take its 2 s dial timeout per
# member), and at once a failure if a member started here has exited (say
# its port was taken while it was down: "bind: address already in use").
etcd_wait_leader() {
	local secs=${1:-15} end i l
	end=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$end" ]; do
		for i in 1 2 3; do
			[ "${ETCD_PIDS[i]}" = 0 ] || kill -0 "${ETCD_PIDS[i]}" 2>/dev/null ||
				fail "etcd: member m$i (pid ${ETCD_PIDS[i]}) exited" "$ETCD_DIR/m$i.log"
		done
		l=$(etcd_leader 2>/dev/null)
		if [ -n "$l" ] && etcdctl_run put /mc-harness/probe ok >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	fail "etcd: no leader within ${secs}s" "$ETCD_DIR/m1.log" "$ETCD_DIR/m2.log" "$ETCD_DIR/m3.log"
}

# etcd_kill_leader - SIGKILL the leader; ETCD_KILLED = its number.
etcd_kill_leader() {
	ETCD_KILLED=$(etcd_leader) || fail "etcd: cannot find the leader"
	[ -n "$ETCD_KILLED" ] || fail "etcd: cannot find the leader"
	log "etcd: killing the leader m$ETCD_KILLED (pid ${ETCD_PIDS[ETCD_KILLED]})"
	etcd_member_kill "$ETCD_KILLED"
}

# etcd_stop_all - every member down.
etcd_stop_all() {
	local i
	for i in 1 2 3; do etcd_member_stop "$i"; done
}

# etcd_start_all - start the stopped members and wait for a leader.
etcd_start_all() {
	local i
	for i in 1 2 3; do
		[ "${ETCD_PIDS[i]}" != 0 ] || etcd_member_start "$i"
	done
	etcd_wait_leader
}

# etcd_start - a fresh three-member cluster.
etcd_start() {
	local i
	require_cmd etcd etcdctl
	ETCD_DIR=$TEST_TMP/etcd
	mkdir -p "$ETCD_DIR"
	if [ "${1:-}" = --tls ]; then
		ETCD_TLS=1
		ETCD_SCHEME=https
		etcd_tls_material
	fi
	for i in 1 2 3; do
		free_port "ETCD_CLIENT_PORTS[$i]"
		free_port "ETCD_PEER_PORTS[$i]"
	done
	for i in 1 2 3; do etcd_member_start "$i"; done
	etcd_wait_leader
	etcdctl_run del /mc-harness/probe >/dev/null
	ETCD_ENDPOINTS=
	for i in 1 2 3; do
		ETCD_ENDPOINTS="$ETCD_ENDPOINTS${ETCD_ENDPOINTS:+,}127.0.0.1:${ETCD_CLIENT_PORTS[i]}"
	done
	ETCD_URLS=$(etcd_running_endpoints)
	log "etcd: 3 members ($ETCD_SCHEME) on $ETCD_ENDPOINTS, leader m$(etcd_leader)"
}

# etcd_dump - every key/value as JSON lines {"key": b64, "value": b64}.
etcd_dump() {
	etcdctl_run get "" --prefix -w json >"$1.raw" || fail "etcd_dump: etcdctl get failed" "$1.raw"
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as out:
    for kv in d.get("kvs", []):
        out.write(json.dumps({"key": kv["key"], "value": kv.get("value", "")}) + "\n")
' "$1.raw" "$1"
}

# etcd_scan_plaintext_keys - no value of DUMP holds a private key in the clear.
etcd_scan_plaintext_keys() {
	local dump=$1 f
	shift
	for f in "$@"; do
		openssl pkey -in "$f" -outform DER -out "$f.der" 2>/dev/null ||
			fail "etcd_scan: cannot read the key $f"
	done
	python3 - "$dump" "$@" <<'EOF' || fail "a private key is stored in etcd in the clear" "$dump"
import base64, json, sys
dump, keys = sys.argv[1], sys.argv[2:]
ders = [open(k + ".der", "rb").read() for k in keys]
needles = [b"PRIVATE KEY"]
for der in ders:
    # the DER itself, a slice of it, and that slice base64-encoded at each
    # of the three alignments it could have inside a larger encoded blob
    needles += [der, der[len(der) // 2:len(der) // 2 + 24]]
    needles += [base64.b64encode(der[k:k + 30]) for k in (30, 31, 32)]
bad = 0
n = 0
for line in open(dump):
    kv = json.loads(line)
    key = base64.b64decode(kv["key"]).decode("utf-8", "replace")
    val = base64.b64decode(kv["value"])
    n += 1
    for nd in needles:
        if nd in val:
            print("plaintext key material in", key)
            bad += 1
            break
print("scanned", n, "values for", len(ders), "keys", file=sys.stderr)
sys.exit(1 if bad or n == 0 else 0)
EOF
}
