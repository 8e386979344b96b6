# shellcheck shell=bash disable=SC2034
#
# dns.sh - a DNSSEC testbed on loopback for the DANE tests (zones under
# .example: unbound and libunbound answer .test themselves, RFC 6761). Source it after
# lib.sh (its processes are started with bg_start, so lib.sh's EXIT trap
# stops them by PID).
#
#   Knot DNS (knotd), authoritative on 127.0.0.1:KNOT_PORT for two zones:
#     dane.example   signed by Knot itself (one ECDSA P-256 key, made with
#                 keymgr before start, manual key management), accepting
#                 RFC 2136 updates signed with TSIG (hmac-sha256);
#     plain.example  unsigned (no anchor covers it: answers are insecure),
#                 also updatable.
#   unbound, a validating resolver on 127.0.0.1:UNBOUND_PORT, stub for both
#     zones, with dane.example's DS as its only trust anchor; short cache TTLs
#     so a change is seen in seconds.
#
# Functions:
#   dns_start                 start both; sets the variables below
#   dns_update CMD...         RFC 2136 update through knsupdate with the TSIG
#                             key, one "update add|delete ..." line per
#                             argument, e.g.
#                             dns_update "add _25._tcp.mx.dane.example 2 TLSA 3 1 1 ab.."
#   dns_ask NAME TYPE         ask unbound; prints "FLAGS|RCODE|RDATA..." where
#                             FLAGS contains "ad" when the answer is secure
#   dns_rdata NAME TYPE       only the answer's rdata lines (through unbound)
#   dns_auth NAME TYPE        the rdata as Knot serves it (no validation)
#   dns_auth_has NAME TYPE RDATA  whether Knot serves that record
#   dns_make_bogus            re-sign dane.example with a new key the anchor does
#                             not know (every answer from it becomes bogus)
#   dns_flush                 drop unbound's cache for both zones
#   dns_tlsa_311 PEMFILE      "3 1 1 HEX" of the key of a cert or private key
#
# Variables: DNS_ZONE (dane.example), DNS_PLAIN_ZONE (plain.example), KNOT_PORT,
# UNBOUND_PORT, DNS_RESOLVER (127.0.0.1:UNBOUND_PORT), DNS_AUTH
# (127.0.0.1:KNOT_PORT), DNS_ANCHOR (file: the zone's DS, for mailcert's
# dnssec_anchor and unbound), DNS_TSIG_FILE (the key in BIND key-file syntax,
# for nsupdate_key), DNS_TSIG_NAME, DNS_TSIG_SECRET, DNS_TTL (3: the TTL of
# every record), DNS_DIR.

DNS_ZONE=dane.example
DNS_PLAIN_ZONE=plain.example
DNS_TTL=3
DNS_TSIG_NAME=mailcert-test.

# dns_write_zones - the two zone files: SOA, NS, and A records for mx.
dns_write_zones() {
	local z
	for z in "$DNS_ZONE" "$DNS_PLAIN_ZONE"; do
		cat >"$DNS_DIR/$z.zone" <<EOF
\$TTL $DNS_TTL
@	SOA	ns.$z. hostmaster.$z. 1 60 60 3600 1
@	NS	ns
ns	A	127.0.0.1
mx	A	127.0.0.1
EOF
	done
}

# dns_write_knot - knot.conf: manual keys, TSIG ACL for updates, no zone file
# sync (the journal holds the updates).
dns_write_knot() {
	cat >"$DNS_DIR/knot.conf" <<EOF
server:
    rundir: "$DNS_DIR"
    listen: 127.0.0.1@$KNOT_PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$DNS_DIR/db"
log:
  - target: stderr
    any: info
key:
  - id: $DNS_TSIG_NAME
    algorithm: hmac-sha256
    secret: $DNS_TSIG_SECRET
acl:
  - id: update
    key: $DNS_TSIG_NAME
    action: update
policy:
  - id: test
    algorithm: ecdsap256sha256
    manual: on
    single-type-signing: on
    dnskey-ttl: $DNS_TTL
    zone-max-ttl: $DNS_TTL
    propagation-delay: 0
    rrsig-lifetime: 14d
    rrsig-refresh: 7d
template:
  - id: default
    storage: "$DNS_DIR"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: all
    acl: update
zone:
  - domain: $DNS_ZONE
    dnssec-signing: on
    dnssec-policy: test
  - domain: $DNS_PLAIN_ZONE
EOF
}

# dns_write_unbound - unbound.conf: validating, stub to Knot, short caches.
dns_write_unbound() {
	cat >"$DNS_DIR/unbound.conf" <<EOF
server:
    username: ""
    chroot: ""
    directory: "$DNS_DIR"
    pidfile: "$DNS_DIR/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    interface: 127.0.0.1
    port: $UNBOUND_PORT
    do-ip6: no
    num-threads: 1
    so-reuseport: no
    outgoing-range: 64
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    module-config: "validator iterator"
    trust-anchor-file: "$DNS_ANCHOR"
    harden-dnssec-stripped: yes
    qname-minimisation: no
    cache-max-ttl: $DNS_TTL
    cache-max-negative-ttl: 1
    infra-host-ttl: 2
    val-bogus-ttl: 1
    prefetch: no
    serve-expired: no
stub-zone:
    name: "$DNS_ZONE"
    stub-addr: 127.0.0.1@$KNOT_PORT
stub-zone:
    name: "$DNS_PLAIN_ZONE"
    stub-addr: 127.0.0.1@$KNOT_PORT
remote-control:
    control-enable: yes
    control-interface: "$DNS_DIR/unbound.ctl"
    control-use-cert: no
EOF
}

