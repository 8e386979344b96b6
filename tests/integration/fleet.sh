# shellcheck shell=bash disable=SC2034
#
# fleet.sh - "hosts" of a mailcert fleet for the fleet tests: each host has
# its own state_dir, hooks_dir and config under $TEST_TMP/<host>/, the
# same store (etcd.sh's cluster) and store key. Source after lib.sh and
# etcd.sh (and mail.sh when hosts have daemons).
#
#   fleet_init [PREFIX]         the shared store key (0600) and prefix.
#   fleet_host HOST PORT [LINE...]
#                               write HOST's config: [global] with the store
#                               (https + client certificate when etcd runs
#                               with --tls), lease 2s, then the cert "mail"
#                               (mail.example.test, http_listen on PORT)
#                               with the extra LINEs and FLEET_TARGETS
#                               (sections) appended.
#   fleet_run HOST ARGS...      mc_run as HOST.
#   fleet_bg HOST LOG ARGS...   start mailcert as HOST in the background;
#                               BG_PID is its pid (mailcert's own: a test
#                               may SIGSTOP it).
#   fleet_current_serial HOST   serial of HOST's current version.
#   fleet_shared_version        the shared current version of "mail".
#   fleet_orders                how many orders Pebble has created.
#   fleet_wait_file FILE [SECS [PID LOG]]
#                               wait until FILE exists (fail early, with
#                               LOG, when PID ends first).
#   fleet_lock_holder           the lock key's value ("" when free).

FLEET_PREFIX=fleet
FLEET_KEY=
FLEET_TARGETS=

# fleet_init - the store key every host shares.
fleet_init() {
	FLEET_PREFIX=${1:-fleet}
	FLEET_KEY=$TEST_TMP/store.key
	openssl rand 32 >"$FLEET_KEY" || fail "openssl rand failed"
	chmod 600 "$FLEET_KEY"
}

# fleet_host - HOST's directories and config.
fleet_host() {
	local h=$1 port=$2 tls=()
	shift 2
	mkdir -p "$TEST_TMP/$h/hooks"
	if [ "$ETCD_TLS" = 1 ]; then
		tls=("store_ca = $ETCD_CA" "store_cert = $ETCD_CLIENT_CERT"
			"store_key = $ETCD_CLIENT_KEY")
	fi
	{
		MC_STATE=$TEST_TMP/$h/state conf_global "$PEBBLE_DIR_URL" \
			"store = etcd://$ETCD_ENDPOINTS/$FLEET_PREFIX" "node = $h" \
			"store_key_file = $FLEET_KEY" 'store_lease = 2s' 'store_wait = 90s' \
			"${tls[@]}"
		HTTP01_PORT=$port conf_cert mail mail.example.test "$@"
		printf '%s\n' "$FLEET_TARGETS"
	} | sed "s|^hooks_dir = .*|hooks_dir = $TEST_TMP/$h/hooks|" >"$TEST_TMP/$h/mailcert.conf"
}

# fleet_run - mc_run as HOST.
fleet_run() {
	local h=$1
	shift
	MC_CONF=$TEST_TMP/$h/mailcert.conf
	MC_STATE=$TEST_TMP/$h/state
	mc_run "$@"
}

# fleet_bg - mailcert as HOST in the background (output to LOG).
fleet_bg() {
	local h=$1 logf=$2
	shift 2
	bg_start "mailcert $h" "$logf" "$MAILCERT" -c "$TEST_TMP/$h/mailcert.conf" "$@"
}

# fleet_current_serial - the serial of HOST's current version.
fleet_current_serial() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["serial"])' \
		"$TEST_TMP/$1/state/certs/mail/current/meta.json" 2>/dev/null
}

# fleet_shared_version - the shared current version of "mail".
fleet_shared_version() {
	etcdctl_run get "/$FLEET_PREFIX/certs/mail/current" --print-value-only
}

# fleet_orders - how many orders Pebble has created so far.
fleet_orders() {
	grep -c 'Added order' "$TEST_TMP/pebble.log"
}

# fleet_wait_file - wait until FILE exists (default 30 s); with PID and
# LOG, fail at once (showing LOG) when that process ends first.
fleet_wait_file() {
	local n pid=${3:-} logf=${4:-}
	for ((n = 0; n < ${2:-30} * 10; n++)); do
		[ ! -e "$1" ] || return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			fail "pid $pid exited ($?) before $1 appeared" "$logf"
		fi
		sleep 0.1
	done
	fail "$1 did not appear within ${2:-30}s" "$logf"
}

# fleet_lock_holder - the value of the lock key ("" when free).
fleet_lock_holder() {
	etcdctl_run get "/$FLEET_PREFIX/lock" --print-value-only
}

# fleet_gate_hook HOST EVENT - a hook of HOST that touches
# $TEST_TMP/HOST.EVENT.in and waits for $TEST_TMP/HOST.EVENT.go.
fleet_gate_hook() {
	local h=$1 ev=$2
	mkdir -p "$TEST_TMP/$h/hooks/$ev.d"
	printf '#!/bin/sh\ntouch %s\nn=0\nwhile [ ! -e %s ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done\nrm -f %s %s\n' \
		"$TEST_TMP/$h.$ev.in" "$TEST_TMP/$h.$ev.go" "$TEST_TMP/$h.$ev.in" \
		"$TEST_TMP/$h.$ev.go" >"$TEST_TMP/$h/hooks/$ev.d/10-gate"
	chmod 755 "$TEST_TMP/$h/hooks/$ev.d/10-gate"
}
