#!/bin/bash
# t_dns_testbed - the DNSSEC testbed itself (dns.sh): Knot signs dane.test
# and takes TSIG-signed updates, unbound validates with the zone's anchor;
# the unsigned zone is insecure; a wrong key makes answers bogus (SERVFAIL);
# an update without the key is refused.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=dns.sh
. "$(dirname "$0")/dns.sh"

dns_start
TLSA="3 1 1 $(printf 'x' | sha256sum | cut -d' ' -f1)"

# 1. A signed answer is secure (AD), an unsigned zone's is not.
got=$(dns_ask "mx.$DNS_ZONE" A)
case $got in *ad*"|NOERROR|127.0.0.1") ;; *) fail "mx.$DNS_ZONE A: want a secure 127.0.0.1, got '$got'" "$DNS_DIR/unbound.log" ;; esac
got=$(dns_ask "mx.$DNS_PLAIN_ZONE" A)
case $got in *ad*) fail "mx.$DNS_PLAIN_ZONE A is secure but the zone is unsigned: '$got'" ;; *"|NOERROR|127.0.0.1") ;; *) fail "mx.$DNS_PLAIN_ZONE A: '$got'" ;; esac

# 2. A TSIG-signed update adds a TLSA record, signed and validated within TTL.
dns_update "add _25._tcp.mx.$DNS_ZONE $DNS_TTL TLSA $TLSA"
got=$(dns_ask "_25._tcp.mx.$DNS_ZONE" TLSA)
case $got in *ad*"|NOERROR|"*) ;; *) fail "TLSA after the update: '$got'" "$DNS_DIR/knot.log" ;; esac
[ "$(dns_auth "_25._tcp.mx.$DNS_ZONE" TLSA | tr 'A-F' 'a-f' | tr -d ' ')" = "$(echo "$TLSA" | tr -d ' ')" ] ||
	fail "Knot serves '$(dns_auth "_25._tcp.mx.$DNS_ZONE" TLSA)', expected '$TLSA'"

# 3. An update with a wrong key is refused and changes nothing.
printf 'server 127.0.0.1 %s\nzone %s.\nupdate delete _25._tcp.mx.%s TLSA\nsend\n' \
	"$KNOT_PORT" "$DNS_ZONE" "$DNS_ZONE" |
	knsupdate -t 5 -y "hmac-sha256:$DNS_TSIG_NAME:$(openssl rand -base64 32)" \
		>"$TEST_TMP/badkey.log" 2>&1 && fail "an update with a wrong TSIG key was accepted"
[ -n "$(dns_auth "_25._tcp.mx.$DNS_ZONE" TLSA)" ] || fail "the refused update removed the record"

# 4. Delete works and is seen within the TTL.
dns_update "delete _25._tcp.mx.$DNS_ZONE TLSA"
sleep $((DNS_TTL + 1)) # unbound counts the TTL down to 0 inclusive
got=$(dns_ask "_25._tcp.mx.$DNS_ZONE" TLSA)
case $got in *ad*"|NXDOMAIN|") ;; *) fail "TLSA after the delete: want a secure NXDOMAIN, got '$got'" ;; esac

# 5. Re-signed with a key the anchor does not know: bogus, SERVFAIL.
dns_make_bogus
got=$(dns_ask "mx.$DNS_ZONE" A)
case $got in *"|SERVFAIL|"*) ;; *) fail "after dns_make_bogus: want SERVFAIL, got '$got'" "$DNS_DIR/unbound.log" ;; esac
got=$(kdig +time=2 +retry=0 +cd @127.0.0.1 -p "$UNBOUND_PORT" "mx.$DNS_ZONE" A +short)
[ "$got" = 127.0.0.1 ] || fail "with CD set the bogus data should still come through: '$got'"
log "testbed ok: secure, insecure, TSIG update, bogus"
