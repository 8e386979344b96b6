#!/bin/bash
# shellcheck disable=SC2154
#
# t_check.sh - `mailcert check` against real TLS servers on 127.0.0.1.
#
# A throw-away PKI is made with `openssl ca` (root -> intermediates ->
# leaves; each CA's index.txt drives its CRL and its OCSP answers; the
# intermediates point at the root's CRL or OCSP responder, and two of them
# are revoked there). Each row starts `openssl s_server -accept
# 127.0.0.1:PORT` with one leaf and runs the real binary with --json;
# python3 parses the findings. Rows assert the exact set of finding codes
# of the chain checks with their severity (weak-protocol and weak-cipher
# belong to mc_check_protocols and are ignored where the row needs a
# seclevel-0 server), the not_tested flag, the exit code and, for some, a
# fragment of the labels and texts; the clean server must yield no
# finding at all.
#
# Helpers on loopback: pkihttp.py serves the intermediate (AIA caIssuers),
# the CRLs (CRL DP) and OCSP: a POST to /ocsp (the intermediate's
# responder) or /root-ocsp (the root's) is answered by the real `openssl
# ocsp -index` responder. The real Postfix, Dovecot and Exim cases are in
# t_check_mail.sh.
# A tiny python3 SMTP server without STARTTLS gives starttls-missing; a
# real Postfix (tests/integration/mail.sh) gives the STARTTLS row when the
# mail harness can run (root, packages), else that row is skipped with a
# note.

. "$MC_TESTS_DIR/integration/lib.sh"

PKI=$TEST_TMP/pki
for d in "$PKI" "$PKI/root" "$PKI/int2" "$PKI/int3"; do
	mkdir -p "$d/new"
	: >"$d/index.txt"
	echo 1000 >"$d/serial"
	echo 1000 >"$d/crlnumber"
done
free_port HTTP_PORT
HTTP=http://127.0.0.1:$HTTP_PORT

# pki_ca_section - NAME DIR CERT: one CA of the openssl ca configuration.
pki_ca_section() {
	cat <<EOF
[$1]
dir = $2
database = $2/index.txt
new_certs_dir = $2/new
serial = $2/serial
crlnumber = $2/crlnumber
certificate = $3.pem
private_key = $3.key
default_md = sha256
default_days = 90
default_crl_days = 7
policy = any
unique_subject = no
copy_extensions = none
EOF
}

# pki_conf - the openssl ca configuration: four CAs, one section per kind.
pki_conf() {
	{
		printf '[ca]\ndefault_ca = int\n'
		pki_ca_section int "$PKI" "$PKI/int"
		pki_ca_section root "$PKI/root" "$PKI/root"
		pki_ca_section int2 "$PKI/int2" "$PKI/int2"
		pki_ca_section int3 "$PKI/int3" "$PKI/int3"
	} >"$PKI/ca.cnf"
	cat >>"$PKI/ca.cnf" <<EOF
[any]
commonName = supplied
[v3_int]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:$HTTP/root.crl
[v3_int_ocsp]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = OCSP;URI:$HTTP/root-ocsp
[cnonly]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
crlDistributionPoints = URI:$HTTP/int.crl
[idn]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:xn--bcher-kva.mail.test
crlDistributionPoints = URI:$HTTP/int.crl
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:mail.test,IP:127.0.0.1
crlDistributionPoints = URI:$HTTP/int.crl
authorityInfoAccess = caIssuers;URI:$HTTP/int.der
[wrongname]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.test
crlDistributionPoints = URI:$HTTP/int.crl
[ocsp]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:mail.test,IP:127.0.0.1
authorityInfoAccess = OCSP;URI:$HTTP/ocsp
[norev]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:mail.test,IP:127.0.0.1
EOF
}

# pki_int - NAME CN EXTENSIONS: an intermediate NAME.pem/.key from the root.
pki_int() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "/CN=$2" \
		2>/dev/null || fail "$1 csr"
	openssl ca -batch -notext -config "$PKI/ca.cnf" -name root \
		-extensions "$3" -days 3000 -in "$PKI/$1.csr" -out "$PKI/$1.pem" \
		>"$PKI/$1.log" 2>&1 || fail "intermediate $1" "$PKI/$1.log"
}

