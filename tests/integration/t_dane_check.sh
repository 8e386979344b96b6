#!/bin/bash
# t_dane_check - DANE in `check` against a real Postfix serving a Pebble
# certificate, with real DNSSEC (Knot + unbound; the config supplies
# resolver and dnssec_anchor): a matching 3 1 1 gives no DANE finding, a
# mismatching one dane-mismatch (critical, exit 3) naming the records and
# the served SPKI hash, TLSA in an unsigned zone dane-insecure (warning),
# 2 1 1 of the issuing CA matches, a bogus zone is critical with the reason;
# --dane asks it for a submission:// URL too.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=mail.sh
. "$(dirname "$0")/mail.sh"
# shellcheck source=dns.sh
. "$(dirname "$0")/dns.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (postfix drops privileges)"
pebble_start
pebble_fetch_roots
dns_start
dns_dane_postfix mail
{
	conf_global "$PEBBLE_DIR_URL" "resolver = $DNS_RESOLVER" "dnssec_anchor = $DNS_ANCHOR"
	conf_cert mail "mx.$DNS_ZONE mx.$DNS_PLAIN_ZONE" "targets = postfix" "verify = $DANE_SMTP"
	printf '%s\n' "$DANE_POSTFIX_TARGET"
} >"$MC_CONF"
mc_run issue mail
assert_exit 0 "issue for Postfix"
LEAF=$(dns_served_spki "$POSTFIX_PORT_SMTP")
INT_SPKI=$(dns_spki "$PEBBLE_INTERMEDIATE")
P=$POSTFIX_PORT_SMTP

# dane_check ZONE [URL [OPTION]] - run check --json (MC_OUT, MC_RC).
dane_check() {
	local url=${2:-smtp://127.0.0.1:$P}
	mc_run --json check "$url" --servername "mx.$1" --trust-bundle "$PEBBLE_ROOT" --no-fetch ${3:-}
}

# dane_found - "code:severity" of the DANE findings of the last check.
dane_found() {
	python3 - "$MC_OUT" <<'PY' || fail "check --json output is not what it should be" "$MC_OUT" "$MC_ERR"
import json, sys
d = json.load(open(sys.argv[1]))
for f in d["endpoints"][0]["findings"]:
    if f["code"].startswith("dane-"):
        print("%s:%s%s" % (f["code"], f["severity"], ":not-tested" if f["not_tested"] else ""))
PY
}

# 1. Matching 3 1 1 of the served leaf: no DANE finding.
dns_update "add _$P._tcp.mx.$DNS_ZONE $DNS_TTL TLSA 3 1 1 $LEAF"
dane_check "$DNS_ZONE"
got=$(dane_found)
assert_eq "$got" "" "matching 3 1 1"

# 2. 2 1 1 of the issuing CA (Pebble's intermediate) matches as well.
dns_update "delete _$P._tcp.mx.$DNS_ZONE TLSA" "add _$P._tcp.mx.$DNS_ZONE $DNS_TTL TLSA 2 1 1 $INT_SPKI"
sleep $((DNS_TTL + 1))
dane_check "$DNS_ZONE"
got=$(dane_found)
assert_eq "$got" "" "2 1 1 of the issuing CA"

# 3. A record for another key: dane-mismatch, critical, exit 3, names both.
OTHER=$(printf 'other' | sha256sum | cut -d' ' -f1)
dns_update "delete _$P._tcp.mx.$DNS_ZONE TLSA" "add _$P._tcp.mx.$DNS_ZONE $DNS_TTL TLSA 3 1 1 $OTHER"
sleep $((DNS_TTL + 1))
dane_check "$DNS_ZONE"
got=$(dane_found)
assert_eq "$got" "dane-mismatch:critical" "mismatching 3 1 1"
assert_exit 3 "check with a DANE mismatch"
assert_contains "$MC_OUT" "3 1 1 $OTHER"
assert_contains "$MC_OUT" "$LEAF"
mc_run check "smtp://127.0.0.1:$P" --servername "mx.$DNS_ZONE" --trust-bundle "$PEBBLE_ROOT" --no-fetch
assert_exit 3 "text output"
assert_contains "$MC_OUT" "dane-mismatch"

# 4. --dane for a submission:// URL looks up _PORT._tcp for that port.
SP=$POSTFIX_PORT_SUB
dns_update "add _$SP._tcp.mx.$DNS_ZONE $DNS_TTL TLSA 3 1 1 $OTHER"
dane_check "$DNS_ZONE" "submission://127.0.0.1:$SP"
got=$(dane_found)
assert_eq "$got" "" "submission:// without --dane is not looked up"
dane_check "$DNS_ZONE" "submission://127.0.0.1:$SP" --dane
got=$(dane_found)
assert_eq "$got" "dane-mismatch:critical" "submission:// with --dane"

# 5. An unsigned zone: dane-insecure, a warning.
dns_update "add _$P._tcp.mx.$DNS_PLAIN_ZONE $DNS_TTL TLSA 3 1 1 $LEAF"
dane_check "$DNS_PLAIN_ZONE"
got=$(dane_found)
assert_eq "$got" "dane-insecure:warning" "TLSA in an unsigned zone"
assert_contains "$MC_OUT" "not DNSSEC-secure"

# 6. A bogus zone: critical, with the validator's reason.
dns_make_bogus
dane_check "$DNS_ZONE"
got=$(dane_found)
assert_eq "$got" "dane-mismatch:critical" "bogus TLSA"
assert_contains "$MC_OUT" "bogus"