# dns_tsig_file - the TSIG key in BIND key-file syntax (nsupdate_key).
dns_tsig_file() {
	DNS_TSIG_FILE=$DNS_DIR/tsig.key
	umask 077
	printf 'key "%s" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' \
		"$DNS_TSIG_NAME" "$DNS_TSIG_SECRET" >"$DNS_TSIG_FILE"
	umask 022
}

# dns_wait_answer - wait until @127.0.0.1#PORT answers NAME TYPE (15 s).
dns_wait_answer() {
	local port=$1 name=$2 type=$3 pid=$4 what=$5 logf=$6 n
	for ((n = 0; n < 150; n++)); do
		if kdig +time=1 +retry=0 @127.0.0.1 -p "$port" "$name" "$type" 2>/dev/null |
			grep -q 'status: NOERROR'; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || fail "$what exited during start-up" "$logf"
		sleep 0.1
	done
	fail "$what did not answer $name $type on port $port within 15 s" "$logf"
}

# dns_start - Knot with the signed and the unsigned zone, then unbound.
dns_start() {
	require_cmd knotd keymgr knotc knsupdate kdig unbound unbound-control
	DNS_DIR=$TEST_TMP/dns
	mkdir -p "$DNS_DIR/db"
	free_port KNOT_PORT
	free_port UNBOUND_PORT
	DNS_RESOLVER=127.0.0.1:$UNBOUND_PORT
	DNS_AUTH=127.0.0.1:$KNOT_PORT
	DNS_TSIG_SECRET=$(openssl rand -base64 32)
	dns_tsig_file
	dns_write_zones
	dns_write_knot
	keymgr -c "$DNS_DIR/knot.conf" "$DNS_ZONE" generate algorithm=13 ksk=yes zsk=yes \
		>"$DNS_DIR/keymgr.log" 2>&1 || fail "keymgr cannot make the zone key" "$DNS_DIR/keymgr.log"
	DNS_ANCHOR=$DNS_DIR/anchor.ds
	keymgr -c "$DNS_DIR/knot.conf" "$DNS_ZONE" ds 2>>"$DNS_DIR/keymgr.log" |
		awk '$5 == 2' | sed 's/ DS / IN DS /' >"$DNS_ANCHOR"
	[ -s "$DNS_ANCHOR" ] || fail "keymgr printed no DS for $DNS_ZONE" "$DNS_DIR/keymgr.log"
	bg_start knotd "$DNS_DIR/knot.log" knotd -c "$DNS_DIR/knot.conf"
	KNOT_PID=$BG_PID
	dns_wait_answer "$KNOT_PORT" "$DNS_ZONE" SOA "$KNOT_PID" knotd "$DNS_DIR/knot.log"
	dns_wait_answer "$KNOT_PORT" "$DNS_PLAIN_ZONE" SOA "$KNOT_PID" knotd "$DNS_DIR/knot.log"
	dns_write_unbound
	bg_start unbound "$DNS_DIR/unbound.log" unbound -d -c "$DNS_DIR/unbound.conf"
	UNBOUND_PID=$BG_PID
	dns_wait_answer "$UNBOUND_PORT" "mx.$DNS_ZONE" A "$UNBOUND_PID" unbound "$DNS_DIR/unbound.log"
	log "dns: knotd on $DNS_AUTH ($DNS_ZONE signed, $DNS_PLAIN_ZONE unsigned), unbound on $DNS_RESOLVER"
}

# dns_update - one RFC 2136 update with TSIG through knsupdate.
dns_update() {
	local line zone=$DNS_ZONE
	case $1 in *"$DNS_PLAIN_ZONE "*) zone=$DNS_PLAIN_ZONE ;; esac
	{
		printf 'server 127.0.0.1 %s\nzone %s.\n' "$KNOT_PORT" "$zone"
		for line in "$@"; do printf 'update %s\n' "$line"; done
		printf 'send\n'
	} | knsupdate -t 5 -y "hmac-sha256:$DNS_TSIG_NAME:$DNS_TSIG_SECRET" \
		>"$DNS_DIR/knsupdate.log" 2>&1 ||
		fail "knsupdate failed: $*" "$DNS_DIR/knsupdate.log" "$DNS_DIR/knot.log"
}

