#!/bin/bash
# t_issue_tlsalpn - tls-alpn-01 with the built-in responder on pebble's tlsPort.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
pebble_fetch_roots
NAMES="mail.example.test mx.example.test"
write_config alpn "$NAMES" "challenge = tls-alpn-01"
mc_run issue alpn
assert_exit 0 "tls-alpn-01 issuance"
# shellcheck disable=SC2086
assert_issued alpn $NAMES
assert_symlink "$(cert_dir alpn)/current" versions/0001
! port_listening "$TLSALPN01_PORT" || fail "the tls-alpn-01 responder still listens on $TLSALPN01_PORT"

# Failure: the responder cannot bind because the port is taken.
bg_start blocker "$TEST_TMP/blocker.log" python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(600)
' "$TLSALPN01_PORT"
wait_listening "$TLSALPN01_PORT" "$BG_PID" "the blocker" "$TEST_TMP/blocker.log"
authz_forget # else Pebble may reuse the valid authorizations: no responder needed
mc_run issue alpn
assert_exit 1 "tls-alpn-01 port already in use"
assert_contains "$MC_ERR" "$TLSALPN01_PORT" "the error names the port it could not bind"
assert_symlink "$(cert_dir alpn)/current" versions/0001
assert_eq "$(version_count alpn)" 1 "versions after the failed run"
