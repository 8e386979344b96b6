#!/bin/bash
# t_layouts_sni - a second certificate served only by SNI, on the REAL
# Postfix (tls_server_sni_maps, rebuilt by the reload.d hook with
# postmap -F), Dovecot (a local_name block) and Exim (an expansion on
# $tls_in_sni), each configured with the README's "SNI" blocks verbatim
# (layouts.sh), beside a default certificate "mail" (in the README's
# single blocks, checked served first):
#   1. the "Why": with the default verify_without_sni = yes the probe
#      without SNI gets the default certificate, so the deployment is
#      inactive on every endpoint (exit 3, rolled back) although every
#      SNI probe matches (nothing was live before: the files stay,
#      the version is marked failed);
#   2. verify_without_sni = no: issue, deploy, verified by SNI only (no
#      "(no SNI)" probe); openssl s_client sees the new leaf by SNI and the
#      default certificate without;
#   3. a stale Postfix map (the reload.d hook gone): inactive on Postfix
#      only, exit 3, rolled back.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=mail.sh
. "$(dirname "$0")/mail.sh"
# shellcheck source=layouts.sh
. "$(dirname "$0")/layouts.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (the daemons drop privileges)"
pebble_start
TLS=$TEST_TMP/tls
for d in postfix dovecot exim; do mkdir -p "$TLS/$d"; done
chgrp Debian-exim "$TLS/exim" && chmod 750 "$TLS/exim"
layout_boot ec "$TLS/postfix/mail.pem" "$TLS/dovecot/mail.crt" "$TLS/dovecot/mail.key" \
	"$TLS/exim/mail.crt" "$TLS/exim/mail.key"
default_sha=$(mail_cert_sha256 "$TLS/dovecot/mail.crt")
layout_boot ec "$TLS/postfix/other.pem" "$TLS/dovecot/other.crt" "$TLS/dovecot/other.key" \
	"$TLS/exim/other.crt" "$TLS/exim/other.key"
postfix_start "$TEST_TMP/postfix" "$TLS/postfix/mail.pem"
dovecot_start "$TEST_TMP/dovecot" "$TLS/dovecot/mail.crt" "$TLS/dovecot/mail.key"
exim_start "$TEST_TMP/exim" "$TLS/exim/mail.crt" "$TLS/exim/mail.key"
# the README's single blocks for the default certificate, served
layout_postfix postfix-single
layout_dovecot dovecot-single
layout_exim exim-single
for pm in "$POSTFIX_PORT_SMTP smtp" "$DOVECOT_PORT_IMAPS imaps" "$EXIM_PORT_SMTPS smtps"; do
	read -r p m <<<"$pm"
	assert_eq "$(served_sha ecdsa "$p" "$m" mail.example.test)" "$default_sha" \
		"the README single block serves on $m port $p"
done
layout_block postfix-sni-map >"$TLS/postfix/sni"
postmap -c "$POSTFIX_DIR/etc" -F "hash:$TLS/postfix/sni" || fail "postmap -F"
layout_postfix postfix-sni
layout_dovecot dovecot-sni
layout_exim exim-sni

# The README's reload.d hook, its paths moved like the blocks'.
mkdir -p "$TEST_TMP/hooks/reload.d"
sed -e "s|/etc/postfix/sni|$TLS/postfix/sni|g" \
	-e "s|postmap -F|postmap -c $POSTFIX_DIR/etc -F|" \
	"$MC_TESTS_DIR/../etc/hooks/postmap-sni.example" >"$TEST_TMP/hooks/reload.d/50-postmap-sni"
chmod 755 "$TEST_TMP/hooks/reload.d/50-postmap-sni"
grep -q "postmap -c $POSTFIX_DIR/etc -F hash:$TLS/postfix/sni" "$TEST_TMP/hooks/reload.d/50-postmap-sni" ||
	fail "etc/hooks/postmap-sni.example no longer runs postmap -F hash:/etc/postfix/sni"

EPS=("$POSTFIX_PORT_SMTP smtp" "$POSTFIX_PORT_SMTPS smtps"
	"$DOVECOT_PORT_IMAP imap" "$DOVECOT_PORT_IMAPS imaps"
	"$EXIM_PORT_SMTP smtp" "$EXIM_PORT_SMTPS smtps")
URLS=""
for pm in "${EPS[@]}"; do
	read -r p m <<<"$pm"
	URLS="$URLS $m://127.0.0.1:$p"
done

