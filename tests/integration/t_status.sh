#!/bin/bash
# t_status - `status` prints one row per cert (names, key type, not-after,
# days left); `--json status` is valid JSON with the same fields.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert mail "mail.example.test smtp.example.test"
	conf_cert imap "imap.example.test" | sed 's/^key_type = .*/key_type = rsa-2048/'
} >"$MC_CONF"

# Before any issuance: both certs listed, exit 0.
mc_run status
assert_exit 0 "status before any issuance"
assert_contains "$MC_OUT" "mail"
assert_contains "$MC_OUT" "imap"

mc_run issue mail
assert_exit 0 "issue mail"
cert=$(cert_dir mail)/current/cert.pem
end=$(openssl x509 -in "$cert" -noout -enddate | cut -d= -f2)
end_s=$(date -d "$end" +%s)
days=$(((end_s - $(date +%s)) / 86400))
year=$(date -u -d "$end" +%Y)

mc_run status
assert_exit 0 "status"
row=$(grep 'mail.example.test' "$MC_OUT") || fail "no row names mail.example.test" "$MC_OUT"
printf '%s\n' "$row" >"$TEST_TMP/row"
assert_contains "$TEST_TMP/row" "ecdsa-p256" "key type in the row"
assert_contains "$TEST_TMP/row" "$year" "not-after year in the row"
grep -qwE "($days|$((days - 1))|$((days + 1)))" "$TEST_TMP/row" ||
	fail "the row does not show $days days left" "$TEST_TMP/row"
assert_contains "$MC_OUT" "imap.example.test" "the not yet issued cert has a row"

mc_run --json status
assert_exit 0 "--json status"
python3 -m json.tool "$MC_OUT" >/dev/null || fail "status --json is not valid JSON" "$MC_OUT"
python3 - "$MC_OUT" "$days" <<'PY' || fail "status --json lacks fields" "$MC_OUT"
import json, re, sys
doc = json.load(open(sys.argv[1]))
days = int(sys.argv[2])
norm = lambda d: {re.sub(r"[^a-z]", "", k.lower()): v for k, v in d.items()}
rows = doc if isinstance(doc, list) else next(v for v in doc.values() if isinstance(v, list))
rows = [norm(r) for r in rows]
mail = next(r for r in rows if r.get("name") == "mail")
assert sorted(mail["names"]) == ["mail.example.test", "smtp.example.test"], mail
assert mail["keytype"] == "ecdsa-p256", mail
assert str(mail["notafter"])[:2] == "20", mail
assert abs(int(mail["daysleft"]) - days) <= 1, mail
assert any(r.get("name") == "imap" for r in rows), rows
PY
