#!/bin/bash
# t_layouts_dual - dual RSA + ECDSA certificates as one unit, on the REAL
# Postfix, Dovecot and Exim, each configured with the README's "dual"
# block verbatim (Postfix smtpd_tls_chain_files with two files, Dovecot
# ssl_cert + ssl_alt_cert, Exim certificate lists; layouts.sh):
#   1. issue ecdsa-p256 + rsa-2048 from Pebble, deploy both pairs to %k
#      paths, verify: every endpoint x (name, no SNI) x key type matches,
#      and an independent openssl s_client restricted to ECDSA or to RSA
#      signature algorithms sees that key type's new leaf, with SNI and
#      without (the "Why": a probe that takes what the server offers
#      first always sees ECDSA, so the RSA pair was never proven);
#      one deploy hook event names both pairs (MAILCERT_*_FILE the
#      first, MAILCERT_ECDSA_* / MAILCERT_RSA_* each);
#   2. renew: both pairs move together (one new version, two new leaves,
#      one hook event); `status --json` shows both certificates;
#   3. Dovecot's alt (RSA) files stale (ssl_alt_cert names a copy mailcert
#      does not write): inactive for RSA only, on Dovecot only, exit 3,
#      both pairs rolled back (the ECDSA one too), the old ones served;
#   4. the RSA order fails after the ECDSA one succeeded (the CA refuses
#      its CSR): nothing stored, nothing deployed, the old pairs served.
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
for alg in ecdsa rsa; do
	case $alg in ecdsa) t=ec ;; rsa) t=rsa ;; esac
	layout_boot "$t" "$TLS/postfix/mail.$alg.pem" "$TLS/dovecot/mail.$alg.crt" \
		"$TLS/dovecot/mail.$alg.key" "$TLS/exim/mail.$alg.crt" "$TLS/exim/mail.$alg.key"
done
postfix_start "$TEST_TMP/postfix" "$TLS/postfix/mail.ecdsa.pem"
dovecot_start "$TEST_TMP/dovecot" "$TLS/dovecot/mail.ecdsa.crt" "$TLS/dovecot/mail.ecdsa.key"
exim_start "$TEST_TMP/exim" "$TLS/exim/mail.ecdsa.crt" "$TLS/exim/mail.ecdsa.key"
layout_postfix postfix-dual
layout_dovecot dovecot-dual
layout_exim exim-dual

# one STARTTLS and one implicit-TLS endpoint per daemon: "PORT MODE"
EPS=("$POSTFIX_PORT_SMTP smtp" "$POSTFIX_PORT_SMTPS smtps"
	"$DOVECOT_PORT_IMAP imap" "$DOVECOT_PORT_IMAPS imaps"
	"$EXIM_PORT_SMTP smtp" "$EXIM_PORT_SMTPS smtps")
URLS=""
for pm in "${EPS[@]}"; do
	read -r p m <<<"$pm"
	URLS="$URLS $m://127.0.0.1:$p"
done

# dual_config [DOVECOT_ALT] - the config; the README's [cert] keys, the
# targets at the paths the layout blocks name (%n.%k).
dual_config() {
	{
		conf_global
		conf_cert mail "mail.example.test" "targets = postfix dovecot exim" \
			"verify = ${URLS# }" "verify_timeout = 8s" "$@"
		printf '%s\n' "[target postfix]" "config = $POSTFIX_DIR/etc" "chain_file = $TLS/postfix/%n.%k.pem" \
			"reload = $POSTFIX_RELOAD" ""
		printf '%s\n' "[target dovecot]" "config = ${DOVECOT_JUDGED:-$DOVECOT_CONF}" "cert_file = $TLS/dovecot/%n.%k.crt" \
			"key_file = $TLS/dovecot/%n.%k.key" "reload = $DOVECOT_RELOAD" ""
		printf '%s\n' "[target exim]" "config = $EXIM_CONF" "cert_file = $TLS/exim/%n.%k.crt" \
			"key_file = $TLS/exim/%n.%k.key" "reload = $EXIM_RELOAD" ""
	} | sed 's/^key_type = ecdsa-p256$/key_type = ecdsa-p256 rsa-2048/' >"$MC_CONF"
}