# pki_root_int - the root (trust bundle) and the intermediates: int (good,
# root CRL), int2 (revoked, root CRL), int3 (revoked, root OCSP only).
pki_root_int() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PKI/root.key" -out "$PKI/root.pem" -days 3650 \
		-subj "/CN=mailcert Test Root" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null ||
		fail "root CA"
	pki_int int "mailcert Test Intermediate" v3_int
	pki_int int2 "mailcert Test Intermediate 2" v3_int
	pki_int int3 "mailcert Test Intermediate 3" v3_int_ocsp
	openssl x509 -in "$PKI/int.pem" -outform DER -out "$PKI/int.der"
	openssl ca -config "$PKI/ca.cnf" -name root -revoke "$PKI/int2.pem" \
		-crl_reason keyCompromise >/dev/null 2>&1 || fail "revoke int2"
	openssl ca -config "$PKI/ca.cnf" -name root -revoke "$PKI/int3.pem" \
		>/dev/null 2>&1 || fail "revoke int3"
	openssl ca -config "$PKI/ca.cnf" -name root -gencrl \
		-out "$PKI/root.crl.pem" >/dev/null 2>&1 || fail "root gencrl"
	openssl crl -in "$PKI/root.crl.pem" -outform DER -out "$PKI/root.crl"
}

# pki_leaf - NAME SECTION KEYALG [openssl ca args...]: NAME.pem/.key from
# the CA named by PKI_CA (default int).
pki_leaf() {
	local name=$1 section=$2 keyalg=$3 ca=${PKI_CA:-int}
	shift 3
	if [ "$keyalg" = rsa1024 ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 \
			-out "$PKI/$name.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$PKI/$name.key" 2>/dev/null
	fi
	openssl req -new -key "$PKI/$name.key" -subj "/CN=$name.mail.test" \
		-out "$PKI/$name.csr" 2>/dev/null || fail "csr $name"
	openssl ca -batch -notext -config "$PKI/ca.cnf" -name "$ca" \
		-extensions "$section" -in "$PKI/$name.csr" -out "$PKI/$name.pem" "$@" \
		>"$PKI/$name.log" 2>&1 || fail "openssl ca $name" "$PKI/$name.log"
	cp "$PKI/$ca.pem" "$PKI/$name.chain"
}

# pki_make - every certificate of the table, the CRL and the stapled answer.
pki_make() {
	local past_nb past_na fut_nb fut_na soon_nb soon_na
	pki_conf
	pki_root_int
	past_nb=$(date -u -d '-100 days' +%Y%m%d%H%M%SZ)
	past_na=$(date -u -d '-10 days' +%Y%m%d%H%M%SZ)
	fut_nb=$(date -u -d '+10 days' +%Y%m%d%H%M%SZ)
	fut_na=$(date -u -d '+100 days' +%Y%m%d%H%M%SZ)
	soon_nb=$(date -u -d '-80 days' +%Y%m%d%H%M%SZ)
	soon_na=$(date -u -d '+2 days' +%Y%m%d%H%M%SZ)
	pki_leaf clean leaf ec
	pki_leaf other leaf ec
	pki_leaf expired leaf ec -startdate "$past_nb" -enddate "$past_na"
	pki_leaf future leaf ec -startdate "$fut_nb" -enddate "$fut_na"
	pki_leaf soon leaf ec -startdate "$soon_nb" -enddate "$soon_na"
	pki_leaf wrongname wrongname ec
	pki_leaf sha1 leaf ec -md sha1
	pki_leaf rsa1024 leaf rsa1024
	pki_leaf revcrl leaf ec
	pki_leaf ocspgood ocsp ec
	pki_leaf ocsprev ocsp ec
	pki_leaf staple norev ec
	pki_leaf norev norev ec
	pki_leaf cnonly cnonly ec
	pki_leaf idn idn ec
	PKI_CA=int2 pki_leaf int2leaf norev ec
	PKI_CA=int3 pki_leaf int3leaf norev ec
	cat "$PKI/root.pem" "$PKI/int.pem" >"$PKI/misorder.chain"
	cat "$PKI/int.pem" "$PKI/int2.pem" >"$PKI/extra.chain"
	openssl ca -config "$PKI/ca.cnf" -revoke "$PKI/revcrl.pem" \
		-crl_reason keyCompromise >/dev/null 2>&1 || fail "revoke revcrl"
	openssl ca -config "$PKI/ca.cnf" -revoke "$PKI/ocsprev.pem" \
		>/dev/null 2>&1 || fail "revoke ocsprev"
	openssl ca -config "$PKI/ca.cnf" -gencrl -out "$PKI/int.crl.pem" \
		>/dev/null 2>&1 || fail "gencrl"
	openssl crl -in "$PKI/int.crl.pem" -outform DER -out "$PKI/int.crl"
	pki_ocsp_answer "$PKI/staple.pem" "$PKI/staple.der"
	pki_selfsigned
	pki_untrusted
}

# pki_ocsp_answer - CERT OUT: the DER OCSP response the responder gives.
pki_ocsp_answer() {
	openssl ocsp -issuer "$PKI/int.pem" -cert "$1" -no_nonce \
		-reqout "$TEST_TMP/req.der" >/dev/null 2>&1 || fail "ocsp req"
	openssl ocsp -index "$PKI/index.txt" -CA "$PKI/int.pem" \
		-rsigner "$PKI/int.pem" -rkey "$PKI/int.key" -ndays 1 \
		-reqin "$TEST_TMP/req.der" -respout "$2" >/dev/null 2>&1 ||
		fail "ocsp response"
}

# pki_selfsigned - a self-signed leaf for the right name.
pki_selfsigned() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PKI/self.key" -out "$PKI/self.pem" -days 30 \
		-subj "/CN=mail.test" -addext "subjectAltName=IP:127.0.0.1" \
		-addext basicConstraints=critical,CA:FALSE 2>/dev/null ||
		fail "self-signed"
}

