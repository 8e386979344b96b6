#!/bin/bash
# t_import_certbot - `mailcert import certbot DIR` on lineages made by the
# real certbot (Debian's) against Pebble: webroot and standalone, ECDSA and
# RSA, one with reuse_key, renewal hooks and a deploy hook. The stored keys
# are certbot's (same SPKI), `status` lists them not due, `renew` orders
# nothing, `renew --force` orders with the imported account (no new
# registration at Pebble), a lineage whose archive file is missing is
# skipped with a clear message, and nothing under DIR changes.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd certbot
pebble_start
pebble_fetch_roots

LE=$TEST_TMP/letsencrypt
WEBROOT=$TEST_TMP/www
mkdir -p "$WEBROOT" "$TEST_TMP/cb-work" "$TEST_TMP/cb-logs"

# certbot_run ARGS... - certbot against Pebble with a private config dir.
# certbot does not retry a badNonce on every request, and Pebble rejects
# some nonces on purpose: such a run is tried again (at most 3 times).
# Debian 12's certbot (2.1) sometimes reports such an error as
# "AttributeError: can't set attribute" (certbot issue #9539); its debug log
# of that run then holds Pebble's badNonce problem.
certbot_run() {
	local try
	for try in 1 2 3; do
		: >"$TEST_TMP/certbot.try"
		REQUESTS_CA_BUNDLE=$PEBBLE_CA timeout 120 certbot --non-interactive \
			--config-dir "$LE" --work-dir "$TEST_TMP/cb-work" \
			--logs-dir "$TEST_TMP/cb-logs" --server "$PEBBLE_DIR_URL" \
			--agree-tos --email postmaster@example.test --no-eff-email \
			--no-random-sleep-on-renew "$@" >"$TEST_TMP/certbot.try" 2>&1
		local rc=$?
		cat "$TEST_TMP/certbot.try" >>"$TEST_TMP/certbot.out"
		[ "$rc" = 0 ] && return 0
		grep -q 'anti-replay nonce' "$TEST_TMP/certbot.try" ||
			{ grep -q "AttributeError: can't set attribute" "$TEST_TMP/certbot.try" &&
				grep -q 'acme:error:badNonce' "$TEST_TMP/cb-logs/letsencrypt.log"; } ||
			break
		log "certbot hit one of Pebble's rejected nonces; again ($try)"
	done
	fail "certbot $*" "$TEST_TMP/certbot.out"
}

# A web server for the webroot lineage, on the port Pebble checks http-01.
bg_start webroot "$TEST_TMP/webroot.log" python3 -m http.server --bind 127.0.0.1 \
	--directory "$WEBROOT" "$HTTP01_PORT"
WEB_PID=$BG_PID
wait_listening "$HTTP01_PORT" "$WEB_PID" "the webroot's web server" "$TEST_TMP/webroot.log"

printf '#!/bin/sh\necho deployed "$RENEWED_LINEAGE" >>%s\n' "$TEST_TMP/hook.log" \
	>"$TEST_TMP/deploy-hook.sh"
chmod 755 "$TEST_TMP/deploy-hook.sh"

log "certbot: webroot, ECDSA P-256, with a deploy hook"
certbot_run certonly --cert-name web --webroot -w "$WEBROOT" \
	-d web.example.test -d www.example.test --key-type ecdsa \
	--elliptic-curve secp256r1 --deploy-hook "$TEST_TMP/deploy-hook.sh"
bg_stop "$WEB_PID"

log "certbot: standalone, RSA 2048, reuse_key"
certbot_run certonly --cert-name mx --standalone --http-01-address 127.0.0.1 \
	--http-01-port "$HTTP01_PORT" -d mx.example.test --key-type rsa \
	--rsa-key-size 2048 --reuse-key

log "certbot: standalone, ECDSA P-384 (archive file removed later)"
certbot_run certonly --cert-name broken --standalone --http-01-address 127.0.0.1 \
	--http-01-port "$HTTP01_PORT" -d broken.example.test --key-type ecdsa \
	--elliptic-curve secp384r1

for stage in pre deploy post; do
	printf '#!/bin/sh\nexit 0\n' >"$LE/renewal-hooks/$stage/50-$stage-mail"
	chmod 755 "$LE/renewal-hooks/$stage/50-$stage-mail"
done
rm "$LE/archive/broken/privkey1.pem"

# A Postfix configuration (not running: postconf reads it) that serves mx
# from certbot's live/ files, for the targets suggestion.
mkdir -p "$TEST_TMP/pf/etc"
touch "$TEST_TMP/pf/etc/master.cf"
printf '%s\n' "compatibility_level = 3.6" "smtpd_tls_security_level = may" \
	"smtpd_tls_cert_file = $LE/live/mx/fullchain.pem" \
	"smtpd_tls_key_file = $LE/live/mx/privkey.pem" >"$TEST_TMP/pf/etc/main.cf"

