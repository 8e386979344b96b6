#!/bin/bash
# t_lazy_libs - libcurl, libunbound, libldns, libmicrohttpd and libidn2 are
# loaded on first use (mailcert/dl.h), not at every start:
#   1. `issue` (http-01) loads libcurl (with the libidn2 it needs) and
#      libmicrohttpd, not libunbound or libldns; `status` and a no-op `renew` load none of them
#      (LD_DEBUG=files: the dynamic loader's own record of every object it
#      maps, dlopen included); `check --dane` loads libunbound and libldns;
#      a config with a U-label name loads libidn2 (so each "not loaded"
#      is seen to be able to fail);
#   2. each library made unloadable - /dev/null bind-mounted over its file
#      in a private mount namespace (unshare -m: root) - the command that
#      needs it fails with an error naming the library and the Debian
#      package to install and stores nothing, while status and a no-op
#      renew run with all five unloadable at once.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd unshare mount ldconfig openssl
[ "$(id -u)" = 0 ] || skip_or_fail "needs root (unshare -m, mount --bind)"

LIBS='libcurl|libunbound|libldns|libmicrohttpd|libidn2'

# traced - mc_run ARGS under LD_DEBUG=files; LOADED: the libraries of LIBS
# it mapped ("libcurl libmicrohttpd "), sorted.
traced() {
	TRACE_N=$((${TRACE_N:-0} + 1))
	local out=$TEST_TMP/ld$TRACE_N
	LD_DEBUG=files LD_DEBUG_OUTPUT=$out mc_run "$@"
	# shellcheck disable=SC2046
	[ -n "$(ls "$out".* 2>/dev/null)" ] || fail "LD_DEBUG wrote nothing for '$MC_CMD'"
	LOADED=$(cat "$out".* | grep -oE "file=($LIBS)\.so" | sed 's/^file=//; s/\.so$//' |
		sort -u | tr '\n' ' ')
}

# lib_file - the file that SONAME resolves to (through ld.so.cache).
lib_file() {
	local f
	f=$(ldconfig -p | awk -v s="$1" '$1 == s && /x86-64/ { print $NF; exit }')
	[ -n "$f" ] || fail "ldconfig does not know $1"
	readlink -f "$f"
}

# masked - mc_run ARGS with the libraries SONAME... (until --) unloadable:
# /dev/null bind-mounted over each file in a private mount namespace.
masked() {
	local files=() so
	while [ "$1" != -- ]; do
		files+=("$(lib_file "$1")")
		shift
	done
	shift
	cat >"$TEST_TMP/masked" <<'EOF'
#!/bin/bash
# run REAL with every file of MASK_FILES (one per line) reading as empty
exec unshare -m --propagation private /bin/bash -c '
	while IFS= read -r f; do
		mount --bind /dev/null "$f" || exit 99
	done <<<"$MASK_FILES"
	exec "$0" "$@"' "$REAL" "$@"
EOF
	chmod 755 "$TEST_TMP/masked"
	MASK_FILES=$(printf '%s\n' "${files[@]}") REAL=$MAILCERT \
		MAILCERT=$TEST_TMP/masked mc_run "$@"
	[ "$MC_RC" != 99 ] || fail "cannot bind-mount /dev/null over ${files[*]}" "$MC_ERR"
}

# assert_load_error - the last run failed (exit 1) naming SONAME and PACKAGE.
assert_load_error() {
	assert_exit "${3:-1}" "$1 unloadable"
	assert_contains "$MC_ERR" "cannot load $1 (" "the error names the library"
	assert_contains "$MC_ERR" "install the package $2" "the error names the package"
}

pebble_start
write_config mail "mail.example.test" "challenge = http-01"
d=$(cert_dir mail)

# 1. what each command loads
traced issue mail
assert_exit 0 "issue"
# (libcurl itself needs libidn2)
assert_eq "$LOADED" "libcurl libidn2 libmicrohttpd " "libraries an http-01 issue loads"
traced status
assert_exit 0 "status"
assert_eq "$LOADED" "" "libraries status loads"
traced renew
assert_exit 0 "no-op renew"
assert_contains "$MC_OUT" "nothing due" "renew had nothing to do"
assert_eq "$LOADED" "" "libraries a no-op renew loads"
log "ok: issue loads libcurl + libmicrohttpd; status and a no-op renew load none"