# pki_untrusted - a leaf from another root that is not in the bundle.
pki_untrusted() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PKI/evil.key" -out "$PKI/evil.pem" -days 30 \
		-subj "/CN=Some Other Root" \
		-addext basicConstraints=critical,CA:TRUE 2>/dev/null ||
		fail "other root"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PKI/untrusted.key" -subj "/CN=untrusted.mail.test" \
		-out "$PKI/untrusted.csr" 2>/dev/null || fail "untrusted csr"
	openssl x509 -req -in "$PKI/untrusted.csr" -CA "$PKI/evil.pem" \
		-CAkey "$PKI/evil.key" -CAcreateserial -days 30 -sha256 \
		-extfile "$PKI/ca.cnf" -extensions norev \
		-out "$PKI/untrusted.pem" 2>/dev/null || fail "untrusted leaf"
}

# http_start - pkihttp.py: the files of PKI, POST /ocsp and /root-ocsp.
http_start() {
	bg_start http "$TEST_TMP/http.log" python3 "$MC_TESTS_DIR/integration/pkihttp.py" "$PKI" \
		"$HTTP_PORT"
	wait_http "$HTTP/int.der" "$BG_PID" "http server" "$TEST_TMP/http.log"
}

# server_start - NAME [-nochain] [s_server args...]: s_server with NAME's
# leaf and (unless -nochain, or there is none) its intermediate; sets PORT.
server_start() {
	local name=$1
	local -a chain=()
	shift
	[ -f "$PKI/$name.chain" ] && chain=(-cert_chain "$PKI/$name.chain")
	if [ "${1:-}" = -nochain ]; then
		chain=()
		shift
	elif [ "${1:-}" = -chain ]; then
		chain=(-cert_chain "$PKI/$2.chain")
		shift 2
	fi
	free_port PORT
	bg_start "s_server $name" "$TEST_TMP/s_server.$name.log" \
		openssl s_server -accept "127.0.0.1:$PORT" -quiet -www \
		-cert "$PKI/$name.pem" -key "$PKI/$name.key" "${chain[@]}" "$@"
	SERVER_PID=$BG_PID
	wait_listening "$PORT" "$SERVER_PID" "s_server $name" "$TEST_TMP/s_server.$name.log"
}

# check_json - URL [args...]: run check --json; MC_RC, MC_OUT.
check_json() {
	MC_OUT=$TEST_TMP/check.out
	MC_ERR=$TEST_TMP/check.err
	timeout -k 5 60 "$MAILCERT" check --json --trust-bundle "$PKI/root.pem" \
		--timeout 5 "$@" >"$MC_OUT" 2>"$MC_ERR" </dev/null
	MC_RC=$?
}

