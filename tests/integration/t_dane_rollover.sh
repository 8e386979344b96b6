#!/bin/bash
# t_dane_rollover - a full DANE "current + next" rollover on real DNSSEC
# (Knot + unbound) and a real Postfix, publishing through tlsa_hook (a
# script that sends RFC 2136 updates with knsupdate):
#   issue -> the hook publishes the next key's 3 1 1; the current key's
#   record is bootstrapped by hand; renew --force at once keeps the current
#   key (the next record is not yet 2 x TTL old); after 2 x TTL renew --force
#   switches to the next key, verified live (SPKI Postfix serves); a new next
#   key is made and published; after the TTL a run removes the old record;
#   `tlsa` shows the new pair.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=mail.sh
. "$(dirname "$0")/mail.sh"
# shellcheck source=dns.sh
. "$(dirname "$0")/dns.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (postfix drops privileges)"
pebble_start
dns_start
dns_dane_postfix mail
TLSA_NAME=_25._tcp.mx.$DNS_ZONE
HOOKLOG=$TEST_TMP/tlsa-hook.log
# mailcert runs hooks with a clean environment: the values are in the script.
cat >"$TEST_TMP/tlsa-hook" <<HOOK
#!/bin/sh
echo "\$1 \$2 \$3" >>"$HOOKLOG"
case \$1 in
add) u="update add \$2 $DNS_TTL TLSA \$3" ;;
del) u="update delete \$2 TLSA \$3" ;;
*) echo "unknown operation \$1" >&2; exit 2 ;;
esac
printf 'server 127.0.0.1 %s\nzone %s.\n%s\nsend\n' $KNOT_PORT $DNS_ZONE "\$u" |
	knsupdate -t 5 -y "hmac-sha256:$DNS_TSIG_NAME:$DNS_TSIG_SECRET"
HOOK
chmod 755 "$TEST_TMP/tlsa-hook"
{
	conf_global "$PEBBLE_DIR_URL" "resolver = $DNS_RESOLVER" "dnssec_anchor = $DNS_ANCHOR"
	conf_cert mail "mx.$DNS_ZONE" "targets = postfix" "verify = $DANE_SMTP" \
		"verify_timeout = 8s" "tlsa = $TLSA_NAME" "tlsa_hook = $TEST_TMP/tlsa-hook"
	printf '%s\n' "$DANE_POSTFIX_TARGET"
} >"$MC_CONF"
V=$MC_STATE/certs/mail/versions
NEXT=$MC_STATE/certs/mail/next.key

# in_dns RECORD - whether Knot serves RECORD at TLSA_NAME.
in_dns() {
	dns_auth_has "$TLSA_NAME" TLSA "$1"
}

mc_run issue mail
assert_exit 0 "issue"
K1=$(dns_spki "$V/0001/privkey.pem")
N1=$(dns_spki "$NEXT")
assert_contains "$HOOKLOG" "add $TLSA_NAME 3 1 1 $N1"
in_dns "3 1 1 $N1" || fail "the hook did not publish the next key's record"
dns_update "add $TLSA_NAME $DNS_TTL TLSA 3 1 1 $K1" # bootstrap: the current key, by hand
log "published: $(dns_rdata "$TLSA_NAME" TLSA | paste -sd '|' -)"

# At once: the next record is younger than 2 x TTL; keep the current key.
mc_run renew --force
assert_exit 0 "renew right after publishing"
assert_eq "$(dns_spki "$V/0002/privkey.pem")" "$K1" "version 2 keeps the current key"
assert_contains "$MC_ERR" "2 x TTL"
[ "$(grep -c "add $TLSA_NAME" "$HOOKLOG")" = 1 ] || fail "the next record was published twice" "$HOOKLOG"

# After 2 x TTL: switch to the next key, live.
sleep $((2 * DNS_TTL + 1))
mc_run renew --force
assert_exit 0 "renew after 2 x TTL"
assert_contains "$MC_ERR" "switching to it"
assert_eq "$(dns_spki "$V/0003/privkey.pem")" "$N1" "version 3 uses the next key"
assert_eq "$(dns_served_spki "$POSTFIX_PORT_SMTP")" "$N1" "Postfix serves the next key"
N2=$(dns_spki "$NEXT")
assert_ne "$N2" "$N1" "a new next key was made"
assert_file_mode "$NEXT" 600
assert_contains "$HOOKLOG" "add $TLSA_NAME 3 1 1 $N2"
in_dns "3 1 1 $K1" || fail "the old record was removed before the TTL passed"

# After the TTL: a run (nothing due) removes the old key's record.
sleep $((DNS_TTL + 1))
mc_run renew
assert_exit 0 "renew, nothing due"
assert_contains "$HOOKLOG" "del $TLSA_NAME 3 1 1 $K1"
in_dns "3 1 1 $K1" && fail "the old key's record is still in DNS"
in_dns "3 1 1 $N1" || fail "the live key's record is gone"
in_dns "3 1 1 $N2" || fail "the new next key's record is missing"
log "after the rollover: $(dns_rdata "$TLSA_NAME" TLSA | paste -sd '|' -); live SPKI $(dns_served_spki "$POSTFIX_PORT_SMTP")"
mc_run tlsa mail
assert_exit 0 "tlsa"
assert_contains "$MC_OUT" "$TLSA_NAME. IN TLSA 3 1 1 $N1"
assert_contains "$MC_OUT" "$TLSA_NAME. IN TLSA 3 1 1 $N2"
assert_not_contains "$MC_OUT" "$K1"
# The retired key's version may not come back.
mc_run deploy mail --version 2
assert_exit 1 "deploy of the retired key"
