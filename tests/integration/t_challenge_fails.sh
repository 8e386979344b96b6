#!/bin/bash
# t_challenge_fails - an http-01 challenge nobody answers fails the run
# (exit 1) with a message naming the identifier, the challenge type and the
# CA's detail; nothing new is stored and the previous version stays current.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
pebble_fetch_roots
unserved=$TEST_TMP/unserved-webroot
mkdir -p "$unserved"
good_conf=$TEST_TMP/good.conf
bad_conf=$TEST_TMP/bad.conf
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert fresh "fresh.example.test" "webroot = $unserved"
	conf_cert mail "mail.example.test imap.example.test"
} >"$good_conf"
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert fresh "fresh.example.test" "webroot = $unserved"
	conf_cert mail "mail.example.test imap.example.test" "webroot = $unserved"
} >"$bad_conf"

# Row 1: no previous version.
MC_CONF=$bad_conf
mc_run issue fresh
assert_exit 1 "challenge nobody answers"
assert_contains "$MC_ERR" "fresh.example.test" "the error names the identifier"
assert_contains "$MC_ERR" "http-01" "the error names the challenge type"
assert_contains_i "$MC_ERR" "connection refused" "urn:ietf:params:acme:error:connection"
assert_no_path "$(cert_dir fresh)/current" "no current after a failed first issuance"
assert_eq "$(version_count fresh)" 0 "versions after a failed first issuance"
left=$(find "$unserved" -type f | wc -l)
assert_eq "$left" 0 "token files left in the webroot after the failure"

# Row 2: a good version exists, the next issuance fails: it stays current.
MC_CONF=$good_conf
mc_run issue mail
assert_exit 0 "issuance with the built-in responder"
assert_issued mail mail.example.test imap.example.test
before=$(pubkey_of_cert "$(cert_dir mail)/current/cert.pem")
MC_CONF=$bad_conf
authz_forget
mc_run issue mail
assert_exit 1 "re-issuance with a challenge nobody answers"
assert_contains_i "$MC_ERR" "mail.example.test" "imap.example.test"
assert_contains_i "$MC_ERR" "connection refused" "urn:ietf:params:acme:error:connection"
assert_symlink "$(cert_dir mail)/current" versions/0001
assert_eq "$(version_count mail)" 1 "versions after the failed re-issuance"
assert_eq "$(pubkey_of_cert "$(cert_dir mail)/current/cert.pem")" "$before" "current certificate"
assert_issued mail mail.example.test imap.example.test
