# shellcheck shell=bash
#
# layouts.sh - the "Mail layouts" blocks of README.md put verbatim into
# real daemons (the paths /etc/{postfix,dovecot,exim4}/tls/ and
# /etc/postfix/sni moved under $TLS), for t_layouts_dual and t_layouts_sni.
# Source lib.sh and mail.sh first; set TLS.
#
#   layout_block NAME      print the lines of README block NAME (after the
#                          line "<!-- layout: NAME -->"), paths moved
#   layout_postfix NAME    postconf -e each line, reload, let smtpd reread
#   layout_dovecot NAME    drop the ssl_cert/ssl_key/ssl_alt_* lines the
#                          block sets, append the block, reload
#   layout_exim NAME       replace tls_certificate/tls_privatekey with the
#                          block's lines (before the first "begin"), SIGHUP
#   layout_boot ALG DEST...  copy a boot certificate of ALG (ec, rsa) to each
#                          DEST by its extension: .pem key+chain (0600),
#                          .crt chain, .key key (0640 Debian-exim)
#   served_sha ALG PORT MODE [SNI]
#                          SHA-256 of the leaf served to a ClientHello that
#                          offers only ALG's (ecdsa, rsa) signature
#                          algorithms (openssl s_client -sigalgs), or
#                          nothing; an independent check of mailcert's
#                          own key-restricted probes

LAYOUT_README=$MC_TESTS_DIR/../README.md

# layout_block - the lines of README block NAME, paths moved under $TLS.
layout_block() {
	local out
	out=$(awk -v m="<!-- layout: $1 -->" '
		$0 == m { found = 1; next }
		found == 1 && /^```/ { found = 2; next }
		found == 2 && /^```/ { exit }
		found == 2 { print }' "$LAYOUT_README")
	[ -n "$out" ] || fail "README.md has no layout block $1"
	sed -e "s|/etc/postfix/tls/|$TLS/postfix/|g" \
		-e "s|/etc/postfix/sni|$TLS/postfix/sni|g" \
		-e "s|/etc/dovecot/tls/|$TLS/dovecot/|g" \
		-e "s|/etc/exim4/tls/|$TLS/exim/|g" <<<"$out"
}

# layout_postfix - NAME: each line into main.cf, then reload.
layout_postfix() {
	local line
	while IFS= read -r line; do
		postconf -c "$POSTFIX_DIR/etc" -e "$line" || fail "postconf -e $line"
	done < <(layout_block "$1")
	postfix_reload # (mail.sh) until no smtpd with the old settings is left
}

# layout_dovecot - NAME: the block instead of the TLS file settings it sets.
layout_dovecot() {
	local block
	block=$(layout_block "$1")
	if ! grep -q '^local_name' <<<"$block"; then
		sed -i '/^ssl_cert = /d; /^ssl_key = /d; /^ssl_alt_cert = /d; /^ssl_alt_key = /d' \
			"$DOVECOT_CONF" || fail "sed $DOVECOT_CONF"
	fi
	printf '%s\n' "$block" >>"$DOVECOT_CONF"
	dovecot_reload # (mail.sh) until its master has read the block
}

# layout_exim - NAME: the block's settings instead of Exim's TLS files
# (main options: before the first "begin" line).
layout_exim() {
	layout_block "$1" >"$TEST_TMP/exim-block"
	python3 - "$EXIM_CONF" "$TEST_TMP/exim-block" <<'EOF' || fail "exim config"
import sys
conf, block = sys.argv[1], open(sys.argv[2]).read().splitlines()
lines = [l for l in open(conf).read().splitlines()
         if not l.startswith(("tls_certificate = ", "tls_privatekey = "))]
i = next(n for n, l in enumerate(lines) if l.startswith("begin "))
open(conf, "w").write("\n".join(lines[:i] + block + [""] + lines[i:]) + "\n")
EOF
	exim_reload # (mail.sh) until the re-exec'd daemon has read the block
}

# layout_boot - ALG DEST...: a boot certificate of ALG at each DEST.
layout_boot() {
	local alg=$1 dest
	shift
	MAIL_KEY_TYPE=$alg mail_certs "$TEST_TMP/boot-$alg" boot.example.test
	for dest in "$@"; do
		case $dest in
		*.pem) mail_replace "$MAIL_COMBINED" "$dest" && chmod 600 "$dest" ;;
		*.crt) mail_replace "$MAIL_FULLCHAIN" "$dest" ;;
		*.key) mail_replace "$MAIL_KEY" "$dest" &&
			chgrp Debian-exim "$dest" && chmod 640 "$dest" ;;
		*) fail "layout_boot: $dest" ;;
		esac
	done
}

# served_sha - ALG PORT MODE [SNI]: the leaf served to an ALG-only hello.
served_sha() {
	local alg=$1 port=$2 mode=$3 sni=${4:-} proto args=() pem sigalgs
	case $alg in
	ecdsa) sigalgs=ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384 ;;
	rsa) sigalgs=rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pkcs1_sha256 ;;
	*) fail "served_sha: $alg" ;;
	esac
	proto=$(mail_starttls_arg "$mode")
	[ -z "$proto" ] || args+=(-starttls "$proto")
	if [ -n "$sni" ]; then args+=(-servername "$sni"); else args+=(-noservername); fi
	pem=$(timeout -k 1 5 openssl s_client -connect "127.0.0.1:$port" "${args[@]}" \
		-sigalgs "$sigalgs" </dev/null 2>/dev/null |
		sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p')
	[ -n "$pem" ] || return 1
	printf '%s\n' "$pem" | openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}