# leaf_sha VERSION ALG - SHA-256 of VERSION's ALG leaf (cert.pem is the
# first key type's, cert-rsa.pem the second's).
leaf_sha() {
	local f=cert.pem
	[ "$2" = ecdsa ] || f="cert-rsa.pem"
	mail_cert_sha256 "$(cert_dir mail)/versions/$1/$f"
}

# all_serve LABEL EC_SHA RSA_SHA [ONLY_PORTS...] - every endpoint (or the
# given ports) serves EC_SHA to an ECDSA-only hello and RSA_SHA to an
# RSA-only one, with SNI and without.
all_serve() {
	local label=$1 ec=$2 rsa=$3 pm p m sni got want alg
	shift 3
	for pm in "${EPS[@]}"; do
		read -r p m <<<"$pm"
		[ $# -eq 0 ] || [[ " $* " == *" $p "* ]] || continue
		for alg in ecdsa rsa; do
			want=$ec
			[ $alg = ecdsa ] || want=$rsa
			for sni in mail.example.test ""; do
				got=$(served_sha $alg "$p" "$m" $sni)
				[ "$got" = "$want" ] ||
					fail "$label: $m port $p ${sni:-(no SNI)} $alg-only serves ${got:-nothing}, want $want"
			done
		done
	done
	log "ok: $label: ECDSA and RSA leaves served, SNI and no SNI"
}

boot_ec=$(served_sha ecdsa "$POSTFIX_PORT_SMTP" smtp)
boot_rsa=$(served_sha rsa "$POSTFIX_PORT_SMTP" smtp)
if [ -z "$boot_ec" ] || [ "$boot_ec" = "$boot_rsa" ]; then
	fail "the dual layout does not serve two boot certificates ($boot_ec / $boot_rsa)"
fi
all_serve "boot (the README dual blocks loaded)" "$boot_ec" "$boot_rsa"

# A deploy hook records its events: one per deployment of the unit.
EV=$TEST_TMP/deploy-events
mkdir -p "$TEST_TMP/hooks/deploy.d"
cat >"$TEST_TMP/hooks/deploy.d/10-record" <<EOT
#!/bin/sh
{ echo "event \$MAILCERT_EVENT"; env | grep '_FILE=' | sort; } >>$EV
EOT
chmod 755 "$TEST_TMP/hooks/deploy.d/10-record"

# hook_saw VERSION - one deploy event since the last call, with the first
# pair as MAILCERT_*_FILE and each pair as MAILCERT_{ECDSA,RSA}_*_FILE,
# whose files hold VERSION's leaves.
hook_saw() {
	local d f
	d=$(cert_dir mail)/current # (the hook runs once it is current)
	[ "$(grep -c '^event ' "$EV")" = 1 ] || fail "want one deploy event" "$EV"
	f=$(sed -n 's/^MAILCERT_CERT_FILE=//p' "$EV")
	assert_eq "$(mail_cert_sha256 "$f")" "$(leaf_sha "$1" ecdsa)" "MAILCERT_CERT_FILE: the ECDSA leaf"
	f=$(sed -n 's/^MAILCERT_ECDSA_CERT_FILE=//p' "$EV")
	assert_eq "$(mail_cert_sha256 "$f")" "$(leaf_sha "$1" ecdsa)" "MAILCERT_ECDSA_CERT_FILE"
	f=$(sed -n 's/^MAILCERT_RSA_CERT_FILE=//p' "$EV")
	assert_eq "$(mail_cert_sha256 "$f")" "$(leaf_sha "$1" rsa)" "MAILCERT_RSA_CERT_FILE"
	f=$(sed -n 's/^MAILCERT_RSA_KEY_FILE=//p' "$EV")
	assert_eq "$(key_type_of "$f")" rsa-2048 "MAILCERT_RSA_KEY_FILE"
	for f in ECDSA_KEY ECDSA_CHAIN ECDSA_FULLCHAIN RSA_CHAIN RSA_FULLCHAIN; do
		grep -q "^MAILCERT_${f}_FILE=$d/" "$EV" || fail "no MAILCERT_${f}_FILE in $d" "$EV"
	done
	rm -f "$EV"
}

# 1. Issue and deploy both pairs; every endpoint x 2 probes x 2 key types.
dual_config
mc_run issue mail
assert_exit 0 "dual issue with deploy"
assert_symlink "$(cert_dir mail)/current" versions/0001
n=$(grep -c ' match ' "$MC_OUT")
[ "$n" = $((${#EPS[@]} * 2 * 2)) ] || fail "expected $((${#EPS[@]} * 4)) matching live checks, got $n" "$MC_OUT"
for alg in ecdsa rsa; do
	[ "$(grep ' match ' "$MC_OUT" | grep -ci "$alg")" = $((${#EPS[@]} * 2)) ] ||
		fail "the live checks do not name $alg on every endpoint x probe" "$MC_OUT"
done
v1_ec=$(leaf_sha 0001 ecdsa) v1_rsa=$(leaf_sha 0001 rsa)
assert_eq "$(key_type_of "$(cert_dir mail)/current/privkey.pem")" ecdsa-p256 "first pair's key"
assert_eq "$(key_type_of "$(cert_dir mail)/current/privkey-rsa.pem")" rsa-2048 "second pair's key"
all_serve "after the dual issue" "$v1_ec" "$v1_rsa"
hook_saw 0001
assert_file_mode "$TLS/postfix/mail.rsa.pem" 600
assert_file_mode "$TLS/exim/mail.rsa.key" 640
[ "$(stat -L -c %G "$TLS/exim/mail.rsa.key")" = Debian-exim ] || fail "exim RSA key not group Debian-exim"
mc_run verify mail
assert_exit 0 "verify of the dual cert"
log "verify output (dual cert on the three daemons):"
sed 's/^/    /' "$MC_OUT" >&2

# 2. Renew (due: renew_before beyond Pebble's lifetime): both pairs move.
dual_config "renew_before = 3650d"
mc_run renew
assert_exit 0 "renew of the dual cert"
assert_symlink "$(cert_dir mail)/current" versions/0002
v2_ec=$(leaf_sha 0002 ecdsa) v2_rsa=$(leaf_sha 0002 rsa)
assert_ne "$v2_ec" "$v1_ec" "renew: new ECDSA leaf"
assert_ne "$v2_rsa" "$v1_rsa" "renew: new RSA leaf"
all_serve "after renew" "$v2_ec" "$v2_rsa"
hook_saw 0002
# status: one unit, both certificates of the current version
dual_config
mc_run --json status
assert_exit 0 "status of the dual cert"
python3 - "$MC_OUT" "$(cert_dir mail)/versions/0002/meta.json" <<'PY' || fail "status --json of the dual cert" "$MC_OUT"
import json, sys
o = json.load(open(sys.argv[1]))
c = [x for x in (o["certs"] if isinstance(o, dict) else o) if x["name"] == "mail"][0]
assert c["key_types"] == ["ecdsa-p256", "rsa-2048"], c
assert c["version"] == 2, c
assert [x["key_type"] for x in c["certificates"]] == ["ecdsa-p256", "rsa-2048"], c
assert c["certificates"][0]["serial"] != c["certificates"][1]["serial"], c
assert c["not_after"] == min(x["not_after"] for x in c["certificates"]), c
PY

# 3. Dovecot's RSA files stale: ssl_alt_cert/ssl_alt_key name a copy of
#    version 2's, which mailcert does not write. The next deployment is
#    inactive for RSA on Dovecot only; both pairs are rolled back.
#    The target's `config` names a copy of the configuration as it was
#    (what the administrator believes the daemon reads), so the check of
#    the daemon's configuration before the reload passes and only the live
#    check can see it: the running Dovecot reads another file than its
#    configuration on disk says, the classic inactive certificate. (With
#    `config` naming the real file, the deployment stops earlier: Dovecot
#    "not yet configured", nothing rolled back: t_first_run.)
DOVECOT_JUDGED=$(dirname "$DOVECOT_CONF")/judged.conf
cp -p "$DOVECOT_CONF" "$DOVECOT_JUDGED"
cp -p "$TLS/dovecot/mail.rsa.crt" "$TLS/dovecot/stale.rsa.crt"
cp -p "$TLS/dovecot/mail.rsa.key" "$TLS/dovecot/stale.rsa.key"
sed -i "s|^ssl_alt_cert = .*|ssl_alt_cert = <$TLS/dovecot/stale.rsa.crt|; s|^ssl_alt_key = .*|ssl_alt_key = <$TLS/dovecot/stale.rsa.key|" \
	"$DOVECOT_CONF"
dovecot_reload
dual_config
mc_run issue mail
assert_exit 3 "a dual deployment with Dovecot's RSA files stale"
assert_contains "$MC_ERR" "rolled back"
assert_symlink "$(cert_dir mail)/current" versions/0002
bad=$(grep ' inactive' "$MC_OUT")
[ -n "$bad" ] || fail "no inactive live check" "$MC_OUT"
grep -vi rsa <<<"$bad" && fail "inactive for another key type than RSA" "$MC_OUT"
for p in "$POSTFIX_PORT_SMTP" "$POSTFIX_PORT_SMTPS" "$EXIM_PORT_SMTP" "$EXIM_PORT_SMTPS"; do
	grep -F ":$p" <<<"$bad" && fail "inactive on port $p (not Dovecot)" "$MC_OUT"
done
[ "$(wc -l <<<"$bad")" = 4 ] || fail "want 4 inactive (2 Dovecot endpoints x 2 probes, RSA)" "$MC_OUT"
grep -q '"status": "failed"' "$(cert_dir mail)/versions/0003/meta.json" ||
	fail "version 0003 is not marked failed"
all_serve "after the rollback (Postfix, Exim)" "$v2_ec" "$v2_rsa" \
	"$POSTFIX_PORT_SMTP" "$POSTFIX_PORT_SMTPS" "$EXIM_PORT_SMTP" "$EXIM_PORT_SMTPS"
for p in "$DOVECOT_PORT_IMAP" "$DOVECOT_PORT_IMAPS"; do
	m=imap
	[ "$p" = "$DOVECOT_PORT_IMAP" ] || m=imaps
	assert_eq "$(served_sha ecdsa "$p" $m mail.example.test)" "$v2_ec" "Dovecot ECDSA rolled back to version 2"
done
for f in "$TLS"/*/mail.*.pem "$TLS"/*/mail.*.crt; do
	case $f in
	*rsa*) want=$v2_rsa ;;
	*) want=$v2_ec ;;
	esac
	assert_eq "$(mail_cert_sha256 "$f")" "$want" "$f holds version 2 after the rollback"
done
sed -i "s|^ssl_alt_cert = .*|ssl_alt_cert = <$TLS/dovecot/mail.rsa.crt|; s|^ssl_alt_key = .*|ssl_alt_key = <$TLS/dovecot/mail.rsa.key|" \
	"$DOVECOT_CONF"
dovecot_reload
unset DOVECOT_JUDGED

# 4. The RSA order fails after the ECDSA one was issued: exit 1, no
#    version stored, no file changed, version 2 served. The CA refuses the
#    RSA order's CSR at finalize: reuse_key keeps version 2's RSA key, made
#    an ACME account of its own first (Pebble: "CSR contains a public key
#    for a known account"). (Not a challenge refused by the hook: both
#    orders of the run are for the same name on the same account, and
#    Pebble may hand the RSA order the ECDSA order's valid authorization,
#    asking no challenge - always with PEBBLE_AUTHZREUSE=100, 1 run in 100
#    with 0; no harness call can sit between two orders of one run.)
rsa_keys=()
for f in "$(cert_dir mail)"/current/privkey*.pem; do
	[ "$(key_type_of "$f")" != rsa-2048 ] || rsa_keys+=("$f")
done
[ ${#rsa_keys[@]} = 1 ] || fail "version 2 has ${#rsa_keys[@]} RSA keys, expected 1"
acme_register_key "${rsa_keys[0]}"
issued=$(grep -c 'Issued certificate serial' "$TEST_TMP/pebble.log")
dual_config "reuse_key = yes"
before=$(sha256sum "$TLS"/*/mail.*)
mc_run issue mail
assert_exit 1 "the RSA order fails"
assert_eq "$(grep -c 'Issued certificate serial' "$TEST_TMP/pebble.log")" $((issued + 1)) \
	"certificates Pebble issued in the run (the ECDSA one)"
assert_contains "$MC_ERR" "known account" "the CA's reason for refusing the RSA CSR"
assert_contains "$MC_ERR" "both or neither"
assert_no_path "$(cert_dir mail)/versions/0004"
assert_symlink "$(cert_dir mail)/current" versions/0002
assert_eq "$(sha256sum "$TLS"/*/mail.*)" "$before" "no target file changed"
all_serve "after the failed RSA order" "$v2_ec" "$v2_rsa"
log "PASS"
