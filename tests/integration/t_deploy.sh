#!/bin/bash
# t_deploy - the whole loop against REAL daemons on loopback: issue from
# Pebble, deploy to Postfix, Dovecot and Exim, reload them, and prove on
# every endpoint (by SNI and without) that the new leaf is served; a
# second issuance replaces it everywhere; `reload = /bin/true` leaves the
# old certificate live (inactive: exit 3, rolled back, old one verified);
# a failing reload rolls back with exit 1; bad targets fail before any
# file changes.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=mailstack.sh
. "$(dirname "$0")/mailstack.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (the daemons drop privileges)"
pebble_start
mailstack_start mail
TLS=$MAILSTACK_TLS
ENDPOINTS=$MAILSTACK_URLS

# deploy_config - the config, with optional reload overrides per target.
deploy_config() {
	{
		conf_global
		conf_cert mail "mail.example.test smtp.example.test" \
			"targets = postfix dovecot exim" "verify = $ENDPOINTS" \
			"verify_timeout = 8s"
		mailstack_targets "$@"
	} >"$MC_CONF"
}

# all_serve SHA - every endpoint serves SHA, checked with openssl s_client.
all_serve() {
	local sha=$1 p m
	for pm in "$POSTFIX_PORT_SMTP smtp" "$POSTFIX_PORT_SUB submission" \
		"$POSTFIX_PORT_SMTPS smtps" "$DOVECOT_PORT_IMAP imap" \
		"$DOVECOT_PORT_IMAPS imaps" "$DOVECOT_PORT_POP3 pop3" \
		"$DOVECOT_PORT_POP3S pop3s" "$DOVECOT_PORT_SIEVE sieve" \
		"$EXIM_PORT_SMTP smtp" "$EXIM_PORT_SMTPS smtps"; do
		read -r p m <<<"$pm"
		got=$(mail_served_sha256 127.0.0.1 "$p" "$m" mail.example.test)
		[ "$got" = "$sha" ] || fail "$m on port $p serves ${got:-nothing}, expected $sha"
	done
}

# current_sha - SHA-256 of the current leaf.
current_sha() {
	mail_cert_sha256 "$(cert_dir mail)/current/cert.pem"
}

# 1. Issue, deploy, reload, verify: every endpoint × (2 names + no SNI).
deploy_config
mc_run issue mail
assert_exit 0 "issue with deploy"
assert_symlink "$(cert_dir mail)/current" versions/0001
[ "$(grep -c ' match ' "$MC_OUT")" = 30 ] || fail "expected 30 matching live checks" "$MC_OUT"
all_serve "$(current_sha)"
assert_file_mode "$TLS/postfix/mail.pem" 600
assert_file_mode "$TLS/exim/mail.key" 640
[ "$(stat -L -c %G "$TLS/exim/mail.key")" = Debian-exim ] || fail "exim key not group Debian-exim"
openssl pkey -in "$TLS/postfix/mail.pem" -noout 2>/dev/null || fail "postfix chain file has no key first"

# 2. A second issuance replaces the certificate everywhere.
mc_run issue mail
assert_exit 0 "second issue"
assert_symlink "$(cert_dir mail)/current" versions/0002
v2=$(current_sha)
all_serve "$v2"
mc_run verify mail
assert_exit 0 "verify mail"

# 3. Reloads that do nothing: Dovecot keeps the old certificate -> inactive,
#    exit 3, rollback to version 2, which is verified live again. (Postfix
#    keeps its real reload here: without one, each new smtpd process loads
#    whatever is on disk while idle ones keep the old key, so what it
#    serves depends on which process answers; Exim notices the new files by
#    itself after about 5 s.)
deploy_config "" /bin/true /bin/true
mc_run issue mail
assert_exit 3 "issue with reloads that do nothing"
assert_contains "$MC_OUT" "inactive"
assert_contains "$MC_ERR" "rolled back"
assert_symlink "$(cert_dir mail)/current" versions/0002
grep -q '"status": "failed"' "$(cert_dir mail)/versions/0003/meta.json" ||
	fail "version 0003 is not marked failed"
all_serve "$v2"

# 4. A failing reload (fails once, then works): exit 1, rolled back,
#    version 2 live again.
printf '#!/bin/sh\n[ -e %s/reloaded ] || { touch %s/reloaded; echo reload-broke >&2; exit 1; }\nexec %s\n' \
	"$TEST_TMP" "$TEST_TMP" "$DOVECOT_RELOAD" >"$TEST_TMP/flaky-reload"
