#!/bin/bash
# t_dane_nsupdate - nsupdate_server + nsupdate_key (RFC 2136 with TSIG,
# BIND key-file syntax) against Knot: dns-01 without a dns_hook (Pebble's
# VA asks Knot), the next key's TLSA published by mailcert itself, the
# switch after 2 x TTL verified live on Postfix, the old record deleted
# after the TTL; a wrong TSIG secret fails with the server's answer and
# changes nothing.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=mail.sh
. "$(dirname "$0")/mail.sh"
# shellcheck source=dns.sh
. "$(dirname "$0")/dns.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (postfix drops privileges)"
dns_start
pebble_start --dns "$DNS_AUTH"
dns_dane_postfix mail
TLSA_NAME=_25._tcp.mx.$DNS_ZONE

# nsupdate_config KEYFILE - the config with dns-01 and TLSA through nsupdate.
nsupdate_config() {
	{
		conf_global "$PEBBLE_DIR_URL" "resolver = $DNS_RESOLVER" \
			"dnssec_anchor = $DNS_ANCHOR" "nsupdate_server = $DNS_AUTH" \
			"nsupdate_key = $1"
		conf_cert mail "mx.$DNS_ZONE" "challenge = dns-01" "targets = postfix" \
			"verify = $DANE_SMTP" "verify_timeout = 8s" "tlsa = $TLSA_NAME"
		printf '%s\n' "$DANE_POSTFIX_TARGET"
	} >"$MC_CONF"
}
V=$MC_STATE/certs/mail/versions
NEXT=$MC_STATE/certs/mail/next.key

# in_dns RECORD - whether Knot serves RECORD at TLSA_NAME.
in_dns() {
	dns_auth_has "$TLSA_NAME" TLSA "$1"
}

# 1. A wrong secret: the server says NOTAUTH, the order fails, nothing stored.
sed "s|secret \".*\"|secret \"$(openssl rand -base64 32)\"|" "$DNS_TSIG_FILE" >"$TEST_TMP/wrong.key"
nsupdate_config "$TEST_TMP/wrong.key"
mc_run issue mail
assert_exit 1 "dns-01 with a wrong TSIG key"
assert_contains "$MC_ERR" "NOTAUTH"
assert_contains "$MC_ERR" "$DNS_AUTH"
assert_no_path "$MC_STATE/certs/mail/current"

# 2. dns-01 through nsupdate; the next key's TLSA published by mailcert.
nsupdate_config "$DNS_TSIG_FILE"
mc_run issue mail
assert_exit 0 "dns-01 through nsupdate"
assert_contains "$MC_ERR" "nsupdate $DNS_AUTH: add _acme-challenge.mx.$DNS_ZONE TXT"
assert_contains "$MC_ERR" "nsupdate $DNS_AUTH: delete _acme-challenge.mx.$DNS_ZONE TXT"
[ -z "$(dns_auth "_acme-challenge.mx.$DNS_ZONE" TXT)" ] || fail "the TXT record was left behind"
K1=$(dns_spki "$V/0001/privkey.pem")
N1=$(dns_spki "$NEXT")
in_dns "3 1 1 $N1" || fail "mailcert did not publish the next key's record"
dns_update "add $TLSA_NAME $DNS_TTL TLSA 3 1 1 $K1" # bootstrap: the current key, by hand

# 3. A run with nothing due notes the record; after 2 x TTL the switch.
mc_run renew
assert_exit 0 "renew, nothing due"
assert_contains "$MC_ERR" "2 x TTL"
sleep $((2 * DNS_TTL + 1))
mc_run renew --force
assert_exit 0 "renew after 2 x TTL"
assert_eq "$(dns_spki "$V/0002/privkey.pem")" "$N1" "version 2 uses the next key"
assert_eq "$(dns_served_spki "$POSTFIX_PORT_SMTP")" "$N1" "Postfix serves the next key"
N2=$(dns_spki "$NEXT")
in_dns "3 1 1 $N2" || fail "the new next key's record was not published"

# 4. After the TTL the old record goes.
sleep $((DNS_TTL + 1))
mc_run renew
assert_exit 0 "renew, nothing due, after the TTL"
in_dns "3 1 1 $K1" && fail "the old key's record is still in DNS"
in_dns "3 1 1 $N1" || fail "the live key's record is gone"
assert_contains "$MC_ERR" "removed TLSA $TLSA_NAME 3 1 1 $K1"
