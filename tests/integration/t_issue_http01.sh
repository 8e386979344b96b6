#!/bin/bash
# t_issue_http01 - issue with the built-in http-01 responder against Pebble:
# version 0001 then 0002, current switches, key/cert/chain are consistent.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
pebble_fetch_roots
NAMES="mail.example.test smtp.example.test imap.example.test"
write_config mail "$NAMES" "challenge = http-01"
d=$(cert_dir mail)

mc_run issue mail
assert_exit 0 "first issuance"
assert_symlink "$d/current" versions/0001
# shellcheck disable=SC2086
assert_issued mail $NAMES
serial1=$(openssl x509 -in "$d/versions/0001/cert.pem" -noout -serial)
! port_listening "$HTTP01_PORT" || fail "the http-01 responder still listens on $HTTP01_PORT"

mc_run issue mail
assert_exit 0 "second issuance"
assert_symlink "$d/current" versions/0002
# shellcheck disable=SC2086
assert_issued mail $NAMES
assert_eq "$(version_count mail)" 2 "versions stored"
assert_file "$d/versions/0001/cert.pem"
serial2=$(openssl x509 -in "$d/versions/0002/cert.pem" -noout -serial)
assert_ne "$serial2" "$serial1" "serials of version 0001 and 0002"
assert_eq "$(openssl x509 -in "$d/versions/0001/cert.pem" -noout -serial)" "$serial1" \
	"version 0001 is untouched"