# tree_sum - every path, mode, size, mtime, link target and content under DIR.
tree_sum() {
	(cd "$1" && find . -printf '%p %m %s %T@ %l\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum
}

# signups - how many newAccount requests Pebble has seen.
signups() {
	grep -c 'POST /sign-me-up' "$TEST_TMP/pebble.log"
}

# orders - how many newOrder requests Pebble has seen.
orders() {
	grep -c 'POST /order-plz' "$TEST_TMP/pebble.log"
}

{
	conf_global
	printf '%s\n' "[target postfix]" "config = $TEST_TMP/pf/etc" \
		"chain_file = $TEST_TMP/tls/%n.pem" "reload = /bin/true" ""
} >"$MC_CONF"
chmod 640 "$MC_CONF"
before=$(tree_sum "$LE")
signups0=$(signups)
orders0=$(orders)

# 1. Import: mx and web, broken skipped with the reason; nothing in DIR changes.
mc_run import certbot "$LE"
assert_exit 1 "one lineage is broken"
assert_contains "$MC_OUT" "lineage broken: skipped: privkey $LE/live/broken/privkey.pem -> ../../archive/broken/privkey1.pem: No such file or directory"
assert_contains "$MC_OUT" "lineage mx: imported as version 0001 (current; not deployed)"
assert_contains "$MC_OUT" "lineage web: imported as version 0001 (current; not deployed)"
assert_contains "$MC_OUT" "no new registration is needed"
assert_contains "$MC_OUT" "webroot = $WEBROOT"
assert_contains "$MC_OUT" "http_listen = 127.0.0.1:$HTTP01_PORT"
assert_contains "$MC_OUT" "deploy_hook = $TEST_TMP/deploy-hook.sh"
assert_contains "$MC_OUT" "renewal-hooks/pre/50-pre-mail -> $TEST_TMP/hooks/pre.d/50-pre-mail"
assert_eq "$(sed -n '/^\[cert mx\]/,/^$/p' "$MC_OUT" | grep '^targets')" "targets = postfix" \
	"mx: postfix reads its live/ files"
assert_eq "$(tree_sum "$LE")" "$before" "import changed certbot's directory"
[ ! -e "$TEST_TMP/hooks/pre.d" ] || fail "without --write nothing is linked"
if grep -q '^\[cert' "$MC_CONF"; then fail "without --write the config is not changed"; fi

# The stored keys are certbot's (same SPKI), 0600, and the chain verifies.
for name in mx web; do
	cur=$(cert_dir "$name")/current
	assert_file_mode "$cur/privkey.pem" 600
	assert_eq "$(pubkey_of_key "$cur/privkey.pem")" \
		"$(pubkey_of_key "$LE/live/$name/privkey.pem")" "SPKI of $name"
	cmp -s "$cur/cert.pem" "$LE/live/$name/cert.pem" || fail "$name: another certificate"
	openssl verify -CAfile "$PEBBLE_ROOT" -untrusted "$cur/chain.pem" "$cur/cert.pem" \
		>/dev/null 2>&1 || fail "$name: the stored chain does not verify"
done
assert_eq "$(key_type_of "$(cert_dir mx)/current/privkey.pem")" rsa-2048
assert_eq "$(key_type_of "$(cert_dir web)/current/privkey.pem")" ecdsa-p256
[ ! -e "$(cert_dir broken)" ] || fail "the broken lineage left state behind"

# 2. --write appends the sections (config still loads) and links the hooks;
#    a second run replaces nothing.
mc_run import certbot "$LE" --write
assert_exit 1
assert_contains "$MC_OUT" "already imported"
assert_contains "$MC_ERR" "appended 2 [cert] sections"
[ "$(stat -c %a "$MC_CONF")" = 640 ] || fail "the config lost its mode"
assert_symlink "$TEST_TMP/hooks/deploy.d/50-deploy-mail" "$LE/renewal-hooks/deploy/50-deploy-mail"
assert_symlink "$TEST_TMP/hooks/post.d/50-post-mail" "$LE/renewal-hooks/post/50-post-mail"
cp "$MC_CONF" "$TEST_TMP/conf.after-write"
mc_run import certbot "$LE" --write
assert_contains "$MC_OUT" "[cert mx] is already in the config: not changed"
assert_contains "$MC_OUT" "exists: not replaced"
cmp -s "$MC_CONF" "$TEST_TMP/conf.after-write" || fail "a second --write changed the config"
assert_eq "$(tree_sum "$LE")" "$before" "import --write changed certbot's directory"

# 3. status lists them, not due; renew orders nothing.
mc_run status
assert_exit 0
assert_contains "$MC_OUT" "mx.example.test"
assert_contains "$MC_OUT" "web.example.test"
mc_run --json status
python3 - "$MC_OUT" <<'EOF' || fail "status after import" "$MC_OUT"
import json, sys
data = json.load(open(sys.argv[1]))
rows = {r["name"]: r for r in (data["certs"] if isinstance(data, dict) else data)}
for n in ("mx", "web"):
    assert rows[n]["due"] is False, rows[n]
EOF
#    The Postfix of mx still reads certbot's live/ files: renew writes
#    mailcert's file and says which line switches it (exit 3), every run.
mc_run renew
assert_exit 3 "renew with nothing due, Postfix not switched yet"
assert_contains "$MC_ERR" "not yet configured"
assert_contains "$MC_ERR" "smtpd_tls_chain_files = $TEST_TMP/tls/mx.pem"
assert_eq "$(orders)" "$orders0" "renew placed an order"

# 4. renew --force orders with certbot's account: no new registration; mx
#    keeps its key (reuse_key), through mailcert's own http-01 responder.
#    (Postfix still reads certbot's files: exit 3 again.)
mc_run renew --force mx
assert_exit 3 "renew --force mx"
assert_contains "$MC_ERR" "version 0002 is written to every target and is current"
assert_eq "$(signups)" "$signups0" "the imported account must be used, not a new one"
[ "$(orders)" -gt "$orders0" ] || fail "renew --force placed no order"
assert_symlink "$(cert_dir mx)/current" versions/0002
assert_eq "$(pubkey_of_key "$(cert_dir mx)/current/privkey.pem")" \
	"$(pubkey_of_key "$LE/live/mx/privkey.pem")" "reuse_key keeps certbot's key"
