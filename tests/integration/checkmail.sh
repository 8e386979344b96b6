# shellcheck shell=bash disable=SC2154
#
# checkmail.sh - the certificates and daemon switches of the real-daemon
# `check` cases, shared by tests/integration/t_check_mail.sh (assertions)
# and bench/check.sh (mailcert beside testssl.sh on the same cases).
# Source lib.sh and mail.sh first.
#
#   pki_make      root -> intermediates -> leaves in $PKI (= $TEST_TMP/pki):
#                 ec (ECDSA, DNS:mail.test + IP:127.0.0.1), rsaold (RSA,
#                 expired 10 days ago), cnonly (no SAN, CN mail.test), idn
#                 (DNS:xn--bcher-kva.mail.test), revleaf and ocspleaf (good
#                 leaves under an intermediate the root revoked, by CRL /
#                 by OCSP); each as NAME.key (0640 Debian-exim), NAME.pem,
#                 NAME.full (leaf + intermediate), NAME.chain (key + full,
#                 a Postfix chain file); misorder.chain (key, leaf, root,
#                 intermediate) and broken.key (a PEM block that is no
#                 key). Starts pkihttp.py (the root's CRL and OCSP) on
#                 PKI_HTTP; lib.sh's cleanup stops it.
#   postfix_reconfigure SETTING   postconf -e, reload, let smtpd reread.
#   exim_set SED                  edit Exim's config, SIGHUP, wait.
#   dovecot_keys CERT KEY [nowait] switch ssl_cert/ssl_key, reload, wait
#                                 until imaps greets with CERT.
#   dovecot_set [CERT|nowait]     reload Dovecot, wait until imaps greets.
#   check_summary FILE            of mailcert check --json output: the
#                 daemon ("-" unknown), then "code@chainkey:severity ..."
#                 (ok remarks left out; not-tested ones by their label;
#                 @key only with several chains), then "label: text" of
#                 every finding, one per line.

PKI=$TEST_TMP/pki

# pki_ca - NAME DIR CERT: one CA section of the openssl ca configuration.
pki_ca() {
	mkdir -p "$2/new"
	: >"$2/index.txt"
	echo 1000 >"$2/serial"
	echo 1000 >"$2/crlnumber"
	printf '%s\n' "[$1]" "dir = $2" "database = $2/index.txt" \
		"new_certs_dir = $2/new" "serial = $2/serial" "crlnumber = $2/crlnumber" \
		"certificate = $3.pem" "private_key = $3.key" "default_md = sha256" \
		"default_days = 30" "default_crl_days = 7" "policy = any" \
		"unique_subject = no" "copy_extensions = none"
}

# pki_conf - openssl ca: the root signs the intermediates, which sign the
# leaves; int's leaves name no CRL or OCSP URL (a private CA).
pki_conf() {
	{
		printf '[ca]\ndefault_ca = int\n'
		pki_ca int "$PKI" "$PKI/int"
		pki_ca root "$PKI/root" "$PKI/root"
		pki_ca intrev "$PKI/intrev" "$PKI/intrev"
		pki_ca intocsp "$PKI/intocsp" "$PKI/intocsp"
	} >"$PKI/ca.cnf"
	cat >>"$PKI/ca.cnf" <<EOF
[any]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:mail.test,IP:127.0.0.1
[cnonly]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
[idn]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:xn--bcher-kva.mail.test
[v3_int]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_int_crl]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:$PKI_HTTP/root.crl
[v3_int_ocsp]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = OCSP;URI:$PKI_HTTP/root-ocsp
EOF
}