# 2. status and renew with all five unloadable
masked libcurl.so.4 libunbound.so.8 libldns.so.3 libmicrohttpd.so.12 libidn2.so.0 -- status
assert_exit 0 "status without the five libraries"
assert_contains "$MC_OUT" "mail.example.test" "status lists the cert"
masked libcurl.so.4 libunbound.so.8 libldns.so.3 libmicrohttpd.so.12 libidn2.so.0 -- renew
assert_exit 0 "no-op renew without the five libraries"
assert_contains "$MC_OUT" "nothing due" "renew had nothing to do"

# 3. a command that needs one, with it unloadable: a clear error, nothing stored
# (the responder, hence libmicrohttpd, is needed only if Pebble asks a
# challenge: authz_forget, or it may reuse the authorization of step 1)
authz_forget
masked libmicrohttpd.so.12 -- issue mail
assert_load_error libmicrohttpd.so.12 libmicrohttpd12
! port_listening "$HTTP01_PORT" || fail "a responder listens on $HTTP01_PORT"
masked libcurl.so.4 -- issue mail
assert_load_error libcurl.so.4 libcurl4
assert_eq "$(version_count mail)" 1 "versions stored after the failed issues"
assert_symlink "$d/current" versions/0001
log "ok: issue without libmicrohttpd / libcurl names the library and package"

# 4. DANE: check --dane loads libunbound and libldns; without them, says so.
# The resolver is challtestsrv's DNS (not DNSSEC): the lookup fails fast.
free_port TLS_PORT
bg_start "s_server" "$TEST_TMP/s_server.log" openssl s_server \
	-accept "127.0.0.1:$TLS_PORT" -quiet -www -cert "$MC_TLS_CERT" -key "$MC_TLS_KEY"
wait_listening "$TLS_PORT" "$BG_PID" "s_server" "$TEST_TMP/s_server.log"
{
	conf_global "$PEBBLE_DIR_URL" "resolver = 127.0.0.1:$DNS_PORT"
	conf_cert mail "mail.example.test" "challenge = http-01"
} >"$MC_CONF"
traced check --dane --timeout 5 --servername localhost "tls://127.0.0.1:$TLS_PORT"
assert_eq "$LOADED" "libldns libunbound " "libraries check --dane loads"
grep -q "cannot load" "$MC_OUT" "$MC_ERR" && fail "check --dane: a load error" "$MC_OUT" "$MC_ERR"
masked libunbound.so.8 -- check --dane --timeout 5 --servername localhost "tls://127.0.0.1:$TLS_PORT"
grep -qF "cannot load libunbound.so.8 (" "$MC_OUT" ||
	fail "check --dane without libunbound does not say why" "$MC_OUT" "$MC_ERR"
grep -qF "install the package libunbound8" "$MC_OUT" ||
	fail "check --dane without libunbound does not name the package" "$MC_OUT" "$MC_ERR"
masked libldns.so.3 -- check --dane --timeout 5 --servername localhost "tls://127.0.0.1:$TLS_PORT"
grep -qF "cannot load libldns.so.3 (" "$MC_OUT" ||
	fail "check --dane without libldns does not say why" "$MC_OUT" "$MC_ERR"
log "ok: check --dane loads libunbound + libldns; without them the finding says so"

# 5. a U-label name loads libidn2 when the config is read; without it the
# config cannot be read, and the error says why
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert mail "mail.example.test" "challenge = http-01"
	conf_cert idn "bücher.example.test" "challenge = http-01"
} >"$MC_CONF"
traced status
assert_exit 0 "status with a U-label name"
assert_eq "$LOADED" "libidn2 " "libraries status loads for a U-label name"
masked libidn2.so.0 -- status
[ "$MC_RC" != 0 ] || fail "status without libidn2 read a U-label name" "$MC_OUT" "$MC_ERR"
assert_contains "$MC_ERR" "cannot load libidn2.so.0 (" "the error names the library"
assert_contains "$MC_ERR" "install the package libidn2-0" "the error names the package"
log "ok: a U-label name loads libidn2; without it the error names it"