# text_of - "label: text" of the first endpoint's findings, one per line.
text_of() {
	python3 -c 'import json,sys
for f in json.load(open(sys.argv[1]))["endpoints"][0]["findings"]:
    print(f["label"] + ": " + f["text"])' "$MC_OUT"
}

# codes_of - "code[:nt] ..." sorted, of the first endpoint; ignoring $1.
codes_of() {
	python3 - "$MC_OUT" "$1" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
ignore = set(sys.argv[2].split())
out = []
for f in doc["endpoints"][0]["findings"]:
    if f["code"] in ignore:
        continue
    out.append(f["code"] + (":nt" if f["not_tested"] else "") + ":" + f["severity"])
print(" ".join(sorted(out)))
EOF
}

WEAK_PROTO="weak-protocol weak-cipher"
SECLEVEL0=(-cipher "ALL:@SECLEVEL=0")

# Rows: label | served leaf | s_server extras | check extras | ignored codes
#       | expected findings (code[:nt]:severity, sorted) | exit code
#       | [a fragment of "label: text" of the findings]
ROWS=(
	"clean|clean|||-||0"
	"expired|expired|||-|expired:critical|3"
	"not-yet-valid|future|||-|not-yet-valid:critical|3"
	"expires-soon (relative)|soon|||-|expires-soon:critical|3"
	"expires-soon (--warn)|clean||--warn 4000 --crit 1|-|expires-soon:warning|0"
	"self-signed|self|||-|self-signed:critical|3"
	"name-mismatch|wrongname|||-|name-mismatch:critical|3"
	"untrusted root|untrusted|||-|untrusted:critical|3"
	"incomplete chain (AIA)|clean|leafonly||-|incomplete-chain:critical|3"
	"incomplete chain, no fetch|clean|leafonly|--no-fetch|-|untrusted:critical|3"
	"revoked by CRL|revcrl|||-|revoked:critical|3|The certificate \"revcrl.mail.test\" was revoked"
	"good by OCSP|ocspgood|||-||0"
	"revoked by OCSP|ocsprev|||-|revoked:critical|3|according to the OCSP responder at"
	"good stapled OCSP|staple|staple||-||0"
	"no revocation URL: not published|norev|||-|revoked:nt:ok|0|revocation not published: No CRL or OCSP URL is published for \"norev.mail.test\""
	"revoked intermediate (root CRL)|int2leaf|||-|revoked:critical|3|The intermediate \"mailcert Test Intermediate 2\" was revoked"
	"revoked intermediate (root OCSP)|int3leaf|||-|revoked:critical|3|The intermediate \"mailcert Test Intermediate 3\" was revoked"
	"revocation not tested (--no-fetch)|clean||--no-fetch|-|revoked:nt:warning|0|revocation not tested: Revocation could not be checked for \"clean.mail.test\""
	"CN-only leaf (RFC 9525)|cnonly||--servername cnonly.mail.test|-|name-mismatch:critical|3|no subjectAltName, only the subject CN \"cnonly.mail.test\""
	"IDN: U-label --servername|idn||--servername bücher.mail.test|-||0"
	"IDN: A-label --servername|idn||--servername XN--BCHER-KVA.mail.test|-||0"
	"IDN: another name|idn||--servername bücher.other.test|-|name-mismatch:critical|3|\"xn--bcher-kva.other.test\" (bücher.other.test)"
	"misordered chain|clean|misorder||-|chain-order:warning|0|the path is \"clean.mail.test\" (#1), \"mailcert Test Intermediate\" (#3)"
	"unrelated extra certificate|clean|extra||-|chain-order:warning|0|also sends \"mailcert Test Intermediate 2\" (#3)"
	"SHA-1 signature|sha1|seclevel0||weak|weak-signature:critical|3"
	"RSA-1024 key|rsa1024|seclevel0||weak|weak-key:critical|3"
	"inactive (--expect)|clean||--expect @other|-|inactive:critical|3"
	"same leaf (--expect)|clean||--expect @clean|-||0"
)

