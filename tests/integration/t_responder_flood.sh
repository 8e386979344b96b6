#!/bin/bash
# t_responder_flood - slow clients on other loopback addresses (127.0.0.x)
# hold connections to the built-in challenge responders while Pebble
# validates: one address with 40 idle connections against tls-alpn-01,
# four addresses with 20 connections each sending a byte every 4 s against
# http-01. Both issuances still succeed at once (they used to wait out a
# 10 s handshake timeout, or to find every connection slot taken).
# slowclient.py is a hand-written attacker: no real server plays that part.
# mailcert's responder is up for a few tens of ms when Pebble validates at
# once, too short for the attacker to get in place: Pebble's VA sleeps
# (0-4 s per name, its default) here, and an issuance that ended before the
# attacker held its connections (every name drew 0 s) is run again.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start --va-sleep
NAMES="mail.example.test imap.example.test smtp.example.test"

# flood_issue NAME CHALLENGE PORT MODE PER WANT SOURCES... - issue NAME
# while slowclient.py holds PER connections per source to PORT, until the
# attacker held WANT at once (3 tries); sets ISSUE_MS.
flood_issue() {
	local name=$1 chall=$2 port=$3 mode=$4 per=$5 want=$6 src args=() start n try
	shift 6
	for src in "$@"; do
		args+=(--from "$src")
	done
	write_config "$name" "$NAMES" "challenge = $chall"
	for try in 1 2 3; do
		rm -f "$TEST_TMP/slow-$name.stats"
		bg_start "slowclient $name" "$TEST_TMP/slow-$name.log" python3 \
			"$MC_LIB_DIR/slowclient.py" --port "$port" --per "$per" --mode "$mode" \
			--every 4 --stats "$TEST_TMP/slow-$name.stats" "${args[@]}"
		SLOW_PID=$BG_PID
		for ((n = 0; n < 50; n++)); do
			[ -s "$TEST_TMP/slow-$name.stats" ] && break
			sleep 0.1 # until it knocks
		done
		authz_forget # every try must ask the challenges (same names each time)
		start=$(date +%s%N)
		mc_run issue "$name"
		ISSUE_MS=$((($(date +%s%N) - start) / 1000000))
		sleep 0.2 # its last stats line
		bg_stop "$SLOW_PID"
		log "$name (try $try): issue took $ISSUE_MS ms; attacker: $(cat "$TEST_TMP/slow-$name.stats" 2>/dev/null)"
		if [ "$MC_RC" -ne 0 ] || [ "$(peak_of "$name")" -ge "$want" ]; then
			break
		fi
	done
}

# peak_of NAME - the most connections the attacker held at once.
peak_of() {
	sed -n 's/.*peak=\([0-9]*\).*/\1/p' "$TEST_TMP/slow-$1.stats"
}

# 1. tls-alpn-01: 40 idle connections from 127.0.0.2.
flood_issue alpn tls-alpn-01 "$TLSALPN01_PORT" idle 40 16 127.0.0.2
assert_exit 0 "tls-alpn-01 issuance behind an idle flood"
[ "$(peak_of alpn)" -ge 16 ] || fail "the attacker never held 16 connections" "$TEST_TMP/slow-alpn.log"
[ "$ISSUE_MS" -lt 8000 ] || fail "tls-alpn-01 issuance took $ISSUE_MS ms behind the flood"
# shellcheck disable=SC2086
assert_issued alpn $NAMES

# 2. http-01: four addresses, 20 connections each, a byte every 4 s.
flood_issue web http-01 "$HTTP01_PORT" trickle 20 64 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5
assert_exit 0 "http-01 issuance behind four trickling addresses"
[ "$(peak_of web)" -ge 64 ] || fail "the attacker never held 64 connections" "$TEST_TMP/slow-web.log"
[ "$ISSUE_MS" -lt 8000 ] || fail "http-01 issuance took $ISSUE_MS ms behind the flood"
# shellcheck disable=SC2086
assert_issued web $NAMES
