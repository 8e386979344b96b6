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
certbot_run() {
	REQUESTS_CA_BUNDLE=$PEBBLE_CA timeout 120 certbot --non-interactive \
		--config-dir "$LE" --work-dir "$TEST_TMP/cb-work" \
		--logs-dir "$TEST_TMP/cb-logs" --server "$PEBBLE_DIR_URL" \
		--agree-tos --email postmaster@example.test --no-eff-email \
		--no-random-sleep-on-renew "$@" >>"$TEST_TMP/certbot.out" 2>&1 ||
		fail "certbot $*" "$TEST_TMP/certbot.out"
}

# A web server for the webroot lineage, on the port Pebble checks http-01.
bg_start webroot "$TEST_TMP/webroot.log" python3 -m http.server --bind 127.0.0.1 \
	--directory "$WEBROOT" "$HTTP01_PORT"
WEB_PID=$BG_PID
for _ in $(seq 50); do port_listening "$HTTP01_PORT" && break; sleep 0.1; done

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

if [ -n "${EXPLORE:-}" ]; then
	KEEP=1
	exit 0
fi
