# shellcheck shell=bash disable=SC2034,SC2153
#
# lib.sh - harness library sourced by every integration test (t_*.sh).
#
# It gives each test a private temp dir, free loopback ports, a throw-away
# TLS CA for the listeners, a real Pebble ACME server plus
# pebble-challtestsrv (its DNS), a fake misbehaving CA (fakeca.py), a
# mailcert config writer, a runner that captures stdout/stderr/exit code,
# and assertions that say clearly what failed.
#
# Contract:
#   - Everything binds to 127.0.0.1 only.
#   - Every process started here is recorded (bg_start, mc_record: its pid
#     and start time) and stopped BY PID on exit (TERM, wait, then KILL),
#     unless it has ended meanwhile: then its pid may name another process
#     and is left alone. The temp dir is removed unless KEEP=1.
#   - A missing peer (pebble, openssl, ...) skips the test (exit 77) unless
#     CI is set, where it is a failure (exit 1).
#   - Environment from ctest: MAILCERT (the binary), MC_TESTS_DIR (the
#     tests/ folder), MC_BUILD_DIR (the build dir). PEBBLE_AUTHZREUSE
#     (default 0) goes to Pebble: 100 (always reuse a valid authorization)
#     finds every test that needs a challenge and lacks its authz_forget:
#       PEBBLE_AUTHZREUSE=100 ctest --test-dir build -R integration/
#
# Variables set for tests: TEST_TMP, MC_STATE, MC_CONF, PEBBLE_DIR_URL,
# PEBBLE_CA (CA file for ca_bundle), PEBBLE_PORT, PEBBLE_MGMT (https URL of
# pebble's management API), CHALLTESTSRV_MGMT (http URL), DNS_PORT,
# HTTP01_PORT, TLSALPN01_PORT, PEBBLE_ROOT / PEBBLE_INTERMEDIATE (after
# pebble_fetch_roots), FAKECA_DIR_URL (after fakeca_start), MC_RC, MC_OUT,
# MC_ERR (after mc_run).

set -u
set -o pipefail

MC_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MC_TESTS_DIR=${MC_TESTS_DIR:-$(dirname "$MC_LIB_DIR")}
MC_TEST_NAME=$(basename "${0%.sh}")
# shellcheck source=tests/integration/ports.sh
. "$MC_LIB_DIR/ports.sh"
# shellcheck source=tests/integration/pids.sh
. "$MC_LIB_DIR/pids.sh" # mc_pid_start, mc_proc_runs, mc_procs_stop
MC_PIDS=()
MC_PID_NAMES=()
MC_PID_STARTS=() # mc_pid_start of each MC_PIDS when recorded

# log - a progress line on stderr, prefixed with the test's name.
log() {
	printf '[%s] %s\n' "$MC_TEST_NAME" "$*" >&2
}

# fail - print a failure (and context files, if any) and exit 1.
fail() {
	printf '[%s] FAIL: %s\n' "$MC_TEST_NAME" "$1" >&2
	shift
	local f
	for f in "$@"; do
		if [ -f "$f" ]; then
			printf -- '--- %s (last 40 lines) ---\n' "$f" >&2
			tail -n 40 "$f" >&2
		fi
	done
	exit 1
}

# skip_or_fail - a peer is missing: skip locally, fail in CI.
skip_or_fail() {
	if [ -n "${CI:-}" ]; then
		fail "$1 (CI is set: a missing peer is a failure)"
	fi
	printf '[%s] SKIP: %s\n' "$MC_TEST_NAME" "$1" >&2
	exit 77
}

# require_cmd - every named command must exist.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_or_fail "$c is not installed"
	done
}

# mc_record - NAME PID: record the process PID (just started by this
# shell) for mc_cleanup. Every recorded process goes through here.
mc_record() {
	MC_PIDS+=("$2")
	MC_PID_NAMES+=("$1")
	MC_PID_STARTS+=("$(mc_pid_start "$2")")
}

# mc_same - whether record I of MC_PIDS still names its process
# (pids.sh's mc_proc_runs; never for a process gone before it was
# recorded).
mc_same() {
	mc_proc_runs "${MC_PIDS[$1]}:${MC_PID_STARTS[$1]:-}"
}

