#!/bin/bash
# t_live_parallel - `verify` probes its live checks in parallel, at most 8
# at once, and keeps the rows in order (issue 14).
# The endpoints are a STAND-IN (a threaded python3 TLS server on 4 ports
# serving the issued leaf): no real mail server can report how many
# connections a client holds open at once. The stand-in holds every
# connection before its handshake until 8 are open together (or 5 s pass,
# which it records as "short"): probes one after another, or fewer than 8
# at once, leave it short. It then keeps those 8 unanswered 1 s more: a
# 9th connection meanwhile is more than 8 at once. No timing is asserted:
# only what the server saw.
# 4 endpoints x (2 names + no SNI) = 12 rows.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
NAMES="mail.example.test smtp.example.test"
write_config par "$NAMES"
mc_run issue par
assert_exit 0 "issue"
D=$(cert_dir par)/current

cat >"$TEST_TMP/holdtls.py" <<'PY'
import socket, ssl, sys, threading, time
cert, key, stats, ports = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
cv = threading.Condition()
st = {"active": 0, "max": 0, "met": False, "short": 0, "conns": 0,
      "holding": False, "over": 0}
def dump():
    with open(stats + ".tmp", "w") as f:
        f.write("over %d met %d short %d conns %d\n" %
                (st["over"], st["met"], st["short"], st["conns"]))
    import os; os.replace(stats + ".tmp", stats)
def serve(c):
    with cv:
        st["active"] += 1; st["conns"] += 1
        st["max"] = max(st["max"], st["active"])
        st["conns"] <= 8 or not st["holding"] or st.__setitem__("over", 1)
        if st["active"] >= 8 and not st["met"]:
            st["met"] = True
            st["holding"] = True
            cv.notify_all()
        end = time.monotonic() + 5
        while not st["met"] and time.monotonic() < end:
            cv.wait(end - time.monotonic())
        if not st["met"]:
            st["short"] += 1
        if st["conns"] <= 8:
            # the first 8 stay unanswered 1 s more: a 9th meanwhile is one
            # too many (they cannot have finished)
            end = time.monotonic() + 1
            while time.monotonic() < end:
                cv.wait(end - time.monotonic())
            st["holding"] = False
        dump()
    try:
        s = ctx.wrap_socket(c, server_side=True)
        s.settimeout(5)
        try:
            s.recv(1)
        except Exception:
            pass
        s.close()
    except Exception:
        c.close()
    with cv:
        st["active"] -= 1
def listen(l):
    while True:
        c, _ = l.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
for p in ports:
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", int(p))); l.listen(64)
    threading.Thread(target=listen, args=(l,), daemon=True).start()
dump() # bound: ready (nobody else connects before the verify)
while True:
    time.sleep(3600)
PY
ports=() urls=""
for i in 1 2 3 4; do
	free_port P
	ports+=("$P")
	urls+="tls://127.0.0.1:$P "
done
bg_start holdtls "$TEST_TMP/holdtls.log" python3 "$TEST_TMP/holdtls.py" \
	"$D/fullchain.pem" "$D/privkey.pem" "$TEST_TMP/stats" "${ports[@]}"
for ((n = 0; n < 100; n++)); do
	[ -s "$TEST_TMP/stats" ] && break
	sleep 0.1
done
[ -s "$TEST_TMP/stats" ] || fail "the stand-in did not start" "$TEST_TMP/holdtls.log"
write_config par "$NAMES" "verify = $urls" "verify_timeout = 60s"
mc_run -v --json verify par
assert_exit 0 "verify against the stand-in"
read -r _ over _ met _ short _ conns <"$TEST_TMP/stats"
log "stand-in saw: 8 at once $met, a 9th while 8 were held $over, short $short, connections $conns"
assert_eq "$met" 1 "8 live checks open at once"
assert_eq "$short" 0 "connections that waited for a parallel peer in vain"
assert_eq "$over" 0 "a 9th live check while 8 were open"
assert_eq "$conns" 12 "connections (one per row)"
# the rows keep their order: endpoint by endpoint, names then no SNI
python3 - "$MC_OUT" "${ports[@]}" <<'PY' || fail "rows out of order" "$MC_OUT"
import json, sys
d = json.load(open(sys.argv[1]))
def rows(o):
    if isinstance(o, dict):
        if "url" in o and "sni" in o:
            yield o
        for v in o.values():
            yield from rows(v)
    elif isinstance(o, list):
        for v in o:
            yield from rows(v)
got = [(r["url"], r["sni"] or "") for r in rows(d)]
want = [("tls://127.0.0.1:%s" % p, n) for p in sys.argv[2:]
        for n in ("mail.example.test", "smtp.example.test", "")]
if got != want:
    print("got", got, "want", want); sys.exit(1)
PY
log "ok"