# pki_leaf - NAME SECTION ALG [openssl ca args]: NAME.key (0640 Debian-exim),
# NAME.pem, NAME.full (leaf + intermediate), NAME.chain (key + full); from
# the CA PKI_CA (default int).
pki_leaf() {
	local n=$1 section=$2 alg=$3 ca=${PKI_CA:-int}
	shift 3
	if [ "$alg" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
			-out "$PKI/$n.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$PKI/$n.key" 2>/dev/null
	fi
	openssl req -new -key "$PKI/$n.key" -subj "/CN=mail.test" \
		-out "$PKI/$n.csr" 2>/dev/null || fail "csr $n"
	openssl ca -batch -notext -config "$PKI/ca.cnf" -name "$ca" \
		-extensions "$section" -in "$PKI/$n.csr" -out "$PKI/$n.pem" "$@" \
		>"$PKI/$n.log" 2>&1 || fail "openssl ca $n" "$PKI/$n.log"
	cat "$PKI/$n.pem" "$PKI/$ca.pem" >"$PKI/$n.full"
	cat "$PKI/$n.key" "$PKI/$n.full" >"$PKI/$n.chain"
	chgrp Debian-exim "$PKI/$n.key" && chmod 0640 "$PKI/$n.key"
	chmod 0600 "$PKI/$n.chain"
}

# pki_int - NAME CN EXTENSIONS: an intermediate from the root.
pki_int() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "/CN=$2" 2>/dev/null ||
		fail "$1 csr"
	openssl ca -batch -notext -config "$PKI/ca.cnf" -name root \
		-extensions "$3" -in "$PKI/$1.csr" -out "$PKI/$1.pem" \
		>"$PKI/$1.log" 2>&1 || fail "intermediate $1" "$PKI/$1.log"
}

# pkihttp_start - pkihttp.py on PKI_HTTP_PORT (a port below the ephemeral
# range: the URLs are in the certificates already, so it cannot move).
pkihttp_start() {
	local n
	bg_start pkihttp "$TEST_TMP/pkihttp.log" python3 \
		"$MC_TESTS_DIR/integration/pkihttp.py" "$PKI" "$PKI_HTTP_PORT"
	for ((n = 0; n < 100; n++)); do
		port_listens "$PKI_HTTP_PORT" && return 0
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.05
	done
	fail "pkihttp.py does not listen on $PKI_HTTP" "$TEST_TMP/pkihttp.log"
}

# pki_make - root, intermediates (intrev revoked on the root's CRL,
# intocsp revoked at the root's OCSP responder), the leaves of the cases;
# then pkihttp.py on PKI_HTTP serves the CRL and answers OCSP.
pki_make() {
	mkdir -p "$PKI"
	chmod 0755 "$PKI"
	mail_free_port PKI_HTTP_PORT
	PKI_HTTP=http://127.0.0.1:$PKI_HTTP_PORT
	pki_conf
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PKI/root.key" -out "$PKI/root.pem" -days 30 \
		-subj "/CN=mailcert mail Test Root" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || fail "root"
	pki_int int "mailcert mail Test Intermediate" v3_int
	pki_int intrev "mailcert mail Revoked Intermediate" v3_int_crl
	pki_int intocsp "mailcert mail OCSP-revoked Intermediate" v3_int_ocsp
	openssl ca -config "$PKI/ca.cnf" -name root -revoke "$PKI/intrev.pem" \
		>/dev/null 2>&1 || fail "revoke intrev"
	openssl ca -config "$PKI/ca.cnf" -name root -revoke "$PKI/intocsp.pem" \
		>/dev/null 2>&1 || fail "revoke intocsp"
	openssl ca -config "$PKI/ca.cnf" -name root -gencrl -out "$PKI/root.crl" \
		>/dev/null 2>&1 || fail "root gencrl"
	PKI_CA=intrev pki_leaf revleaf leaf ec
	PKI_CA=intocsp pki_leaf ocspleaf leaf ec
	pkihttp_start
	pki_leaf ec leaf ec
	pki_leaf rsaold leaf rsa -startdate "$(date -u -d '-100 days' +%Y%m%d%H%M%SZ)" \
		-enddate "$(date -u -d '-10 days' +%Y%m%d%H%M%SZ)"
	pki_leaf cnonly cnonly ec
	pki_leaf idn idn ec
	cat "$PKI/ec.key" "$PKI/ec.pem" "$PKI/root.pem" "$PKI/int.pem" >"$PKI/misorder.chain"
	chmod 0600 "$PKI/misorder.chain"
	printf -- '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n' \
		>"$PKI/broken.key"
}

