#!/bin/bash
# t_issue_webroot - http-01 through a webroot served by another web server
# (python3 -m http.server on pebble's httpPort); tokens are removed afterwards.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
pebble_fetch_roots
www=$TEST_TMP/www
mkdir -p "$www"
bg_start webserver "$TEST_TMP/webserver.log" \
	python3 -m http.server --bind 127.0.0.1 --directory "$www" "$HTTP01_PORT"
wait_http "http://127.0.0.1:$HTTP01_PORT/" "$BG_PID" "python3 http.server" "$TEST_TMP/webserver.log"

NAMES="mail.example.test webmail.example.test"
write_config web "$NAMES" "challenge = http-01" "webroot = $www"
mc_run issue web
assert_exit 0 "issue through the webroot"
# shellcheck disable=SC2086
assert_issued web $NAMES
assert_symlink "$(cert_dir web)/current" versions/0001
# Pebble fetched the tokens from our web server, one per name.
hits=$(grep -c 'GET /.well-known/acme-challenge/[A-Za-z0-9_-]* HTTP/1.1" 200' "$TEST_TMP/webserver.log")
[ "$hits" -ge 2 ] || fail "expected >= 2 token fetches with status 200, saw $hits" "$TEST_TMP/webserver.log"
left=$(find "$www/.well-known/acme-challenge" -type f 2>/dev/null | wc -l)
assert_eq "$left" 0 "token files left in the webroot"
