#!/bin/bash
# t_ari_renew - `renew` with ARI (RFC 9773). Pebble 2.4 has no renewalInfo,
# so after a real issuance from Pebble the directory is pointed at
# fakeca.py (the hand-written stand-in CA, mode ari) for the polls, and
# meta.json names it as the issuing directory:
#   - a window in the future: not due; a random moment inside the window is
#     kept in meta.json with the next poll after Retry-After (3600 s);
#   - a second run before that makes no request at all;
#   - a window in the past: due ("ARI window"), and renew orders.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
write_config mail "mail.example.test"
mc_run issue mail
assert_exit 0 "issue from Pebble"
meta=$MC_STATE/certs/mail/current/meta.json
grep -q '"ari_cert_id"' "$meta" || fail "meta.json has no ARI certID" "$meta"

# set_next_poll - make the next ARI poll due now, and record the stand-in
# CA's directory as the one that issued the certificate (a certificate from
# another directory is due by itself: "directory changed").
set_next_poll() {
	python3 - "$meta" "$FAKECA_DIR_URL" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["ari_next_poll"] = 1
m["directory"] = sys.argv[2]
m.pop("ari_renew_at", None)
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
}

fakeca_start ari --ari-default future
MC_DIRECTORY=$FAKECA_DIR_URL write_config mail "mail.example.test"
set_next_poll
before=$(date +%s)
mc_run renew
assert_exit 0 "renew, ARI window in 2030"
assert_contains "$MC_OUT" "nothing due"
python3 - "$meta" "$before" <<'PY' || fail "ARI fields not as expected" "$meta"
import json, sys
m = json.load(open(sys.argv[1])); before = int(sys.argv[2])
lo, hi = 1893456000, 1893628800          # 2030-01-01 .. 2030-01-03
assert lo <= m["ari_renew_at"] < hi, m
assert before + 3600 - 5 <= m["ari_next_poll"] <= before + 3600 + 60, m
PY
polls=$(grep -c 'renewal-info' "$FAKECA_LOG")
assert_eq "$polls" 1 "one renewalInfo request"
mc_run renew
assert_exit 0 "second renew"
assert_eq "$(grep -c 'renewal-info' "$FAKECA_LOG")" 1 "no request before Retry-After"
mc_run status
assert_contains "$MC_OUT" "ARI window"

bg_stop "$FAKECA_PID"
fakeca_start ari --ari-default past
MC_DIRECTORY=$FAKECA_DIR_URL write_config mail "mail.example.test"
set_next_poll
mc_run renew
assert_contains "$MC_ERR" "due (ARI window)"
assert_exit 1 "the stand-in CA cannot issue; the order was attempted"
assert_symlink "$MC_STATE/certs/mail/current" versions/0001
log "ok"