# sni_config [LINES...] - the README's [cert other], targets at its paths.
sni_config() {
	{
		conf_global
		conf_cert other "other.example.com" "targets = postfix dovecot exim" \
			"verify = ${URLS# }" "verify_timeout = 8s" "$@"
		printf '%s\n' "[target postfix]" "chain_file = $TLS/postfix/%n.pem" \
			"reload = $POSTFIX_RELOAD" ""
		printf '%s\n' "[target dovecot]" "cert_file = $TLS/dovecot/%n.crt" \
			"key_file = $TLS/dovecot/%n.key" "reload = $DOVECOT_RELOAD" ""
		printf '%s\n' "[target exim]" "cert_file = $TLS/exim/%n.crt" \
			"key_file = $TLS/exim/%n.key" "reload = $EXIM_RELOAD" ""
	} >"$MC_CONF"
}

# all_serve LABEL SHA [PORTS...] - by SNI other.example.com every endpoint
# (or PORTS) serves SHA; without SNI the default certificate.
all_serve() {
	local label=$1 sha=$2 pm p m got
	shift 2
	for pm in "${EPS[@]}"; do
		read -r p m <<<"$pm"
		[ $# -eq 0 ] || [[ " $* " == *" $p "* ]] || continue
		got=$(mail_served_sha256 127.0.0.1 "$p" "$m" other.example.com)
		[ "$got" = "$sha" ] || fail "$label: $m port $p by SNI serves ${got:-nothing}, want $sha"
		got=$(served_sha ecdsa "$p" "$m")
		[ "$got" = "$default_sha" ] || fail "$label: $m port $p without SNI serves ${got:-nothing}, want the default"
	done
	log "ok: $label"
}

boot_other=$(mail_cert_sha256 "$TLS/dovecot/other.crt")
all_serve "boot (the README SNI blocks loaded)" "$boot_other"

# 1. The default verify_without_sni = yes: the no-SNI probe sees "mail".
sni_config
mc_run issue other
assert_exit 3 "an SNI-only cert probed without SNI"
[ "$(grep -c '(no SNI).* inactive' "$MC_OUT")" = "${#EPS[@]}" ] ||
	fail "want every no-SNI probe inactive" "$MC_OUT"
[ "$(grep -c 'other\.example\.com .* match' "$MC_OUT")" = "${#EPS[@]}" ] ||
	fail "want every SNI probe to match" "$MC_OUT"
# (nothing was live before it: the targets keep version 1, marked failed)
assert_contains "$MC_ERR" "no version that was live before it"
grep -q '"status": "failed"' "$(cert_dir other)/versions/0001/meta.json" ||
	fail "version 0001 is not marked failed"
all_serve "version 1 served by SNI, unverified" \
	"$(mail_cert_sha256 "$(cert_dir other)/versions/0001/cert.pem")"

# 2. verify_without_sni = no: verified by SNI only.
sni_config "verify_without_sni = no"
mc_run issue other
assert_exit 0 "an SNI-only cert with verify_without_sni = no"
assert_not_contains "$MC_OUT" "(no SNI)"
# the run first converges on version 1 (now verifiable), then deploys 2
assert_contains "$MC_OUT" "version 0001 deployed and verified live"
assert_contains "$MC_OUT" "version 0002 deployed and verified live"
[ "$(grep -c 'other\.example\.com .* match' "$MC_OUT")" = $((2 * ${#EPS[@]})) ] ||
	fail "want every SNI probe to match, twice" "$MC_OUT"
v2=$(mail_cert_sha256 "$(cert_dir other)/current/cert.pem")
cur2=$(readlink "$(cert_dir other)/current")
all_serve "the SNI-only cert deployed" "$v2"
mc_run verify other
assert_exit 0 "verify of the SNI-only cert"
log "verify output (SNI-only cert on the three daemons):"
sed 's/^/    /' "$MC_OUT" >&2

# 3. A stale Postfix map: without the reload.d hook sni.db keeps the old
#    certificate -> inactive on Postfix only, rolled back.
rm "$TEST_TMP/hooks/reload.d/50-postmap-sni"
mc_run issue other
assert_exit 3 "a stale Postfix SNI map"
bad=$(grep ' inactive' "$MC_OUT")
[ "$(wc -l <<<"$bad")" = 2 ] || fail "want 2 inactive (the Postfix endpoints)" "$MC_OUT"
for p in "$POSTFIX_PORT_SMTP" "$POSTFIX_PORT_SMTPS"; do
	grep -qF ":$p " <<<"$bad" || fail "not inactive on Postfix port $p" "$MC_OUT"
done
assert_contains "$MC_ERR" "rolled back"
assert_symlink "$(cert_dir other)/current" "$cur2"
all_serve "rolled back after the stale map" "$v2"
log "PASS"