# dns_ask - "FLAGS|RCODE|RDATA;RDATA" for NAME TYPE through unbound.
dns_ask() {
	local out flags rcode rdata
	out=$(kdig +time=2 +retry=0 +dnssec @127.0.0.1 -p "$UNBOUND_PORT" "$1" "$2" 2>&1)
	flags=$(printf '%s\n' "$out" | sed -n 's/^;; Flags: \([a-z ]*\);.*/\1/p' | tr -s ' ')
	rcode=$(printf '%s\n' "$out" | sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -n 1)
	rdata=$(kdig +time=2 +retry=0 +short @127.0.0.1 -p "$UNBOUND_PORT" "$1" "$2" 2>/dev/null |
		paste -sd ';' -)
	printf '%s|%s|%s\n' "$flags" "$rcode" "$rdata"
}

# dns_rdata - the rdata lines of NAME TYPE through unbound.
dns_rdata() {
	kdig +time=2 +retry=0 +short @127.0.0.1 -p "$UNBOUND_PORT" "$1" "$2" 2>/dev/null
}

# dns_auth - the rdata lines of NAME TYPE straight from Knot.
dns_auth() {
	kdig +time=2 +retry=0 +short +norecurse @127.0.0.1 -p "$KNOT_PORT" "$1" "$2" 2>/dev/null
}

# dns_auth_has NAME TYPE RDATA - whether Knot serves RDATA (any case/spacing).
dns_auth_has() {
	dns_auth "$1" "$2" | tr 'A-F' 'a-f' | tr -d ' ' | grep -qx "$(echo "$3" | tr 'A-F' 'a-f' | tr -d ' ')"
}

# dns_flush - empty unbound's caches for both zones.
dns_flush() {
	local z
	for z in "$DNS_ZONE" "$DNS_PLAIN_ZONE"; do
		unbound-control -c "$DNS_DIR/unbound.conf" flush_zone "$z" >/dev/null 2>&1 ||
			fail "unbound-control flush_zone $z failed" "$DNS_DIR/unbound.log"
	done
	unbound-control -c "$DNS_DIR/unbound.conf" flush_bogus >/dev/null 2>&1
	unbound-control -c "$DNS_DIR/unbound.conf" flush_infra all >/dev/null 2>&1
	return 0
}

# dns_make_bogus - replace the zone's key by one the anchor does not know.
dns_make_bogus() {
	local c=$DNS_DIR/knot.conf old
	old=$(keymgr -c "$c" "$DNS_ZONE" list 2>/dev/null | awk '{print $1}')
	keymgr -c "$c" "$DNS_ZONE" generate algorithm=13 ksk=yes zsk=yes \
		>>"$DNS_DIR/keymgr.log" 2>&1 || fail "keymgr generate failed" "$DNS_DIR/keymgr.log"
	for k in $old; do
		keymgr -c "$c" "$DNS_ZONE" delete "$k" >>"$DNS_DIR/keymgr.log" 2>&1 ||
			fail "keymgr delete $k failed" "$DNS_DIR/keymgr.log"
	done
	# -b: return once the zone is signed and served with the new key (the
	# event is asynchronous without it; a fixed 0.3 s sleep was all there
	# was between it and the resolver's first look).
	knotc -c "$c" -b zone-sign "$DNS_ZONE" >>"$DNS_DIR/keymgr.log" 2>&1 ||
		fail "knotc zone-sign failed" "$DNS_DIR/keymgr.log" "$DNS_DIR/knot.log"
	dns_flush
}

# dns_tlsa_311 - "3 1 1 HEX": SHA-256 of the SPKI of a certificate or key.
dns_tlsa_311() {
	local hex
	if grep -q 'BEGIN CERTIFICATE' "$1"; then
		hex=$(openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
			sha256sum | cut -d' ' -f1)
	else
		hex=$(openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -d' ' -f1)
	fi
	printf '3 1 1 %s\n' "$hex"
}

# dns_spki - SHA-256 of the SPKI of a certificate or private key file.
dns_spki() {
	dns_tlsa_311 "$1" | cut -d' ' -f4
}

# dns_served_spki - SHA-256 of the SPKI of the leaf served by STARTTLS SMTP on
# 127.0.0.1:PORT (empty when the handshake fails).
dns_served_spki() {
	timeout 10 openssl s_client -connect "127.0.0.1:$1" -starttls smtp \
		-noservername </dev/null 2>/dev/null |
		openssl x509 -noout -pubkey 2>/dev/null |
		openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1 |
		grep -v '^e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855$'
}

# dns_dane_postfix NAME - a real Postfix (mail.sh) on a boot certificate at
# $TEST_TMP/tls/postfix/NAME.pem; prints nothing, sets DANE_POSTFIX_TARGET
# (a [target postfix] section) and DANE_SMTP (smtp://127.0.0.1:PORT).
dns_dane_postfix() {
	local name=$1 t=$TEST_TMP/tls
	mkdir -p "$t/postfix"
	mail_certs "$TEST_TMP/boot" boot.example.test
	mail_replace "$MAIL_COMBINED" "$t/postfix/$name.pem"
	postfix_start "$TEST_TMP/postfix" "$t/postfix/$name.pem"
	DANE_SMTP=smtp://127.0.0.1:$POSTFIX_PORT_SMTP
	DANE_POSTFIX_TARGET=$(printf '%s\n' "[target postfix]" \
		"config = $POSTFIX_DIR/etc" "chain_file = $t/postfix/%n.pem" \
		"reload = $POSTFIX_RELOAD")
}
