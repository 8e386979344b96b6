#!/bin/bash
# t_issue_loop - 20 consecutive issuances of a 3-name certificate against
# Pebble with its default badNonce rejection (5%): every run succeeds.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
pebble_fetch_roots
NAMES="mail.example.test smtp.example.test imap.example.test"
write_config loop "$NAMES"
for ((i = 1; i <= 20; i++)); do
	mc_run issue loop
	assert_exit 0 "issuance $i of 20"
	assert_symlink "$(cert_dir loop)/current" "versions/$(printf '%04d' "$i")"
done
# shellcheck disable=SC2086
assert_issued loop $NAMES
assert_eq "$(version_count loop)" 5 "versions kept (keep_versions defaults to 5)"
rejected=$(grep -c 'badNonce\|bad nonce' "$TEST_TMP/pebble.log" || true)
log "pebble rejected $rejected nonces on purpose"