# mc_stop I - stop the process of record I of MC_PIDS while it still is
# that process, as pids.sh's mc_procs_stop does (TERM, up to 3 s, then
# KILL; once it has ended its pid gets no further signal), and reap it;
# the one way bg_stop and mc_cleanup stop a process.
mc_stop() {
	local pid=${MC_PIDS[$1]}
	mc_same "$1" || return 0
	mc_procs_stop 3 "$pid:${MC_PID_STARTS[$1]}"
	wait "$pid" 2>/dev/null
	return 0
}

# mc_cleanup - EXIT trap: stop every process we started that still runs
# (the very process recorded: once it has ended - bg_stop, or by itself -
# its pid may be another's), remove TEST_TMP. Only in the test's shell
# (MC_SHELL): a child of it stopped by a signal just after its fork, before
# it has reset its traps or exec'd its command, runs this trap too (seen:
# bg_start then bg_stop at once TERMed every recorded process and removed
# TEST_TMP in 1 of 20 runs of t_harness_pids).
mc_cleanup() {
	local rc=$? i
	[ "$BASHPID" = "$MC_SHELL" ] || exit "$rc"
	trap - EXIT INT TERM
	for ((i = ${#MC_PIDS[@]} - 1; i >= 0; i--)); do
		mc_stop "$i"
	done
	port_release
	if [ -n "${TEST_TMP:-}" ] && [ -d "$TEST_TMP" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			log "KEEP=1: left $TEST_TMP"
		else
			rm -rf "$TEST_TMP"
		fi
	fi
	if [ "$rc" = 0 ]; then
		log "PASS"
	fi
	exit "$rc"
}

# bg_start - start "$@" in the background (stdout+stderr to LOGFILE) and record its pid.
bg_start() {
	local name=$1 logfile=$2
	shift 2
	"$@" >"$logfile" 2>&1 </dev/null &
	BG_PID=$!
	mc_record "$name" "$BG_PID"
}

# bg_stop - stop one recorded process by pid (TERM, wait, KILL); nothing
# when it has ended (its pid may be another's now) or was never recorded.
bg_stop() {
	local i
	for ((i = ${#MC_PIDS[@]} - 1; i >= 0; i--)); do
		[ "${MC_PIDS[i]}" != "$1" ] || break
	done
	[ "$i" -lt 0 ] || mc_stop "$i"
	return 0
}

# port_listening - whether something accepts TCP connections on 127.0.0.1:PORT.
port_listening() {
	# shellcheck disable=SC2016
	timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# wait_listening - PORT PID WHAT LOGFILE [SECS]: wait until something
# accepts on 127.0.0.1:PORT; fail naming WHAT (with LOGFILE's tail) when
# PID exits first or after SECS (default 30: a python3 or openssl start
# under ctest -j2 on a loaded 2-core machine; the loops this replaces gave
# 5 s and some then went on without a listener).
wait_listening() {
	local port=$1 pid=$2 what=$3 logfile=$4 secs=${5:-30} end
	end=$((SECONDS + secs))
	until port_listening "$port"; do
		kill -0 "$pid" 2>/dev/null ||
			fail "$what (pid $pid) exited before it listened on 127.0.0.1:$port" "$logfile"
		[ "$SECONDS" -lt "$end" ] ||
			fail "$what does not listen on 127.0.0.1:$port within $secs s" "$logfile"
		sleep 0.1
	done
}

# free_port - set variable VAR to a free loopback port reserved for this
# test until it exits (ports.sh: below the ephemeral range, held against
# every other test on the host).
free_port() {
	port_take "$1" || fail "no free port on 127.0.0.1 for $1 (see the line above)"
}

# wait_http - wait until URL answers with any HTTP status (curl args may follow).
wait_http() {
	local url=$1 pid=$2 what=$3 logfile=$4 n code
	shift 4
	for ((n = 0; n < 150; n++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url")
		if [ "$code" != 000 ]; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || fail "$what exited during start-up" "$logfile"
		sleep 0.1
	done
	fail "$what did not answer at $url within 15 s" "$logfile"
}

# tls_material - a throw-away CA and a listener cert (localhost, 127.0.0.1).
tls_material() {
	local d=$TEST_TMP/tls
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
		-subj "/CN=mailcert test listener CA $$" \
		-addext 'basicConstraints=critical,CA:TRUE' \
		-addext 'keyUsage=critical,keyCertSign,cRLSign' >/dev/null 2>&1 ||
		fail "openssl: cannot create the test CA"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/tls.key" -out "$d/tls.csr" -subj '/CN=localhost' >/dev/null 2>&1 ||
		fail "openssl: cannot create the listener key"
	printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
		'basicConstraints=critical,CA:FALSE' 'extendedKeyUsage=serverAuth' \
		'keyUsage=critical,digitalSignature' >"$d/ext.cnf"
	openssl x509 -req -in "$d/tls.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/tls.pem" >/dev/null 2>&1 ||
		fail "openssl: cannot sign the listener certificate"
	PEBBLE_CA=$d/ca.pem
	MC_TLS_CERT=$d/tls.pem
	MC_TLS_KEY=$d/tls.key
}

# challtestsrv_start - start pebble-challtestsrv (DNS only) on loopback.
challtestsrv_start() {
	local mport logf=$TEST_TMP/challtestsrv.log
	free_port mport
	free_port DNS_PORT
	bg_start challtestsrv "$logf" pebble-challtestsrv \
		-management "127.0.0.1:$mport" -dns01 "127.0.0.1:$DNS_PORT" \
		-http01 "" -https01 "" -tlsalpn01 "" -defaultIPv6 "" -defaultIPv4 127.0.0.1
	CHALLTESTSRV_PID=$BG_PID
	CHALLTESTSRV_MGMT=http://127.0.0.1:$mport
	wait_http "$CHALLTESTSRV_MGMT/" "$BG_PID" pebble-challtestsrv "$logf"
}

# pebble_start - start challtestsrv (once) and pebble, in -strict mode
# (PEBBLE_STRICT=0 in the environment leaves it out). Options:
#   --eab KID:KEY    require External Account Binding with this MAC key
#   --alt-roots N    PEBBLE_ALTERNATE_ROOTS=N
#   --http-port P    pebble's httpPort (default: a free port)
#   --tls-port P     pebble's tlsPort (default: a free port)
#   --validity SECS  certificateValidityPeriod
#   --dns ADDR:PORT  the DNS server pebble's VA asks (default: challtestsrv)
#   --nonce-reject PCT  PEBBLE_WFE_NONCEREJECT (Pebble's default: 5)
#   --va-sleep       let Pebble's VA sleep before validating (its default;
#                    the tests otherwise set PEBBLE_VA_NOSLEEP=1)
pebble_start() {
	local eab="" alt=0 validity=0 cfg mport macs dns=""
	local nonce_reject="" nosleep=1
	HTTP01_PORT="" TLSALPN01_PORT=""
	while [ $# -gt 0 ]; do
		case $1 in
		--eab) eab=$2 ;;
		--alt-roots) alt=$2 ;;
		--http-port) HTTP01_PORT=$2 ;;
		--tls-port) TLSALPN01_PORT=$2 ;;
		--validity) validity=$2 ;;
		--dns) dns=$2 ;;
		--nonce-reject) nonce_reject=$2 ;;
		--va-sleep) nosleep=0 && shift && continue ;;
		*) fail "pebble_start: unknown option $1" ;;
		esac
		shift 2
	done
	require_cmd pebble pebble-challtestsrv openssl curl python3
	[ -n "${PEBBLE_CA:-}" ] || tls_material
	[ -n "${CHALLTESTSRV_MGMT:-}" ] || challtestsrv_start
	[ -n "$HTTP01_PORT" ] || free_port HTTP01_PORT
	[ -n "$TLSALPN01_PORT" ] || free_port TLSALPN01_PORT
	free_port PEBBLE_PORT
	free_port mport
	macs='{}'
	if [ -n "$eab" ]; then
		macs="{\"${eab%%:*}\": \"${eab#*:}\"}"
	fi
	cfg=$TEST_TMP/pebble.json
	cat >"$cfg" <<EOF
{
  "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_PORT",
    "managementListenAddress": "127.0.0.1:$mport",
    "certificate": "$MC_TLS_CERT",
    "privateKey": "$MC_TLS_KEY",
    "httpPort": $HTTP01_PORT,
    "tlsPort": $TLSALPN01_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": $([ -n "$eab" ] && echo true || echo false),
    "externalAccountMACKeys": $macs,
    "domainBlocklist": [],
    "certificateValidityPeriod": $validity
  }
}
EOF
	local strict=(-strict) env=(env PEBBLE_AUTHZREUSE="${PEBBLE_AUTHZREUSE:-0}")
	[ "${PEBBLE_STRICT:-1}" != 0 ] || strict=()
	[ -z "$nonce_reject" ] || env+=(PEBBLE_WFE_NONCEREJECT="$nonce_reject")
	[ "$nosleep" != 1 ] || env+=(PEBBLE_VA_NOSLEEP=1)
	PEBBLE_CMD=("${env[@]}" PEBBLE_ALTERNATE_ROOTS="$alt"
		pebble "${strict[@]}" -config "$cfg" -dnsserver "${dns:-127.0.0.1:$DNS_PORT}")
	PEBBLE_DIR_URL=https://127.0.0.1:$PEBBLE_PORT/dir
	PEBBLE_MGMT=https://127.0.0.1:$mport
	pebble_run
	log "pebble on 127.0.0.1:$PEBBLE_PORT (http-01 port $HTTP01_PORT, tls-alpn-01 port $TLSALPN01_PORT, dns 127.0.0.1:$DNS_PORT)"
}

# pebble_run - start PEBBLE_CMD (set by pebble_start) and wait until it answers.
pebble_run() {
	local logf=$TEST_TMP/pebble.log
	bg_start pebble "$logf" "${PEBBLE_CMD[@]}"
	PEBBLE_PID=$BG_PID
	wait_http "$PEBBLE_DIR_URL" "$PEBBLE_PID" pebble "$logf" --cacert "$PEBBLE_CA"
	wait_http "$PEBBLE_MGMT/roots/0" "$PEBBLE_PID" pebble "$logf" --cacert "$PEBBLE_CA"
}

# pebble_restart - stop pebble and start it again on the same ports: a CA
# that has lost every account, order and certificate (and has new roots).
pebble_restart() {
	bg_stop "$PEBBLE_PID"
	mv "$TEST_TMP/pebble.log" "$TEST_TMP/pebble.log.$PEBBLE_PID"
	pebble_run
	log "pebble restarted on 127.0.0.1:$PEBBLE_PORT"
}

# pebble_stop - stop pebble (not challtestsrv); a later pebble_start starts a fresh one.
pebble_stop() {
	bg_stop "$PEBBLE_PID"
}

# pebble_get - fetch PATH from pebble's management API into FILE.
pebble_get() {
	curl -sSf --max-time 10 --cacert "$PEBBLE_CA" -o "$2" "$PEBBLE_MGMT$1" ||
		fail "cannot fetch $PEBBLE_MGMT$1"
}

# pebble_cert_status SERIAL - Pebble's view of a serial (lower-case hex) as
# "Status Reason" ("Valid -", "Revoked 1").
pebble_cert_status() {
	pebble_get "/cert-status-by-serial/$1" "$TEST_TMP/status.json"
	python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print(o["Status"], o.get("Reason", "-"))' \
		"$TEST_TMP/status.json"
}

# dns_hook_script FILE LOG - write FILE, a dns_hook that publishes TXT
# records in challtestsrv and logs its calls to LOG (mailcert runs hooks
# with a clean environment, so the URL is baked in).
dns_hook_script() {
	cat >"$1" <<HOOK
#!/bin/sh
exec "$MC_TESTS_DIR/integration/hooks/challtestsrv-dns.sh" --mgmt "$CHALLTESTSRV_MGMT" --log "$2" "\$@"
HOOK
	chmod 755 "$1"
}

# authz_forget [STATE_DIR...] - deactivate (RFC 8555 7.5.2, through the
# real ACME API: acme_authz.py) every valid authorization of every account
# kept under STATE_DIR (default MC_STATE) at the running Pebble, so that the
# next order of the same names asks a challenge again. Call it before any
# run whose assertions need a challenge (a hook, a responder, a gate, a
# challenge that fails) for a name an earlier run of the test validated:
# Pebble reuses a valid authorization of the same account even with
# PEBBLE_AUTHZREUSE=0 (rand.Intn(100) > 0 is false 1 time in 100). Not
# while a mailcert run of these accounts is under way. It cannot help
# between two orders of one run (a dual unit's second key type).
authz_forget() {
	local dirs=() d f
	for d in "${@:-$MC_STATE}"; do
		[ -d "$d/accounts" ] || continue
		while IFS= read -r f; do
			dirs+=("${f%/account.json}")
		done < <(find "$d/accounts" -name account.json)
	done
	[ ${#dirs[@]} -gt 0 ] || return 0
	python3 "$MC_LIB_DIR/acme_authz.py" deactivate --cacert "$PEBBLE_CA" \
		--directory "$PEBBLE_DIR_URL" --pebble-log "$TEST_TMP/pebble.log" \
		"${dirs[@]}" 2>"$TEST_TMP/authz_forget.log" ||
		fail "authz_forget: cannot deactivate the valid authorizations" \
			"$TEST_TMP/authz_forget.log"
	[ "${VERBOSE:-0}" = 0 ] || cat "$TEST_TMP/authz_forget.log" >&2
}

# acme_register_key KEY... - make each private key (PEM) an ACME account of
# its own at the running Pebble (acme_authz.py register): an order whose CSR
# carries that key is then refused at finalize ("CSR contains a public key
# for a known account"), a failure of one order of a run that does not
# depend on whether Pebble asks it a challenge.
acme_register_key() {
	python3 "$MC_LIB_DIR/acme_authz.py" register --cacert "$PEBBLE_CA" \
		--directory "$PEBBLE_DIR_URL" "$@" 2>"$TEST_TMP/acme_register.log" ||
		fail "acme_register_key: cannot register $*" "$TEST_TMP/acme_register.log"
}

# pebble_fetch_roots - PEBBLE_ROOT (/roots/0) and PEBBLE_INTERMEDIATE (/intermediates/0).
pebble_fetch_roots() {
	PEBBLE_ROOT=$TEST_TMP/pebble-root0.pem
	PEBBLE_INTERMEDIATE=$TEST_TMP/pebble-intermediate0.pem
	pebble_get /roots/0 "$PEBBLE_ROOT"
	pebble_get /intermediates/0 "$PEBBLE_INTERMEDIATE"
}

# fakeca_start - start fakeca.py in MODE (500 429 badjson html mismatch ari
# replaces good profiles); further arguments go to fakeca.py. Its
# directories: FAKECA_DIR_URL, and FAKECA_URL/p/NAME/dir for any NAME.
fakeca_start() {
	local mode=$1 port logf=$TEST_TMP/fakeca-$1.log
	shift
	require_cmd python3 openssl curl
	[ -n "${PEBBLE_CA:-}" ] || tls_material
	free_port port
	bg_start "fakeca $mode" "$logf" python3 "$MC_LIB_DIR/fakeca.py" \
		--mode "$mode" --port "$port" --cert "$MC_TLS_CERT" --key "$MC_TLS_KEY" \
		--workdir "$TEST_TMP/fakeca-$mode" "$@"
	FAKECA_PID=$BG_PID
	FAKECA_LOG=$logf
	FAKECA_URL=https://127.0.0.1:$port
	FAKECA_DIR_URL=$FAKECA_URL/dir
	wait_http "$FAKECA_DIR_URL" "$FAKECA_PID" "fakeca $mode" "$logf" --cacert "$PEBBLE_CA"
}

# conf_global - print a [global] section for this test; extra "key = value" args follow.
conf_global() {
	printf '%s\n' '[global]' \
		"state_dir = $MC_STATE" \
		"directory = ${1:-$PEBBLE_DIR_URL}" \
		'contact = mailto:postmaster@example.test' \
		"ca_bundle = $PEBBLE_CA" \
		"hooks_dir = $TEST_TMP/hooks" \
		'log = stderr'
	shift
	[ $# -eq 0 ] || printf '%s\n' "$@"
	echo
}

# conf_cert - print a [cert NAME] section: NAME "NAMES" then extra "key = value" lines.
conf_cert() {
	local name=$1 names=$2
	shift 2
	printf '%s\n' "[cert $name]" "names = $names" 'key_type = ecdsa-p256' \
		"http_listen = 127.0.0.1:${HTTP01_PORT:-1}" \
		"tls_alpn_listen = 127.0.0.1:${TLSALPN01_PORT:-1}"
	[ $# -eq 0 ] || printf '%s\n' "$@"
	echo
}

# write_config - a config with [global] (default directory) and one cert: NAME "NAMES" [lines...].
write_config() {
	{
		conf_global "${MC_DIRECTORY:-$PEBBLE_DIR_URL}"
		conf_cert "$@"
	} >"$MC_CONF"
}

# mc_run - run "$MAILCERT -c $MC_CONF ARGS..." (bounded by MC_RUN_TIMEOUT); sets MC_RC, MC_OUT, MC_ERR.
mc_run() {
	MC_RUNS=$((${MC_RUNS:-0} + 1))
	MC_OUT=$TEST_TMP/run$MC_RUNS.out
	MC_ERR=$TEST_TMP/run$MC_RUNS.err
	MC_CMD="mailcert -c $MC_CONF $*"
	timeout -k 5 "${MC_RUN_TIMEOUT:-120}" "$MAILCERT" -c "$MC_CONF" "$@" \
		>"$MC_OUT" 2>"$MC_ERR" </dev/null
	MC_RC=$?
	[ "${VERBOSE:-0}" = 0 ] || log "$MC_CMD -> exit $MC_RC"
	return 0
}

# assert_exit - the last mc_run exited with CODE.
assert_exit() {
	[ "$MC_RC" = "$1" ] ||
		fail "'$MC_CMD' exited $MC_RC, expected $1${2:+ ($2)}" "$MC_OUT" "$MC_ERR"
}

# assert_contains - FILE contains TEXT (fixed string, case-sensitive).
assert_contains() {
	[ -f "$1" ] || fail "assert_contains: $1 does not exist"
	grep -qF -- "$2" "$1" ||
		fail "$1 does not contain '$2'${3:+ ($3)}" "$1" "${MC_ERR:-}"
}

# assert_contains_i - FILE contains one of the TEXTs (case-insensitive).
assert_contains_i() {
	local f=$1 t
	shift
	[ -f "$f" ] || fail "assert_contains_i: $f does not exist"
	for t in "$@"; do
		grep -qiF -- "$t" "$f" && return 0
	done
	fail "$f contains none of: $*" "$f"
}

# assert_not_contains - FILE does not contain TEXT.
assert_not_contains() {
	[ -f "$1" ] || return 0
	if grep -qF -- "$2" "$1"; then
		fail "$1 contains '$2' but must not${3:+ ($3)}" "$1"
	fi
}

# assert_file - FILE exists and is a regular file.
assert_file() {
	[ -f "$1" ] || fail "expected file $1 is missing" "${MC_ERR:-}"
}

# assert_no_path - nothing exists at PATH.
assert_no_path() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		fail "$1 exists but must not${2:+ ($2)}"
	fi
}

# assert_file_mode - FILE has octal permission bits MODE (e.g. 600).
assert_file_mode() {
	local m
	assert_file "$1"
	m=$(stat -L -c '%a' "$1")
	[ "$m" = "$2" ] || fail "$1 has mode $m, expected $2"
}

# assert_symlink - LINK is a symlink whose target is exactly TARGET.
assert_symlink() {
	[ -L "$1" ] || fail "$1 is not a symlink" "${MC_ERR:-}"
	local t
	t=$(readlink "$1")
	[ "$t" = "$2" ] || fail "$1 points to '$t', expected '$2'"
}

# assert_eq - A equals B.
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', expected '$2'"
}

# assert_ne - A differs from B.
assert_ne() {
	[ "$1" != "$2" ] || fail "${3:-values are equal}: both '$1'"
}

# cert_dir - state_dir/certs/NAME.
cert_dir() {
	echo "$MC_STATE/certs/$1"
}

# account_dir - state_dir/accounts/<host>_<port>/<path> of a directory URL
# (default PEBBLE_DIR_URL); enough of the store's naming for test URLs.
account_dir() {
	local rest=${1:-$PEBBLE_DIR_URL} host
	rest=${rest#https://}
	host=${rest%%/*}
	rest=${rest#"$host"}
	host=${host//:/_}
	echo "$MC_STATE/accounts/${host,,}${rest%/}"
}

# version_count - how many versions NAME has in the store (0 if none).
version_count() {
	local d
	d=$(cert_dir "$1")/versions
	if [ -d "$d" ]; then
		find "$d" -mindepth 1 -maxdepth 1 -type d | wc -l
	else
		echo 0
	fi
}

# cert_sans - the DNS and IP address SANs of a PEM certificate, sorted, one
# per line (IPv6 as openssl prints it: 2001:DB8:0:0:0:0:0:25).
cert_sans() {
	openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
		tr ',' '\n' | sed -n -e 's/^ *DNS://p' -e 's/^ *IP Address://p' | sort
}

# sorted_words - the arguments sorted, one per line.
sorted_words() {
	printf '%s\n' "$@" | sort
}

# pubkey_of_cert - sha256 of the DER public key in a certificate.
pubkey_of_cert() {
	openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
		sha256sum | cut -d' ' -f1
}

# pubkey_of_key - sha256 of the DER public key of a private key file.
pubkey_of_key() {
	openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -d' ' -f1
}

# key_type_of - the mailcert key_type name of a PEM private key.
key_type_of() {
	local text bits
	text=$(openssl pkey -in "$1" -noout -text 2>/dev/null) || {
		echo unreadable
		return
	}
	# here-strings, not printf | grep -q: grep -q exits at the first match,
	# printf then dies of SIGPIPE and pipefail turns the match into a miss.
	bits=$(sed -n '1s/.*(\([0-9]*\) bit.*/\1/p' <<<"$text")
	if grep -q 'ASN1 OID: prime256v1' <<<"$text"; then
		echo ecdsa-p256
	elif grep -q 'ASN1 OID: secp384r1' <<<"$text"; then
		echo ecdsa-p384
	elif grep -q '^modulus:' <<<"$text"; then
		echo "rsa-$bits"
	else
		echo "unknown"
	fi
}

# cert_issuer_cn - the issuer CN of a PEM certificate (first in FILE).
cert_issuer_cn() {
	openssl x509 -in "$1" -noout -issuer -nameopt multiline 2>/dev/null |
		sed -n 's/^ *commonName *= *//p'
}

# cert_subject_cn - the subject CN of a PEM certificate (first in FILE).
cert_subject_cn() {
	openssl x509 -in "$1" -noout -subject -nameopt multiline 2>/dev/null |
		sed -n 's/^ *commonName *= *//p'
}

# last_cert_in - write the last certificate of a PEM bundle to OUT.
last_cert_in() {
	awk '/-----BEGIN CERTIFICATE-----/{buf=""} {buf=buf $0 "\n"} /-----END CERTIFICATE-----/{last=buf} END{printf "%s", last}' "$1" >"$2"
}

# assert_issued - the standard checks on the current version of NAME for NAMES...
assert_issued() {
	local name=$1 d cur
	shift
	d=$(cert_dir "$name")
	[ -L "$d/current" ] || fail "$d/current is missing" "$MC_ERR"
	cur=$d/current
	assert_file_mode "$cur/privkey.pem" 600
	local f
	for f in cert.pem chain.pem fullchain.pem meta.json; do
		assert_file "$cur/$f"
	done
	assert_eq "$(cert_sans "$cur/cert.pem")" "$(sorted_words "$@")" "SANs of $name"
	assert_eq "$(pubkey_of_key "$cur/privkey.pem")" "$(pubkey_of_cert "$cur/cert.pem")" \
		"public key of privkey.pem vs cert.pem"
	python3 -m json.tool "$cur/meta.json" >/dev/null 2>&1 || fail "$cur/meta.json is not valid JSON"
	if [ -n "${PEBBLE_ROOT:-}" ]; then
		openssl verify -CAfile "$PEBBLE_ROOT" -untrusted "$cur/chain.pem" \
			"$cur/cert.pem" >"$TEST_TMP/verify.out" 2>&1 ||
			fail "the stored chain does not verify against pebble's root" "$TEST_TMP/verify.out"
	fi
	cat "$cur/cert.pem" "$cur/chain.pem" >"$TEST_TMP/fullchain.expect"
	cmp -s "$TEST_TMP/fullchain.expect" "$cur/fullchain.pem" ||
		fail "fullchain.pem is not cert.pem followed by chain.pem"
}

# mc_init - common start of every test: temp dir, trap, binary check.
mc_init() {
	TEST_TMP=$(mktemp -d "/tmp/mailcert-${MC_TEST_NAME}.XXXXXX") || fail "mktemp failed"
	MC_SHELL=$BASHPID
	trap mc_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	MC_STATE=$TEST_TMP/state
	MC_CONF=$TEST_TMP/mailcert.conf
	mkdir -p "$TEST_TMP/hooks"
	if [ -z "${MAILCERT:-}" ]; then
		MAILCERT=${MC_BUILD_DIR:-$MC_TESTS_DIR/../build}/mailcert
	fi
	[ -x "$MAILCERT" ] || fail "mailcert binary not found at '$MAILCERT' (set MAILCERT)"
	require_cmd openssl curl python3
}

mc_init
