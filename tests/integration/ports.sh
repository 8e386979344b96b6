# shellcheck shell=bash
#
# ports.sh - the one way the tests, the demo and the benches choose a
# loopback port (sourced by lib.sh and mail.sh; works alone).
#
# port_take VAR   set VAR to a port on 127.0.0.1 that
#   - lies below the kernel's ephemeral range (net.ipv4.ip_local_port_range,
#     32768-60999 by default), so no outgoing connection of ours or of
#     another test can take it as its source port between the choice and
#     the bind;
#   - no TCP or UDP socket (any state, IPv4 or IPv6) uses now;
#   - no other running test holds: each port handed out is reserved in
#     MC_PORT_DIR (a symlink PORT -> owner pid, made atomically) until the
#     owner exits. A test binds some of its ports only later (mailcert's
#     http-01 responder during an issue, an etcd member restarted after a
#     stop), and under `ctest -j2` another test used to pick such a port
#     meanwhile (CI: "http-01 responder: cannot bind ... Address already in
#     use"). Reservations of owners that are gone are taken over.
#   Returns 1 with a message on stderr when no port is found.
# port_release    drop every reservation of this shell ($$); lib.sh's exit
#                 trap and mail.sh's mail_stop_all call it.

[ -z "${MC_PORTS_SH:-}" ] || return 0
MC_PORTS_SH=1
MC_PORT_DIR=${MC_PORT_DIR:-/tmp/mailcert-test-ports}

# port_dir_ok - create MC_PORT_DIR (sticky, world-writable like /tmp) and
# check it is ours or root's, not something another user put there.
port_dir_ok() {
	local owner
	[ -d "$MC_PORT_DIR" ] || mkdir -m 1777 "$MC_PORT_DIR" 2>/dev/null
	[ -d "$MC_PORT_DIR" ] && [ ! -L "$MC_PORT_DIR" ] || return 1
	owner=$(stat -c %u "$MC_PORT_DIR") || return 1
	[ "$owner" = 0 ] || [ "$owner" = "$(id -u)" ]
}

# port_sockets - PORT STATE FILE...: whether a socket in the /proc/net
# FILEs has local PORT (and, unless STATE is empty, that state as the
# kernel prints it: 0A is LISTEN).
port_sockets() {
	local port=$1 state=$2
	shift 2
	awk -v p="$(printf ':%04X' "$port")" -v st="$state" 'NR > 1 &&
		substr($2, length($2) - 4) == p && (st == "" || $4 == st) { f = 1; exit }
		END { exit !f }' "$@" 2>/dev/null
}

# port_unused - whether no socket in /proc/net/{tcp,udp}{,6} has local PORT.
port_unused() {
	! port_sockets "$1" "" /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6
}

# port_listens - whether a TCP socket LISTENs on local PORT (IPv4 or IPv6).
port_listens() {
	port_sockets "$1" 0A /proc/net/tcp /proc/net/tcp6
}

# port_reserve - make PORT ours in MC_PORT_DIR; 1 when a live owner holds it.
# A reservation whose owner has exited is taken over under a lock on the
# directory (flock): two takers that both saw the owner gone used to remove
# each other's new link in turn and both held the port (t_ports: 8 takers
# at once, up to 4 owners). A plain ln -s needs no lock: it fails while any
# link is there, so it never gets in between the takeover's rm and ln.
port_reserve() {
	local link=$MC_PORT_DIR/$1 owner
	ln -s "$$" "$link" 2>/dev/null && return 0
	{
		flock 9 || return 1
		owner=$(readlink "$link" 2>/dev/null)
		if [ -n "$owner" ]; then
			[ "$owner" != "$$" ] || return 1
			case $owner in *[!0-9]*) return 1 ;; esac
			kill -0 "$owner" 2>/dev/null && return 1
			[ -d "/proc/$owner" ] && return 1
			rm -f "$link" 2>/dev/null
		fi
		ln -s "$$" "$link" 2>/dev/null
	} 9<"$MC_PORT_DIR"
}

port_take() {
	local lo=20000 hi=32767 eph_lo eph_hi p n
	if read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; then
		if [ "$eph_lo" -gt $((lo + 2000)) ]; then
			hi=$((eph_lo - 1))
		elif [ "$eph_hi" -lt 63000 ]; then
			lo=$((eph_hi + 1)) hi=65535
		else
			lo=10000 hi=$((eph_lo - 1))
		fi
	fi
	if [ "$hi" -le "$lo" ]; then
		printf 'port_take: no port range outside the ephemeral range %s-%s (net.ipv4.ip_local_port_range)\n' \
			"$eph_lo" "$eph_hi" >&2
		return 1
	fi
	port_dir_ok || {
		printf 'port_take: %s is not a directory owned by root or by us; remove it or set MC_PORT_DIR\n' \
			"$MC_PORT_DIR" >&2
		return 1
	}
	for ((n = 0; n < 500; n++)); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		port_unused "$p" || continue
		port_reserve "$p" || continue
		# A socket may have appeared between the first look and the
		# reservation; from here on no other test picks the port.
		if ! port_unused "$p"; then
			rm -f "$MC_PORT_DIR/$p"
			continue
		fi
		printf -v "$1" '%s' "$p"
		return 0
	done
	printf 'port_take: no free port found on 127.0.0.1 in %s-%s (500 tries; reservations in %s)\n' \
		"$lo" "$hi" "$MC_PORT_DIR" >&2
	return 1
}

port_release() {
	local link
	[ -d "$MC_PORT_DIR" ] || return 0
	for link in "$MC_PORT_DIR"/*; do
		[ -L "$link" ] && [ "$(readlink "$link")" = "$$" ] && rm -f "$link"
	done
	return 0
}
