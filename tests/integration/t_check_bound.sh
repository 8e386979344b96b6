#!/bin/bash
# shellcheck disable=SC2154
#
# t_check_bound.sh - `mailcert check --parallel N` opens at most 4
# connections at once to one server, whatever the number of its endpoints
# checked at once (issue 14: "bounded per server so a small server is not
# flooded"). A server is an IP address after resolution.
#
# Seen for real: `check --parallel 8` over the ten endpoints of one host
# (Postfix smtp/submission/smtps, Dovecot imap/imaps/pop3/pop3s/sieve,
# Exim smtp/smtps) kept each endpoint's probes at 4 at once but ran 8
# endpoints together: up to 32 connections at once to 127.0.0.1.
#
# The servers are the harness's real Postfix, Dovecot and Exim
# (mailstack.sh, all on 127.0.0.1), checked with the same URL twice and
# under a second name (localhost) besides. The count comes from
# mailcert's debug log: "probe connection to ADDR port N: opening" is
# written before socket() and "...: closed" after close(), so the open
# lines minus the closed lines at any point of the log is at least the
# number of sockets open then: their maximum per address must not pass 4
# (and must reach 2: the probes still run in parallel). Every opening has
# its closing. Then the same URLs --parallel 1: the same report (the
# bound changes timing, never output order or findings), every line
# naming its daemon (the banners here name them), implicit TLS included.
# No timing is asserted. Needs root (the daemons); skipped (77) without, a failure
# under CI=true.

. "$MC_TESTS_DIR/integration/lib.sh"
# shellcheck source=tests/integration/mailstack.sh
. "$MC_TESTS_DIR/integration/mailstack.sh"
# shellcheck source=tests/integration/checkmail.sh
. "$MC_TESTS_DIR/integration/checkmail.sh"
mail_init
require_cmd python3

# banners that name their daemons (the harness's do not), so that every
# line must name one
# shellcheck disable=SC2016 # Postfix expands it
MAIL_POSTFIX_BANNER='$myhostname ESMTP Postfix (Debian/GNU)'
mailstack_start bound
exim_set "s|^smtp_banner = .*|smtp_banner = \$primary_hostname ESMTP Exim \$version_number|"
# Dovecot's first login greets only once its auth process is up: wait, so
# both runs hear every daemon's greeting.
dovecot_greets || fail "Dovecot's imaps never greeted"

# shellcheck disable=SC2206
URLS=($MAILSTACK_URLS "smtp://127.0.0.1:$POSTFIX_PORT_SMTP"
	"smtp://localhost:$POSTFIX_PORT_SMTP" "imaps://localhost:$DOVECOT_PORT_IMAPS")

# check_run - OUT PARALLEL: check every URL with the debug log.
check_run() {
	timeout -k 5 120 "$MAILCERT" -v check --json --trust-bundle "$MAIL_CA_CERT" \
		--servername boot.example.test --timeout 5 --no-fetch --parallel "$2" \
		"${URLS[@]}" >"$TEST_TMP/$1.json" 2>"$TEST_TMP/$1.err" </dev/null
	RC=$?
	# 0, or 3 for the harness's opportunistic TLS 1.0 (profile strict is
	# not asked, but submission's warnings are not critical either)
	case $RC in
	0 | 3) ;;
	*) fail "check --parallel $2: exit $RC" "$TEST_TMP/$1.err" ;;
	esac
}

# max_open - ERRLOG: "ADDR MAX OPENED" per address, from the debug lines;
# fails on a closing without an opening or an opening never closed.
max_open() {
	python3 - "$1" <<'EOF'
import re, sys
now, peak, opened = {}, {}, {}
pat = re.compile(r"probe connection to (\S+) port \d+: (opening|closed)$")
for line in open(sys.argv[1], errors="replace"):
    m = pat.search(line.rstrip("\n"))
    if not m:
        continue
    a, what = m.group(1), m.group(2)
    if what == "opening":
        now[a] = now.get(a, 0) + 1
        opened[a] = opened.get(a, 0) + 1
        peak[a] = max(peak.get(a, 0), now[a])
    else:
        now[a] = now.get(a, 0) - 1
        if now[a] < 0:
            sys.exit("%s: closed without an opening" % a)
left = {a: n for a, n in now.items() if n}
if left:
    sys.exit("never closed: %s" % left)
for a in sorted(peak):
    print(a, peak[a], opened[a])
EOF
}

check_run par8 8
counts=$(max_open "$TEST_TMP/par8.err") || fail "the debug log does not add up" "$TEST_TMP/par8.err"
log "connections at once per address (address, most at once, in all):"
log "$counts"
peak=$(awk '$1 == "127.0.0.1" {print $2}' <<<"$counts")
total=$(awk '$1 == "127.0.0.1" {print $3}' <<<"$counts")
[ -n "$peak" ] || fail "no probe connection to 127.0.0.1 in the debug log" "$TEST_TMP/par8.err"
# 13 endpoints, 6 connections or more each
[ "$total" -ge 78 ] || fail "only $total connections to 127.0.0.1 logged" "$TEST_TMP/par8.err"
[ "$peak" -le 4 ] || fail "$peak connections at once to 127.0.0.1 (at most 4)" "$TEST_TMP/par8.err"
[ "$peak" -ge 2 ] || fail "the probes never overlapped (at most $peak at once)" "$TEST_TMP/par8.err"
while read -r addr p _; do
	[ "$p" -le 4 ] || fail "$p connections at once to $addr (at most 4)" "$TEST_TMP/par8.err"
done <<<"$counts"
log "ok: at most $peak connections at once to 127.0.0.1 over $total, --parallel 8"

# The same report one endpoint at a time.
check_run par1 1
for r in par8 par1; do
	python3 - "$TEST_TMP/$r.json" >"$TEST_TMP/$r.sum" <<'EOF' || fail "$r: no JSON" "$TEST_TMP/$r.json"
import json, sys
for e in json.load(open(sys.argv[1]))["endpoints"]:
    print(e["url"], e["server"], e["outcome"], e["worst"], len(e["chains"]))
    for f in e["findings"]:
        print("  ", f["code"], f["label"], f["severity"], f["chain"], f["text"])
EOF
done
# Every line the same, each naming its daemon: check reads an
# implicit-TLS greeting as a client does, however late it comes (a
# Dovecot whose login processes start one after another under load
# greeted after the 100 ms check once listened: the daemon went unnamed
# in one run; t_check_greeting holds the greeting for real).
diff "$TEST_TMP/par1.sum" "$TEST_TMP/par8.sum" >"$TEST_TMP/sum.diff" ||
	fail "--parallel 8 reports differently from --parallel 1" "$TEST_TMP/sum.diff"
for r in par8 par1; do
	while read -r url server _; do
		case ${url##*:} in
		"$POSTFIX_PORT_SMTP" | "$POSTFIX_PORT_SUB" | "$POSTFIX_PORT_SMTPS") want=postfix ;;
		"$EXIM_PORT_SMTP" | "$EXIM_PORT_SMTPS") want=exim ;;
		*) want=dovecot ;;
		esac
		[ "$server" = "$want" ] || fail "$r: $url names '$server', not $want" "$TEST_TMP/$r.sum"
	done < <(grep '^[a-z0-9]*://' "$TEST_TMP/$r.sum")
done
[ "$(grep -c '^[a-z0-9]*://' "$TEST_TMP/par8.sum")" = "${#URLS[@]}" ] ||
	fail "not every URL reported" "$TEST_TMP/par8.sum"
log "ok: --parallel 8 and --parallel 1 give the same report (${#URLS[@]} endpoints)"
