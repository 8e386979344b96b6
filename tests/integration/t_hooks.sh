#!/bin/bash
# t_hooks - the hook stages around a run:
#  1. pre runs before the first attempt and post after every run that ran
#     pre, whatever the result: a "service" stopped in pre is started again
#     in post after a failed order; nothing due runs neither.
#  2. reload.d runs after the files are written and before the daemons
#     reload, with the version's files in its environment: a real
#     `postmap -F` SNI map (Postfix tls_server_sni_maps) on a private
#     Postfix serves the new certificate by SNI, verified live. Without the
#     hook the SNI name keeps the old certificate (the control case).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=mail.sh
. "$(dirname "$0")/mail.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (Postfix drops privileges)"
pebble_start
H=$TEST_TMP/hooks
EV=$TEST_TMP/events
mkdir -p "$H/pre.d" "$H/post.d" "$H/failure.d" "$H/deploy.d" "$H/reload.d"
cat >"$H/pre.d/10-stop" <<EOT
#!/bin/sh
echo "pre \$MAILCERT_RUN_ID" >>$EV
rm -f $TEST_TMP/service-running
EOT
cat >"$H/post.d/10-start" <<EOT
#!/bin/sh
echo "post \$MAILCERT_RUN_ID" >>$EV
touch $TEST_TMP/service-running
EOT
printf '#!/bin/sh\necho "failure $MAILCERT_CERT_NAME" >>%s\n' "$EV" >"$H/failure.d/10-log"
printf '#!/bin/sh\necho "deploy $MAILCERT_CERT_NAME" >>%s\n' "$EV" >"$H/deploy.d/10-log"
chmod 755 "$H"/*.d/*
touch "$TEST_TMP/service-running"

# events - the first words of the events file, space separated.
events() {
	cut -d' ' -f1-2 "$EV" | sed 's/ [0-9a-f-]\{36\}$//' | tr '\n' ';'
}

# 1a. A failed order (the dns-01 hook fails): pre, failure, post.
{
	conf_global
	conf_cert ok "ok.example.test"
	conf_cert broken "broken.example.test" "challenge = dns-01" "dns_hook = /bin/false"
} >"$MC_CONF"
mc_run issue broken
assert_exit 1 "a failed order"
assert_eq "$(events)" "pre;failure broken;post;" "hooks of a failed run"
assert_file "$TEST_TMP/service-running"
ids=$(grep -E '^(pre|post) ' "$EV" | cut -d' ' -f2 | sort -u | wc -l)
assert_eq "$ids" 1 "pre and post of one run share MAILCERT_RUN_ID"

# 1b. One cert issued, one failed: pre once, deploy, failure, post once.
rm -f "$EV"
mc_run issue ok broken
assert_exit 1 "one good, one failed"
assert_eq "$(events)" "pre;deploy ok;failure broken;post;" "hooks of a mixed run"
assert_file "$TEST_TMP/service-running"

# 1c. Nothing due: no hook at all.
rm -f "$EV"
mc_run renew ok
assert_exit 0 "renew, nothing due"
assert_no_path "$EV" "no hook runs when nothing is due"
rm -f "$H/pre.d/10-stop" "$H/post.d/10-start"

# 2. reload.d with a real `postmap -F` SNI map.
mail_require postfix postmap postconf
TLS=$TEST_TMP/tls
mkdir -p "$TLS"
mail_certs "$TEST_TMP/boot" boot.example.test
mail_replace "$MAIL_COMBINED" "$TLS/mail.pem"
boot_sha=$MAIL_CERT_SHA256
postfix_start "$TEST_TMP/postfix" "$TLS/mail.pem"
PF=$POSTFIX_DIR/etc
printf 'sni.example.test %s\n' "$TLS/mail.pem" >"$PF/sni"
postconf -c "$PF" -e "tls_server_sni_maps = hash:$PF/sni"
postmap -c "$PF" -F "hash:$PF/sni" || fail "postmap -F failed"
postfix_reload
mail_wait_served 127.0.0.1 "$POSTFIX_PORT_SMTP" smtp "$boot_sha" ||
	fail "postfix does not serve the boot certificate"

cat >"$TEST_TMP/reload-postfix" <<EOT
#!/bin/sh
echo reload >>$EV
exec $POSTFIX_RELOAD
EOT
cat >"$H/reload.d/50-postmap-sni" <<EOT
#!/bin/sh
set -e
leaf=\$(openssl x509 -in $TLS/mail.pem -outform DER | sha256sum | cut -d' ' -f1)
echo "reload.d \$MAILCERT_EVENT \$MAILCERT_CERT_NAME \$leaf \$MAILCERT_CERT_FILE" >>$EV
postmap -c $PF -F hash:$PF/sni
EOT
chmod 755 "$TEST_TMP/reload-postfix" "$H/reload.d/50-postmap-sni"
{
	conf_global
	conf_cert mail "mail.example.test sni.example.test" "targets = postfix" \
		"verify = smtp://127.0.0.1:$POSTFIX_PORT_SMTP" "verify_timeout = 4s"
	printf '%s\n' "[target postfix]" "config = $POSTFIX_DIR/etc" \
		"chain_file = $TLS/%n.pem" "reload = $TEST_TMP/reload-postfix" ""
} >"$MC_CONF"
rm -f "$EV"
mc_run issue mail
assert_exit 0 "issue with the reload.d hook"
new_sha=$(mail_cert_sha256 "$(cert_dir mail)/versions/0001/cert.pem")
read -r w1 ev name leaf file <"$EV"
assert_eq "$w1 $ev $name" "reload.d reload mail" "the reload.d hook and its environment"
assert_eq "$leaf" "$new_sha" "the hook sees the new files already written"
assert_eq "$file" "$(cert_dir mail)/versions/0001/cert.pem" "MAILCERT_CERT_FILE of the version"
assert_eq "$(sed -n 2p "$EV")" "reload" "the daemon reloads after the hook"
assert_eq "$(sed -n '3,$p' "$EV")" "deploy mail" "then the deploy hook"
grep -E 'sni\.example\.test +match' "$MC_OUT" >/dev/null ||
	fail "the SNI name does not serve the new certificate" "$MC_OUT"
got=$(mail_served_sha256 127.0.0.1 "$POSTFIX_PORT_SMTP" smtp sni.example.test)
assert_eq "$got" "$new_sha" "served by SNI after the reload.d hook"

# Control: without the hook the map keeps version 0001's certificate, so
# version 0002 is inactive for the SNI name and is rolled back.
rm "$H/reload.d/50-postmap-sni"
mc_run issue mail
assert_exit 3 "issue without the reload.d hook"
grep -E 'sni\.example\.test +inactive' "$MC_OUT" >/dev/null ||
	fail "without the hook the SNI name should be inactive" "$MC_OUT"
assert_symlink "$(cert_dir mail)/current" versions/0001
log "ok"