# postfix_reconfigure - postconf -e SETTING, reload, wait until the master
# has reloaded and its old smtpd processes are gone (mail.sh: a 1 s sleep
# here let a loaded machine's check meet an smtpd with the old chain).
postfix_reconfigure() {
	postconf -c "$POSTFIX_DIR/etc" -e "$1" || fail "postconf $1"
	postfix_reload
}

# exim_set - SED: edit Exim's config, SIGHUP, wait until the re-exec'd
# daemon has read it and answers (mail.sh's exim_reload; a 0.5 s sleep
# after the port answered - it answers throughout the re-exec - was all
# there was).
exim_set() {
	sed -i "$1" "$EXIM_CONF" || fail "sed $EXIM_CONF"
	exim_reload
}

# dovecot_keys - CERT KEY [nowait]: switch ssl_cert / ssl_key and reload;
# unless "nowait" (a key Dovecot cannot load), wait until imaps greets
# with CERT's leaf.
dovecot_keys() {
	sed -i "s|^ssl_cert = .*|ssl_cert = <$1|; s|^ssl_key = .*|ssl_key = <$2|" \
		"$DOVECOT_CONF" || fail "sed $DOVECOT_CONF"
	if [ "${3:-}" = nowait ]; then
		dovecot_set nowait
	else
		dovecot_set "$1"
	fi
}

# dovecot_set - [CERT|nowait]: reload Dovecot and wait until its master has
# read the new config (mail.sh's dovecot_reload; "nowait" - a key it cannot
# load - was a fixed 1 s sleep, after which a loaded machine could still
# meet the old config); then (unless "nowait") wait until its imaps port
# greets ("* OK" after the handshake, serving CERT's leaf when CERT is
# given). After a reload Dovecot's new login processes greet only once
# they reach the new auth process, which on a loaded machine (the ASan
# suite, two tests at a time) took longer than a second: check then heard
# no greeting and could not name the daemon.
dovecot_set() {
	dovecot_reload
	[ "${1:-}" = nowait ] && return 0
	dovecot_greets "${1:-}" ||
		fail "dovecot: imaps gives no greeting (with ${1:-its certificate}) 15 s after the reload" "$DOVECOT_LOG"
}

# dovecot_greets - [CERT]: within 15 s, an imaps connection that greets
# "* OK" (serving CERT's first certificate when CERT is given).
dovecot_greets() {
	python3 - "$DOVECOT_PORT_IMAPS" "${1:-}" <<'EOF'
import socket, ssl, sys, time
port, cert = int(sys.argv[1]), sys.argv[2]
want = None
if cert:
    pem = open(cert).read()
    end = pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    want = ssl.PEM_cert_to_DER_cert(pem[pem.index("-----BEGIN CERTIFICATE-----"):end])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
deadline = time.time() + 15
while time.time() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            with ctx.wrap_socket(s, server_hostname="mail.test") as t:
                t.settimeout(2)
                served = t.getpeercert(binary_form=True)
                if t.recv(256).startswith(b"* OK") and (want is None or served == want):
                    sys.exit(0)
    except (OSError, ValueError):
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}


# check_summary - the lines described in the header, from FILE.
check_summary() {
	python3 - "$1" <<'EOF'
import json, sys
e = json.load(open(sys.argv[1]))["endpoints"][0]
keys = [c["key"] for c in e["chains"]]
out = []
for f in e["findings"]:
    if f["severity"] == "ok":
        continue
    where = "@" + keys[f["chain"]] if f["chain"] is not None and len(keys) > 1 else ""
    name = f["label"] if f["not_tested"] else f["code"]
    out.append("%s%s:%s" % (name, where, f["severity"]))
print(e["server"] or "-")
print(" ".join(sorted(out)))
for f in e["findings"]:
    print(f["label"] + ": " + f["text"])
EOF
}