# run_row - one table row: start the server, check, compare, stop.
run_row() {
	local label leaf sx cx ign want code frag got
	local -a sargs=() cargs=()
	IFS='|' read -r label leaf sx cx ign want code frag <<<"$1"
	case $sx in
	leafonly) sargs=(-nochain) ;;
	staple) sargs=(-status_file "$PKI/staple.der") ;;
	seclevel0) sargs=("${SECLEVEL0[@]}") ;;
	misorder | extra) sargs=(-chain "$sx") ;;
	esac
	[ "$ign" = weak ] && ign=$WEAK_PROTO || ign=""
	if [ -n "$cx" ]; then
		read -r -a cargs <<<"${cx//@/$PKI/}"
		[[ $cx == *@* ]] && cargs[-1]=${cargs[-1]}.pem
	fi
	server_start "$leaf" "${sargs[@]}"
	check_json "tls://127.0.0.1:$PORT" "${cargs[@]}"
	bg_stop "$SERVER_PID"
	got=$(codes_of "$ign") || fail "$label: no JSON" "$MC_OUT" "$MC_ERR"
	[ "$got" = "$want" ] ||
		fail "$label: findings [$got], want [$want]" "$MC_OUT" "$MC_ERR"
	[ "$MC_RC" = "$code" ] ||
		fail "$label: exit $MC_RC, want $code" "$MC_OUT" "$MC_ERR"
	[ -z "$frag" ] || grep -qF -- "$frag" <<<"$(text_of)" ||
		fail "$label: no finding says '$frag'" "$MC_OUT"
	log "ok: $label -> [${got:-no finding}] exit $MC_RC"
}

# time_clean - log how long one check of the clean server takes (no assertion).
time_clean() {
	local t0 t1
	server_start clean
	t0=$(date +%s%N)
	"$MAILCERT" check --trust-bundle "$PKI/root.pem" "tls://127.0.0.1:$PORT" \
		>/dev/null 2>&1
	t1=$(date +%s%N)
	bg_stop "$SERVER_PID"
	log "timing: check of the clean server took $(((t1 - t0) / 1000000)) ms"
}

pki_make
http_start
for row in "${ROWS[@]}"; do
	run_row "$row"
done
time_clean

# smtp_nostarttls_start - a plain SMTP server that never offers STARTTLS.
smtp_nostarttls_start() {
	cat >"$TEST_TMP/nostarttls.py" <<'EOF2'
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 plain.test ESMTP no TLS here\r\n")
        for line in self.rfile:
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO"):
                self.wfile.write(b"250-plain.test\r\n250 PIPELINING\r\n")
            elif cmd.startswith(b"QUIT"):
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 no\r\n")
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF2
	free_port SMTP_PORT
	bg_start nostarttls "$TEST_TMP/nostarttls.log" python3 \
		"$TEST_TMP/nostarttls.py" "$SMTP_PORT"
	wait_listening "$SMTP_PORT" "$BG_PID" "the plain SMTP server" "$TEST_TMP/nostarttls.log"
}

# endpoint_rows - unreachable and starttls-missing from the probe outcome.
endpoint_rows() {
	local closed
	free_port closed
	check_json "tls://127.0.0.1:$closed"
	assert_eq "$(codes_of "")" "unreachable:critical" "closed port"
	assert_eq "$MC_RC" 3 "closed port: exit"
	log "ok: closed port -> unreachable, exit 3"
	smtp_nostarttls_start
	check_json "smtp://127.0.0.1:$SMTP_PORT"
	assert_eq "$(codes_of "")" "starttls-missing:critical" "no STARTTLS"
	assert_eq "$MC_RC" 3 "no STARTTLS: exit"
	log "ok: SMTP without STARTTLS -> starttls-missing, exit 3"
}

# from_rows - --from FILE with --parallel: order, worst, reachability.
from_rows() {
	local clean_port exp_port closed got
	server_start clean
	clean_port=$PORT
	server_start expired
	exp_port=$PORT
	free_port closed
	printf '# endpoints\n\ntls://127.0.0.1:%s\n  tls://127.0.0.1:%s  # expired\ntls://127.0.0.1:%s\n' \
		"$clean_port" "$exp_port" "$closed" >"$TEST_TMP/urls"
	check_json --from "$TEST_TMP/urls" --parallel 2
	got=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(" ".join("%s:%s:%s" % (e["url"].rsplit(":",1)[1], e["reachable"], e["worst"]) for e in d["endpoints"]))' "$MC_OUT")
	assert_eq "$got" "$clean_port:True:ok $exp_port:True:critical $closed:False:critical" "--from"
	assert_eq "$MC_RC" 3 "--from: exit"
	log "ok: --from with --parallel 2 -> [$got]"
	nagios_rows "$clean_port" "$exp_port"
	config_rows "$clean_port"
}

