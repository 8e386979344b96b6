#!/bin/bash
# t_issue_ip - IP address identifiers (RFC 8738) against Pebble (-strict):
# a certificate for 127.0.0.1 via http-01 (beside a DNS name) and via
# tls-alpn-01 (Pebble asks by the reverse-DNS SNI name
# 1.0.0.127.in-addr.arpa, RFC 8738 section 6); newOrder carries
# {"type": "ip"}, the certificate an iPAddress SAN. dns-01 for an address
# is a configuration error (exit 2), before any request; so are a
# bracketed or malformed address.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
pebble_fetch_roots
d=$(cert_dir mail)

# ip_sans FILE - the IP address SANs of a certificate, one per line.
ip_sans() {
	openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
		tr ',' '\n' | sed -n 's/^ *IP Address://p'
}

# Rows: label | names | challenge
# Each row's order must be asked its challenge for 127.0.0.1, which the
# row before validated: authz_forget first (Pebble may hand back a
# still-valid authorization even with PEBBLE_AUTHZREUSE=0).
ROWS=(
	"http-01, an address beside a DNS name|127.0.0.1 ip.example.test|http-01"
	"tls-alpn-01, the address alone|127.0.0.1|tls-alpn-01"
)
n=0
for row in "${ROWS[@]}"; do
	IFS='|' read -r label names chall <<<"$row"
	n=$((n + 1))
	# shellcheck disable=SC2086
	write_config mail "$names" "challenge = $chall"
	authz_forget
	mc_run -v issue mail
	assert_exit 0 "$label"
	# shellcheck disable=SC2086
	assert_issued mail $names
	assert_eq "$(ip_sans "$d/current/cert.pem")" "127.0.0.1" "$label: iPAddress SAN"
	assert_eq "$(version_count mail)" "$n" "$label: one new version"
	python3 -c 'import json,sys; sys.exit("127.0.0.1" not in json.load(open(sys.argv[1]))["names"])' \
		"$d/current/meta.json" || fail "$label: meta.json lacks the address" "$d/current/meta.json"
	# The tls-alpn-01 responder was asked by the reverse name (its debug line).
	[ "$chall" != tls-alpn-01 ] ||
		assert_contains "$MC_ERR" "answered for 1.0.0.127.in-addr.arpa" "tls-alpn-01 SNI"
done

# Failure rows: label | names | extra line | stderr fragment. All exit 2
# and make no request (the CA is stopped first to prove it).
pebble_stop
BAD=(
	"dns-01 for an address|mail.example.test 127.0.0.1|challenge = dns-01;dns_hook = /bin/true|\"127.0.0.1\" is an IP address, which dns-01 cannot prove"
	"bracketed IPv6|[::1]||neither a DNS name nor an IPv6 address"
	"three-part IPv4|127.0.1||neither a DNS name nor an IPv4 address"
)
for row in "${BAD[@]}"; do
	IFS='|' read -r label names extra frag <<<"$row"
	IFS=';' read -r -a lines <<<"$extra"
	# shellcheck disable=SC2086
	write_config mail "$names" "${lines[@]}"
	mc_run issue mail
	assert_exit 2 "$label"
	assert_contains "$MC_ERR" "$frag" "$label"
	assert_contains "$MC_ERR" "mailcert.conf:" "$label: the message names the file"
done
assert_eq "$(version_count mail)" 2 "nothing new stored by the failures"
