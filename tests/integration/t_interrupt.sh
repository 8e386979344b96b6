#!/bin/bash
# t_interrupt - a real SIGTERM (and SIGINT) in the middle of a run: the run
# stops at its next step, deletes what it published - the dns-01 TXT
# records (dns hook `del`; checked by asking challtestsrv's DNS), the
# webroot token files - runs the post hooks (a service stopped in pre is
# started again), stores nothing and exits 1 within seconds.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
hooklog=$TEST_TMP/hook.log
cat >"$TEST_TMP/dns-hook" <<HOOK
#!/bin/sh
exec "$MC_TESTS_DIR/integration/hooks/challtestsrv-dns.sh" --mgmt "$CHALLTESTSRV_MGMT" --log "$hooklog" "\$@"
HOOK
chmod 755 "$TEST_TMP/dns-hook"
H=$TEST_TMP/hooks
mkdir -p "$H/pre.d" "$H/post.d"
for ev in pre post; do
	printf '#!/bin/sh\necho %s >> %s/events\n' "$ev" "$TEST_TMP" >"$H/$ev.d/10-log"
	chmod 755 "$H/$ev.d/10-log"
done
www=$TEST_TMP/www
mkdir -p "$www"
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert dns "mail.example.test imap.example.test" "challenge = dns-01" \
		"dns_hook = $TEST_TMP/dns-hook" "dns_wait = 60s"
	conf_cert web "mail.example.test" "challenge = http-01" "webroot = $www"
} >"$MC_CONF"

# txt_count NAME - the number of TXT answers challtestsrv's DNS gives for NAME.
txt_count() {
	python3 - "$DNS_PORT" "$1" <<'EOF'
import random, socket, struct, sys
port, name = int(sys.argv[1]), sys.argv[2]
qid = random.randrange(65536)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
for label in name.rstrip(".").split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", 16, 1)  # TXT, IN
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, ("127.0.0.1", port))
data, _ = s.recvfrom(4096)
rid, flags, qd, an = struct.unpack(">HHHH", data[:8])
assert rid == qid, "reply id"
print(an)
EOF
}

# wait_for DESC CMD... - poll CMD (up to 20 s) until it succeeds.
wait_for() {
	local desc=$1 n
	shift
	for ((n = 0; n < 200; n++)); do
		"$@" && return 0
		kill -0 "$RUN_PID" 2>/dev/null || fail "mailcert ended before: $desc" "$RUN_ERR"
		sleep 0.1
	done
	fail "timed out waiting for: $desc" "$RUN_ERR"
}

# start_run NAME - run `mailcert issue NAME` in the background.
start_run() {
	RUN_ERR=$TEST_TMP/$1.err
	"$MAILCERT" -c "$MC_CONF" issue "$1" >"$TEST_TMP/$1.out" 2>"$RUN_ERR" </dev/null &
	RUN_PID=$!
}

# stop_run SIG - send SIG, wait (at most 15 s); sets RUN_RC and RUN_MS.
stop_run() {
	local start n
	start=$(date +%s%N)
	kill "-$1" "$RUN_PID"
	for ((n = 0; n < 150; n++)); do
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$RUN_PID" 2>/dev/null && {
		kill -KILL "$RUN_PID"
		fail "mailcert did not stop within 15 s of SIG$1" "$RUN_ERR"
	}
	wait "$RUN_PID"
	RUN_RC=$?
	RUN_MS=$((($(date +%s%N) - start) / 1000000))
}

# 1. SIGTERM during the dns-01 wait (dns_wait = 60s): both TXT records
#    are published when the signal comes, and gone afterwards.
txt_published() { [ "$(txt_count _acme-challenge.imap.example.test)" -ge 1 ]; }
start_run dns
wait_for "the TXT records to be published" txt_published
[ "$(txt_count _acme-challenge.mail.example.test)" -ge 1 ] || fail "no TXT record for mail"
stop_run TERM
assert_eq "$RUN_RC" 1 "exit status after SIGTERM"
[ "$RUN_MS" -lt 10000 ] || fail "SIGTERM took $RUN_MS ms to end the run" "$RUN_ERR"
assert_contains "$RUN_ERR" "interrupted by SIGTERM"
for n in mail.example.test imap.example.test; do
	assert_contains "$hooklog" "del _acme-challenge.$n"
	assert_eq "$(txt_count "_acme-challenge.$n")" 0 "TXT records left for $n"
done
assert_eq "$(tr '\n' ' ' <"$TEST_TMP/events")" "pre post " "hooks around the interrupted run"
assert_no_path "$(cert_dir dns)/current"

# 2. SIGINT while Pebble is still validating a webroot token (a web server
#    that accepts and never answers holds the validation): the token files
#    are removed. The signal goes once Pebble's validation has connected
#    (the stalling server notes each connection in stall.conns; a fixed
#    1 s sleep after the token appeared could end, on a loaded machine,
#    before mailcert had even told Pebble to validate).
bg_start stalling-web "$TEST_TMP/stall.log" python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
    with open(sys.argv[2], "a") as f:
        f.write("connection\n")
' "$HTTP01_PORT" "$TEST_TMP/stall.conns"
wait_listening "$HTTP01_PORT" "$BG_PID" "the stalling web server" "$TEST_TMP/stall.log"
conns() { wc -l <"$TEST_TMP/stall.conns" 2>/dev/null || echo 0; }
for ((n = 0; n < 300; n++)); do # wait_listening's own connection, noted
	[ "$(conns)" -ge 1 ] && break
	sleep 0.1
done
[ "$(conns)" = 1 ] || fail "the stalling web server did not note wait_listening's connection" "$TEST_TMP/stall.log"
rm -f "$TEST_TMP/events"
tokens() { [ "$(find "$www/.well-known/acme-challenge" -type f 2>/dev/null | wc -l)" -ge 1 ]; }
start_run web
wait_for "a token in the webroot" tokens
validating() { [ "$(conns)" -ge 2 ]; }
wait_for "Pebble's validation to connect to the stalling web server" validating
stop_run INT
assert_eq "$RUN_RC" 1 "exit status after SIGINT"
assert_contains "$RUN_ERR" "interrupted by SIGINT"
assert_no_path "$www/.well-known" "the webroot folders mailcert created"
assert_eq "$(tr '\n' ' ' <"$TEST_TMP/events")" "pre post " "hooks around the interrupted run"
assert_no_path "$(cert_dir web)/current"