# nagios_row - ARGS... : run check --nagios; NAGIOS_LINE, MC_RC.
nagios_row() {
	timeout -k 5 60 "$MAILCERT" check --nagios --trust-bundle "$PKI/root.pem" \
		"$@" >"$TEST_TMP/nagios.out" 2>&1 </dev/null
	MC_RC=$?
	NAGIOS_LINE=$(head -n 1 "$TEST_TMP/nagios.out")
}

# nagios_rows - CLEAN_PORT EXPIRED_PORT: status line, perfdata, exit codes.
nagios_rows() {
	nagios_row "tls://127.0.0.1:$1"
	assert_eq "$MC_RC" 0 "nagios OK: exit"
	[[ $NAGIOS_LINE =~ ^MAILCERT\ OK\ -\ .*\|\ days_left=(89|90)\;30\;9$ ]] ||
		fail "nagios OK line: $NAGIOS_LINE"
	nagios_row "tls://127.0.0.1:$1" --warn 4000 --crit 2
	assert_eq "$MC_RC" 1 "nagios WARNING: exit"
	[[ $NAGIOS_LINE =~ ^MAILCERT\ WARNING\ -\ .*expires-soon.*\;4000\;2$ ]] ||
		fail "nagios WARNING line: $NAGIOS_LINE"
	nagios_row "tls://127.0.0.1:$2"
	assert_eq "$MC_RC" 2 "nagios CRITICAL: exit"
	[[ $NAGIOS_LINE =~ ^MAILCERT\ CRITICAL\ -\ .*expired ]] ||
		fail "nagios CRITICAL line: $NAGIOS_LINE"
	grep -q "critical expired: The certificate" "$TEST_TMP/nagios.out" ||
		fail "nagios details" "$TEST_TMP/nagios.out"
	# A revocation that could not be checked is named as such, never
	# "revoked", in the status line and in the details.
	nagios_row "tls://127.0.0.1:$1" --no-fetch
	assert_eq "$MC_RC" 1 "nagios not tested: exit"
	[[ $NAGIOS_LINE =~ ^MAILCERT\ WARNING\ -\ 1\ endpoint:\ revocation\ not\ tested\ tls:// ]] ||
		fail "nagios not-tested line: $NAGIOS_LINE"
	grep -qw revoked "$TEST_TMP/nagios.out" &&
		fail "nagios says revoked for a not-tested revocation" "$TEST_TMP/nagios.out"
	log "ok: --nagios OK/WARNING/CRITICAL lines and exits 0/1/2; 'revocation not tested'"
}

# config_rows - CLEAN_PORT: -c supplies trust_bundle; --trust-bundle wins;
# without any config the system store is used (untrusted here).
config_rows() {
	local url=tls://127.0.0.1:$1 conf=$TEST_TMP/check.conf bad=$TEST_TMP/bad.conf
	printf '[global]\ntrust_bundle = %s\n' "$PKI/root.pem" >"$conf"
	printf '[global]\ntrust_bundle = %s\nbogus = 1\n' "$PKI/root.pem" >"$bad"
	timeout -k 5 60 "$MAILCERT" -c "$conf" check --json --timeout 5 "$url" \
		>"$TEST_TMP/check.out" 2>"$TEST_TMP/check.err" </dev/null
	MC_RC=$? MC_OUT=$TEST_TMP/check.out
	assert_eq "$(codes_of "")" "" "-c with trust_bundle"
	assert_eq "$MC_RC" 0 "-c with trust_bundle: exit"
	MAILCERT_CONFIG=$conf timeout -k 5 60 "$MAILCERT" check --json --timeout 5 \
		"$url" >"$TEST_TMP/check.out" 2>&1 </dev/null
	assert_eq "$(codes_of "")" "" "MAILCERT_CONFIG with trust_bundle"
	timeout -k 5 60 "$MAILCERT" -c "$conf" check --json --timeout 5 \
		--trust-bundle "$PKI/evil.pem" "$url" >"$TEST_TMP/check.out" 2>&1 </dev/null
	assert_eq "$(codes_of "")" "untrusted:critical" "--trust-bundle over -c"
	timeout -k 5 60 "$MAILCERT" -c "$bad" check --timeout 5 "$url" \
		>"$TEST_TMP/check.out" 2>"$TEST_TMP/check.err" </dev/null
	MC_RC=$?
	assert_eq "$MC_RC" 2 "-c with a bad config: exit"
	grep -q "bad.conf:3" "$TEST_TMP/check.err" ||
		fail "-c with a bad config: no file:line" "$TEST_TMP/check.err"
	log "ok: -c / MAILCERT_CONFIG supply trust_bundle, --trust-bundle wins, bad config exit 2"
}

# file_rows - check --file: a chain file, a Postfix-style file with two
# keys and chains (one expired), --servername, --no-fetch.
file_rows() {
	local f=$TEST_TMP/file.pem two=$TEST_TMP/two.pem got
	cat "$PKI/clean.pem" "$PKI/int.pem" >"$f"
	check_json --file "$f" --servername mail.test
	assert_eq "$(codes_of "")" "" "--file clean chain"
	assert_eq "$MC_RC" 0 "--file clean chain: exit"
	check_json --file "$f" --servername other.mail.test --no-fetch
	assert_eq "$(codes_of "")" "name-mismatch:critical revoked:nt:warning" \
		"--file, wrong name, no fetch"
	assert_eq "$MC_RC" 3 "--file wrong name: exit"
	cat "$PKI/clean.key" "$PKI/clean.pem" "$PKI/int.pem" \
		"$PKI/expired.key" "$PKI/expired.pem" "$PKI/int.pem" >"$two"
	check_json --file "$two"
	got=$(python3 -c 'import json,sys
e=json.load(open(sys.argv[1]))["endpoints"][0]
assert e["file"] == sys.argv[2] and e["url"] == "", e
print(len(e["chains"]), " ".join("%s@%s" % (f["code"], f["chain"]) for f in e["findings"]))' \
		"$MC_OUT" "$two") || fail "--file two chains: JSON" "$MC_OUT"
	assert_eq "$got" "2 expired@1" "--file with two key+chain blocks"
	assert_eq "$MC_RC" 3 "--file two chains: exit"
	log "ok: --file: chain checks, --servername, two chains of a Postfix chain file"
}

# misc_rows - --help, the implicit-TLS hint, a U-label URL host.
misc_rows() {
	local t0 ms
	"$MAILCERT" check --help >"$TEST_TMP/help.out" 2>&1
	assert_eq "$?" 0 "check --help: exit"
	grep -q -- "--profile" "$TEST_TMP/help.out" || fail "check --help" "$TEST_TMP/help.out"
	server_start clean
	t0=$(date +%s%N)
	check_json "imap://127.0.0.1:$PORT" --timeout 2
	ms=$((($(date +%s%N) - t0) / 1000000))
	bg_stop "$SERVER_PID"
	grep -qF "answers TLS at once (implicit TLS): use imaps://127.0.0.1:$PORT" <<<"$(text_of)" ||
		fail "imap:// on a TLS port: no hint" "$MC_OUT"
	[ "$ms" -lt 6000 ] || fail "imap:// on a TLS port took $ms ms"
	server_start idn
	check_json "tls://bücher.mail.test:$PORT"
	bg_stop "$SERVER_PID"
	python3 -c 'import json,sys
e=json.load(open(sys.argv[1]))["endpoints"][0]
assert e["url"].startswith("tls://xn--bcher-kva.mail.test:"), e["url"]
assert e["servername"] == "xn--bcher-kva.mail.test", e
assert e["servername_unicode"] == "bücher.mail.test", e' "$MC_OUT" ||
		fail "U-label URL host" "$MC_OUT"
	log "ok: check --help; imap:// on a TLS port hints imaps:// in $ms ms; U-label URL host"
}

# Usage errors: label | arguments | stderr fragment (all exit 2).
USAGE_ROWS=(
	"no URL||no URL given"
	"bad scheme|http://127.0.0.1:1|http"
	"json and nagios|tls://127.0.0.1:1 --json --nagios|exclude"
	"timeout 0|tls://127.0.0.1:1 --timeout 0|--timeout"
	"parallel x|tls://127.0.0.1:1 --parallel x|--parallel"
	"missing value|tls://127.0.0.1:1 --warn|--warn"
	"unknown option|tls://127.0.0.1:1 --bogus 1|--bogus"
	"expect missing|tls://127.0.0.1:1 --expect /nonexistent/x.pem|--expect"
	"from missing|--from /nonexistent/urls|--from"
	"invalid --servername|tls://127.0.0.1:1 --servername a..b|--servername: \"a..b\" is not a valid DNS name: empty label"
	"bad punycode --servername|tls://127.0.0.1:1 --servername xn--zz.test|punycode"
	"wildcard --servername|tls://127.0.0.1:1 --servername *.mail.test|wildcard"
	"bad --profile|tls://127.0.0.1:1 --profile loose|--profile"
	"--file and a URL|tls://127.0.0.1:1 --file /dev/null|--file"
	"--file missing|--file /nonexistent/x.pem|--file"
	"invalid IDN host|tls://b"$'\xff'"cher.test:1|not a valid international"
)

# usage_rows - every usage error exits 2 and names the problem.
usage_rows() {
	local row label args frag
	local -a argv
	for row in "${USAGE_ROWS[@]}"; do
		IFS='|' read -r label args frag <<<"$row"
		read -r -a argv <<<"$args"
		timeout -k 5 30 "$MAILCERT" check "${argv[@]}" \
			>"$TEST_TMP/usage.out" 2>"$TEST_TMP/usage.err" </dev/null
		MC_RC=$?
		assert_eq "$MC_RC" 2 "usage '$label': exit"
		grep -qi -- "$frag" "$TEST_TMP/usage.err" ||
			fail "usage '$label': stderr lacks '$frag'" "$TEST_TMP/usage.err"
	done
	log "ok: ${#USAGE_ROWS[@]} usage errors exit 2"
}

# postfix_row - STARTTLS on a real Postfix (mail.sh), when it can run.
postfix_row() {
	if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null 2>&1; then
		log "NOTE: Postfix STARTTLS row skipped (needs root and postfix)"
		return 0
	fi
	# shellcheck source=tests/integration/mail.sh
	. "$MC_TESTS_DIR/integration/mail.sh"
	mail_certs "$TEST_TMP/mailpki" mail.test 127.0.0.1
	postfix_start "$TEST_TMP/postfix" "$MAIL_COMBINED"
	check_json "smtp://127.0.0.1:$POSTFIX_PORT_SMTP" --servername mail.test \
		--trust-bundle "$MAIL_CA_CERT" --expect "$MAIL_CERT"
	# The harness's Postfix keeps the opportunistic-TLS defaults (TLS 1.0,
	# aNULL): those findings are mc_check_protocols' business, ignored here
	# (t_check_mail.sh judges them); its private CA publishes no CRL/OCSP.
	assert_eq "$(codes_of "$WEAK_PROTO")" "revoked:nt:ok" "Postfix STARTTLS"
	python3 -c 'import json,sys
e=json.load(open(sys.argv[1]))["endpoints"][0]
assert e["reachable"] and e["sni"] and e["protocol"].startswith("TLSv1."), e
assert e["chain"][0]["sha256"] == sys.argv[2], e["chain"][0]["sha256"]' \
		"$MC_OUT" "$MAIL_CERT_SHA256" || fail "Postfix STARTTLS: JSON" "$MC_OUT"
	log "ok: Postfix STARTTLS -> served leaf matches, only 'revocation not published'"

	# The same real Postfix with TLS switched off offers no STARTTLS.
	postconf -c "$POSTFIX_DIR/etc" -e 'smtpd_tls_security_level = none' ||
		fail "postconf failed"
	postfix -c "$POSTFIX_DIR/etc" reload >/dev/null 2>&1 || fail "postfix reload failed"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		check_json "smtp://127.0.0.1:$POSTFIX_PORT_SMTP" --servername mail.test
		[ "$(codes_of "")" = "starttls-missing:critical" ] && break
		sleep 0.5
	done
	assert_eq "$(codes_of "")" "starttls-missing:critical" "Postfix without TLS"
	assert_eq "$MC_RC" 3 "exit status for a missing STARTTLS"
	log "ok: real Postfix without STARTTLS -> starttls-missing, exit 3"
}

endpoint_rows
from_rows
usage_rows
file_rows
misc_rows
postfix_row
