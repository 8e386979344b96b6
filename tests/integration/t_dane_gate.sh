#!/bin/bash
# t_dane_gate - the TLSA gate with no way to publish (no tlsa_hook, no
# nsupdate_server), real DNSSEC (Knot + unbound) and a real Postfix:
#   - TLSA only for the current key: `renew --force` keeps the key (the SPKI
#     Postfix serves is unchanged), exit 0, and says which record to publish
#     where; `tlsa` prints both keys' records;
#   - `deploy --version` of a version with another key is refused (exit 1,
#     nothing changed), --force overrides, `rollback` to the pinned key works;
#   - bogus DNS (zone re-signed with a key the anchor does not know): deploy
#     is refused with unbound's reason, renew keeps the key and says why;
#   - tlsa names in an unsigned zone: insecure, refused.
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

# gate_config [TLSA|none] [extra cert lines...] - the config (tlsa name
# default: the signed zone's; none: no tlsa).
gate_config() {
	local tlsa=${1:-$TLSA_NAME}
	[ "$tlsa" != none ] || tlsa=""
	shift $(($# > 0 ? 1 : 0))
	{
		conf_global "$PEBBLE_DIR_URL" "resolver = $DNS_RESOLVER" "dnssec_anchor = $DNS_ANCHOR"
		conf_cert mail "mx.$DNS_ZONE" "targets = postfix" "verify = $DANE_SMTP" \
			"verify_timeout = 8s" ${tlsa:+"tlsa = $tlsa"} "$@"
		printf '%s\n' "$DANE_POSTFIX_TARGET"
	} >"$MC_CONF"
}
V=$MC_STATE/certs/mail/versions

gate_config
mc_run issue mail
assert_exit 0 "first issuance"
K1=$(dns_spki "$V/0001/privkey.pem")
assert_eq "$(dns_served_spki "$POSTFIX_PORT_SMTP")" "$K1" "Postfix serves version 1"
assert_file_mode "$MC_STATE/certs/mail/next.key" 600
N1=$(dns_spki "$MC_STATE/certs/mail/next.key")
assert_ne "$N1" "$K1" "the next key differs from the current one"

# tlsa: zone-file lines for the current and the next key (and JSON).
mc_run tlsa mail
assert_exit 0 "tlsa"
assert_contains "$MC_OUT" "$TLSA_NAME. IN TLSA 3 1 1 $K1"
assert_contains "$MC_OUT" "$TLSA_NAME. IN TLSA 3 1 1 $N1"
mc_run --json tlsa mail
assert_exit 0 "tlsa --json"
python3 - "$MC_OUT" "$K1" "$N1" <<'PY' || fail "tlsa --json is wrong" "$MC_OUT"
import json, sys
d = json.load(open(sys.argv[1]))
keys = {r["key"]: r["record"] for r in d["records"]}
assert keys == {"current": "3 1 1 " + sys.argv[2], "next": "3 1 1 " + sys.argv[3]}, keys
PY

# 1. Only the current key is in DNS: renew keeps it and says what to publish.
dns_update "add $TLSA_NAME $DNS_TTL TLSA 3 1 1 $K1"
mc_run renew --force
assert_exit 0 "renew with only the current key's TLSA"
assert_eq "$(dns_spki "$V/0002/privkey.pem")" "$K1" "version 2 keeps the current key"
assert_eq "$(dns_served_spki "$POSTFIX_PORT_SMTP")" "$K1" "Postfix serves the same SPKI"
assert_contains "$MC_ERR" "publish \"$TLSA_NAME. IN TLSA 3 1 1 $N1\""
[ "$(grep -c 'publish "' "$MC_ERR")" = 1 ] || fail "the record to publish is said more than once" "$MC_ERR"

# 2. A version with another key: deploy --version is refused, nothing changes.
gate_config none "reuse_key = no"
mc_run issue mail
assert_exit 0 "issue without tlsa, reuse_key = no"
K3=$(dns_spki "$V/0003/privkey.pem")
assert_ne "$K3" "$K1" "version 3 has another key"
gate_config
mc_run deploy mail --version 2
assert_exit 0 "deploy of a pinned version"
cur_before=$(readlink "$MC_STATE/certs/mail/current")
sum_before=$(sha256sum <"$TEST_TMP/tls/postfix/mail.pem")
mc_run deploy mail --version 3
assert_exit 1 "deploy --version 3 (key not in DNS)"
assert_contains "$MC_ERR" "refused"
assert_contains "$MC_ERR" "$K3"
assert_eq "$(readlink "$MC_STATE/certs/mail/current")" "$cur_before" "current after the refusal"
assert_eq "$(sha256sum <"$TEST_TMP/tls/postfix/mail.pem")" "$sum_before" "the postfix file after the refusal"
assert_eq "$(dns_served_spki "$POSTFIX_PORT_SMTP")" "$K1" "Postfix still serves the pinned key"
mc_run deploy mail --version 3 --force
assert_exit 0 "deploy --version 3 --force"
assert_eq "$(dns_served_spki "$POSTFIX_PORT_SMTP")" "$K3" "--force deployed version 3"
mc_run rollback mail
assert_exit 0 "rollback to the pinned key"
assert_eq "$(dns_served_spki "$POSTFIX_PORT_SMTP")" "$K1" "rolled back to the pinned key"

# 3. Bogus DNS: the gate refuses with the validator's reason.
dns_make_bogus
mc_run deploy mail --version 2
assert_exit 1 "deploy while the zone is bogus"
assert_contains "$MC_ERR" "bogus"
mc_run renew --force
assert_exit 0 "renew while the zone is bogus"
last=$(ls "$V" | tail -n 1)
assert_eq "$(dns_spki "$V/$last/privkey.pem")" "$K1" "renew keeps the current key while DNS is bogus"
assert_contains "$MC_ERR" "bogus"

# 4. An unsigned zone: insecure, refused.
gate_config "_25._tcp.mx.$DNS_PLAIN_ZONE"
dns_update "add _25._tcp.mx.$DNS_PLAIN_ZONE $DNS_TTL TLSA 3 1 1 $K1"
mc_run deploy mail
assert_exit 1 "deploy with an insecure TLSA RRset"
assert_contains "$MC_ERR" "not DNSSEC-secure"
