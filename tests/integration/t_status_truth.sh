#!/bin/bash
# t_status_truth - `status` tells the truth:
#  - a failed attempt shows (time, result, error) although it never became
#    current, in the table and in --json; it is in last.json;
#  - orphaned state (a cert whose section is gone) is listed;
#  - --nagios: one status line with perfdata days left, exit 0/1/2/3 (OK,
#    WARNING, CRITICAL, UNKNOWN), including CRITICAL for an endpoint that
#    serves another certificate (recorded by `verify`);
#  - --prometheus and metrics_file (rewritten after each run, 0644) parse
#    with prometheus_client's text parser and carry expiry, days left, the
#    last attempt and its result, the live match.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
# Debian's python3-prometheus-client lives in /usr/bin/python3's path (a
# python3 earlier on PATH, e.g. from pyenv, may not see it).
PROM_PY=/usr/bin/python3
[ -x "$PROM_PY" ] || PROM_PY=python3
"$PROM_PY" -c 'import prometheus_client.parser' 2>/dev/null ||
	skip_or_fail "python3-prometheus-client is not installed"
METRICS=$TEST_TMP/metrics/mailcert.prom
mkdir -p "$TEST_TMP/metrics"
free_port tls_port
bg_start s_server "$TEST_TMP/s_server.log" openssl s_server -quiet -accept "127.0.0.1:$tls_port" \
	-cert "$MC_TLS_CERT" -key "$MC_TLS_KEY" -naccept 100
wait_listening "$tls_port" "$BG_PID" "s_server" "$TEST_TMP/s_server.log"

# conf - the config; "$@" are extra [global] lines.
conf() {
	{
		conf_global "$PEBBLE_DIR_URL" "metrics_file = $METRICS" "$@"
		conf_cert good "good.example.test"
		conf_cert broken "broken.example.test" "challenge = dns-01" "dns_hook = /bin/false"
		conf_cert other "other.example.test" "verify_timeout = 2s" \
			${OTHER_VERIFY:+"verify = $OTHER_VERIFY"}
		[ -z "${WITH_OLD:-}" ] || conf_cert old "old.example.test"
	} >"$MC_CONF"
}

WITH_OLD=1 conf
mc_run issue good old other
assert_exit 0 "issue good, old and other"
mc_run issue broken
assert_exit 1 "issue broken"
err_text=$(grep '^mailcert: ' "$MC_ERR" | head -n 1 | sed 's/^mailcert: //')
conf # the [cert old] section is gone: its state is orphaned

# 1. The table: broken's failed attempt and its error; the orphan.
mc_run status
assert_exit 0 "status"
grep -E '^broken .* failed 20[0-9-]+ ' "$MC_OUT" >/dev/null ||
	fail "the failed attempt is not in broken's row" "$MC_OUT"
assert_contains "$MC_OUT" "last issue failed: $err_text"
grep -E '^good .* ok 20[0-9-]+ ' "$MC_OUT" >/dev/null || fail "good's attempt is not ok" "$MC_OUT"
assert_contains "$MC_OUT" "orphaned state"
grep -E '^  old +1 version' "$MC_OUT" >/dev/null || fail "old is not listed as orphaned" "$MC_OUT"

mc_run --json status
assert_exit 0 "status --json"
python3 - "$MC_OUT" "$err_text" <<'PY' || fail "status --json lacks the attempt or the orphan" "$MC_OUT"
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
b = rows["broken"]["last_attempt"]
assert b["result"] == "failed" and b["error"] == sys.argv[2] and b["command"] == "issue", b
assert rows["good"]["last_attempt"]["result"] == "ok"
assert "live" not in rows["good"], rows["good"]  # no targets, no endpoints
assert rows["old"]["orphaned"] is True and rows["old"]["versions"] == 1, rows["old"]
assert "orphaned" not in rows["good"]
PY
python3 -m json.tool "$(cert_dir broken)/last.json" >/dev/null || fail "broken/last.json is not JSON"

# 2. Nagios. broken has no certificate yet: WARNING.
mc_run status --nagios
assert_exit 1 "nagios: no certificate yet is a warning"
head -n 1 "$MC_OUT" >"$TEST_TMP/line"
grep -E "^MAILCERT WARNING - 3 certs: broken no certificate yet \| 'good_days_left'=[0-9]+;[0-9]+;[0-9]+ 'other_days_left'=[0-9]+;[0-9]+;[0-9]+$" \
	"$TEST_TMP/line" >/dev/null || fail "bad Nagios status line" "$MC_OUT"
OTHER_VERIFY=tls://127.0.0.1:$tls_port conf # serves the listener cert
mc_run verify other
assert_exit 3 "verify other"
mc_run status --nagios
assert_exit 2 "nagios: an endpoint serving another certificate is critical"
assert_contains "$MC_OUT" "other: CRITICAL: an endpoint serves another certificate"
# only good: OK, then thresholds in days.
cp "$MC_CONF" "$TEST_TMP/full.conf"
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert good "good.example.test"
} >"$MC_CONF"
mc_run status --nagios
assert_exit 0 "nagios OK"
assert_contains "$MC_OUT" "MAILCERT OK - 1 cert | 'good_days_left'="
mc_run status --nagios --warn 100000
assert_exit 1 "nagios WARNING by --warn"
mc_run status --nagios --crit 100000
assert_exit 2 "nagios CRITICAL by --crit"
"$MAILCERT" -c "$TEST_TMP/no-such.conf" status --nagios >"$TEST_TMP/unknown" 2>&1
assert_eq "$?" 3 "nagios UNKNOWN without a config"
assert_contains "$TEST_TMP/unknown" "MAILCERT UNKNOWN - "
cp "$TEST_TMP/full.conf" "$MC_CONF"

# 3. Prometheus: stdout and the metrics file parse and agree with the state.
mc_run status --prometheus
assert_exit 0 "status --prometheus"
cp "$MC_OUT" "$TEST_TMP/prometheus.txt"
rm -f "$METRICS"
mc_run renew good
assert_exit 0 "renew good (nothing due) rewrites the metrics file"
assert_file_mode "$METRICS" 644
not_after=$(date -d "$(openssl x509 -in "$(cert_dir good)/current/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
for f in "$TEST_TMP/prometheus.txt" "$METRICS"; do
	"$PROM_PY" - "$f" "$not_after" <<'PY' || fail "the metrics of $f are wrong" "$f"
import sys, time
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
m = {}
for fam in text_string_to_metric_families(text):
    assert fam.type == "gauge", fam
    for s in fam.samples:
        m[(s.name, s.labels.get("cert"))] = s.value
not_after = int(sys.argv[2])
assert m[("mailcert_cert_not_after_timestamp_seconds", "good")] == not_after, m
days = m[("mailcert_cert_days_left", "good")]
assert abs(days - (not_after - time.time()) // 86400) <= 1, days
assert m[("mailcert_last_attempt_success", "good")] == 1
assert m[("mailcert_last_attempt_success", "broken")] == 0
assert m[("mailcert_last_attempt_timestamp_seconds", "broken")] > time.time() - 600
assert m[("mailcert_live_match", "other")] == 0
assert ("mailcert_live_match", "good") not in m  # no verify endpoints
assert m[("mailcert_cert_due", "broken")] == 1
assert m[("mailcert_cert_due", "good")] == 0
assert ("mailcert_cert_not_after_timestamp_seconds", "broken") not in m
assert m[("mailcert_orphaned_certs", None)] == 1
PY
done
log "ok"
