#!/usr/bin/env bash
# t_ports.sh - the harness's port reservations (ports.sh) hold across
# processes. CI failed once when t_reload_config's http-01 port, chosen
# free but bound only later by mailcert's responder, was taken meanwhile by
# another test running beside it (ctest -j2): "cannot bind 127.0.0.1:N:
# Address already in use".
. "$(dirname "$0")/lib.sh"

export MC_PORT_DIR=$TEST_TMP/ports
mkdir -m 1777 "$MC_PORT_DIR"
ports=$MC_LIB_DIR/ports.sh

# A port reserved by a live process is refused to every other process.
free_port P
[ -L "$MC_PORT_DIR/$P" ] || fail "free_port $P left no reservation in $MC_PORT_DIR"
[ "$(readlink "$MC_PORT_DIR/$P")" = "$$" ] || fail "reservation of $P does not name this test ($$)"
bash -c '. "$1"; port_reserve "$2"' _ "$ports" "$P" &&
	fail "another process reserved port $P while this test holds it"

# One held by a process that has exited is taken over.
bash -c '. "$1"; port_reserve "$2"; echo "$$"' _ "$ports" 24999 >"$TEST_TMP/owner" ||
	fail "a fresh port could not be reserved"
[ "$(readlink "$MC_PORT_DIR/24999")" = "$(cat "$TEST_TMP/owner")" ] || fail "24999 not held by its first owner"
bash -c '. "$1"; port_reserve "$2"' _ "$ports" 24999 ||
	fail "a reservation of an exited process was not taken over"

# Many takers at once of reservations whose owner has exited: each port
# goes to exactly one of them (without the takeover lock, 3 or 4 of 8 held
# the same port, in 9 of 10 tries). They stay alive until counted: one
# that exited would lawfully be taken over again.
for p in 24990 24991 24992; do ln -s 999999999 "$MC_PORT_DIR/$p"; done
stale=()
for i in 1 2 3 4 5 6 7 8; do
	bash -c '. "$1"; while [ ! -e "$2.go" ]; do sleep 0.01; done
		for p in 24990 24991 24992; do port_reserve "$p" && echo "$p"; done
		echo end; while [ ! -e "$2.done" ]; do sleep 0.05; done' \
		_ "$ports" "$TEST_TMP/stale" >"$TEST_TMP/stale.$i" &
	mc_record "stale taker $i" "$!"
	stale+=("$!")
done
touch "$TEST_TMP/stale.go"
for ((n = 0; n < 600; n++)); do
	[ "$(cat "$TEST_TMP"/stale.[1-8] | grep -c '^end$')" -lt 8 ] || break
	sleep 0.05
done
[ "$n" -lt 600 ] || fail "8 takers of 3 stale reservations did not finish in 30 s"
for p in 24990 24991 24992; do
	n=$(cat "$TEST_TMP"/stale.[1-8] | grep -c "^$p\$")
	[ "$n" = 1 ] || fail "stale reservation of $p taken over by $n processes at once, want 1"
done
touch "$TEST_TMP/stale.done"
wait "${stale[@]}"

# Many takers at once never get the same port; none in the ephemeral range;
# none that a socket uses. Each taker holds its ports (stays alive) until
# the check is done: a taker that exited - they used to after a fixed 2 s -
# lets a slower one take over its ports, lawfully, and that counted as a
# port handed out twice (6 bash loops on a busy 2-core machine drift apart
# by seconds).
read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range
takers=()
for i in 1 2 3 4 5 6; do
	bash -c '. "$1"; for n in $(seq 40); do port_take p || exit 1; echo "$p"; done
		n=0; while [ ! -e "$2" ] && [ $n -lt 1200 ]; do sleep 0.1; n=$((n + 1)); done' \
		_ "$ports" "$TEST_TMP/takers.done" >"$TEST_TMP/take.$i" &
	mc_record "taker $i" "$!"
	takers+=("$!")
done
start=$SECONDS
while [ "$(cat "$TEST_TMP"/take.* | wc -l)" -lt 240 ]; do
	for pid in "${takers[@]}"; do
		kill -0 "$pid" 2>/dev/null || fail "a taker (pid $pid) ended before its 40 ports"
	done
	[ $((SECONDS - start)) -lt 120 ] || fail "6 x 40 port_take calls did not finish in 120 s"
	sleep 0.1
done
log "6 x 40 port_take calls took $((SECONDS - start)) s"
dups=$(sort "$TEST_TMP"/take.* | uniq -d)
[ -z "$dups" ] || fail "port(s) handed to two processes at once: $dups"
while read -r p; do
	if [ "$p" -ge "$eph_lo" ] && [ "$p" -le "$eph_hi" ]; then
		fail "port $p is in the ephemeral range $eph_lo-$eph_hi"
	fi
done < <(cat "$TEST_TMP"/take.*)
touch "$TEST_TMP/takers.done"

# A port a socket uses now is never handed out (a listener on every port
# of a small range would be needed to prove it by chance; check the probe).
python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(30)' \
	>"$TEST_TMP/listen" &
mc_record "listener" "$!"
for ((n = 0; n < 300; n++)); do
	[ -s "$TEST_TMP/listen" ] && break
	sleep 0.1
done
LP=$(cat "$TEST_TMP/listen")
[ -n "$LP" ] || fail "the listener did not start"
port_unused "$LP" && fail "port_unused says listening port $LP is unused"
port_unused "$P" || fail "port_unused says reserved, unbound port $P is in use"

# port_release drops this shell's reservations only.
port_release
[ -e "$MC_PORT_DIR/$P" ] && fail "port_release left $P reserved"
exit 0