chmod 755 "$TEST_TMP/flaky-reload"
deploy_config "" "$TEST_TMP/flaky-reload" ""
mc_run issue mail
assert_exit 1 "a failing reload"
assert_contains "$MC_ERR" "reload-broke"
assert_contains "$MC_ERR" "rolled back"
assert_symlink "$(cert_dir mail)/current" versions/0002
deploy_config
mc_run deploy mail
assert_exit 0 "deploy after the failures converges"
all_serve "$v2"

# 4b. `renew` when due (renew_before beyond Pebble's 5-year lifetime):
#     renewed, deployed to the three daemons, verified live.
deploy_config
sed -i 's/^verify_timeout = 8s$/verify_timeout = 8s\nrenew_before = 3650d/' "$MC_CONF"
before=$(readlink "$(cert_dir mail)/current")
mc_run renew
assert_exit 0 "renew when due, with deploy"
assert_ne "$(readlink "$(cert_dir mail)/current")" "$before" "renew made a new version current"
[ "$(grep -c ' match ' "$MC_OUT")" = 30 ] || fail "expected 30 matching live checks after renew" "$MC_OUT"
all_serve "$(current_sha)"

# 4c. `rollback` makes the previous good version (0002; 0003 and 0004
#     failed) current again and proves it live.
mc_run rollback mail
assert_exit 0 "rollback"
assert_symlink "$(cert_dir mail)/current" versions/0002
all_serve "$v2"
deploy_config

# 5. Bad targets fail before any file changes.
before=$(sha256sum "$TLS"/*/mail.*)
printf '%s\n' "[target broken]" "type = files" "cert_file = $TLS/broken/x.crt" \
	"key_file = $TLS/broken/x.key" "group = no-such-group-mc" >>"$MC_CONF"
sed -i 's/^targets = postfix dovecot exim$/targets = postfix dovecot exim broken/' "$MC_CONF"
mc_run deploy mail
assert_exit 1 "unknown group"
assert_contains "$MC_ERR" "no-such-group-mc"
assert_contains "$MC_ERR" "nothing was changed"
assert_eq "$(sha256sum "$TLS"/*/mail.*)" "$before" "files unchanged"
deploy_config
ln -sf /etc/hostname "$TLS/dovecot/mail.crt.link"
mv "$TLS/dovecot/mail.crt.link" "$TLS/dovecot/mail.crt"
mc_run deploy mail
assert_exit 1 "symlinked target"
assert_contains "$MC_ERR" "symbolic link"
[ -L "$TLS/dovecot/mail.crt" ] || fail "the symlink was replaced"
rm -f "$TLS/dovecot/mail.crt"
mc_run deploy mail
assert_exit 0 "deploy recreates the removed file"

# 6. A daemon that cannot read its key (Exim runs as Debian-exim; a 0600
#    root key is unreadable to it): verification fails, the message says
#    loudly that the previous version could not be restored either (the
#    same target settings apply to it), exit 3; fixing the config and
#    deploying again converges.
deploy_config
printf '%s\n' "owner = root" "group = root" "mode = 0600" >>"$MC_CONF"
mc_run issue mail
assert_exit 3 "exim cannot read its key"
assert_contains "$MC_ERR" "exim"
assert_contains "$MC_ERR" "ROLLBACK FAILED"
deploy_config
mc_run deploy mail
assert_exit 0 "deploy with a readable key converges"
all_serve "$(current_sha)"

# 7. A target directory whose parents do not exist yet is created.
printf '%s\n' "[target extra]" "type = files" "fullchain_file = $TEST_TMP/new/deep/dir/%n.pem" \
	"key_file = $TEST_TMP/new/deep/keys/%n.key" "group = Debian-exim" "reload = /bin/true" >>"$MC_CONF"
sed -i 's/^targets = postfix dovecot exim$/targets = postfix dovecot exim extra/' "$MC_CONF"
mc_run deploy mail
assert_exit 0 "deploy to new directories"
assert_file_mode "$TEST_TMP/new/deep/keys/mail.key" 640
[ "$(stat -c '%a %G' "$TEST_TMP/new/deep/keys")" = "750 Debian-exim" ] || fail "key dir not 0750 Debian-exim"
[ "$(stat -c '%a' "$TEST_TMP/new/deep/dir")" = 755 ] || fail "cert dir not 0755"
log "ok"
