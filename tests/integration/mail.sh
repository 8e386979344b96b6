# shellcheck shell=bash disable=SC2034
#
# mail.sh - real Postfix, Dovecot and Exim as private instances on
# 127.0.0.1 high ports, for the deploy/verify/check integration tests.
#
# Source it from a test (after lib.sh, if the test uses lib.sh; it also
# works alone). The packages come from scripts/setup-mail.sh (Exim is
# unpacked in /opt/mailcert-test/exim because Debian will not install two
# MTAs). Needs root: the daemons drop privileges to postfix, dovecot,
# dovenull and Debian-exim. No systemd: each daemon is started, reloaded and
# stopped through its own commands, and every process is stopped BY PID.
#
# Functions:
#   mail_certs DIR NAME...      a test CA (DIR/ca.pem, reused when present or
#                               taken from MAIL_CA_DIR) and a fresh leaf for
#                               NAMEs (an IP becomes an IP SAN) in DIR:
#                               cert.pem key.pem chain.pem (the CA)
#                               fullchain.pem combined.pem (key+cert+chain).
#                               Sets MAIL_CERT MAIL_KEY MAIL_CHAIN
#                               MAIL_FULLCHAIN MAIL_COMBINED MAIL_CA_CERT
#                               MAIL_CERT_SHA256. MAIL_KEY_TYPE=rsa gives RSA
#                               2048 (default ECDSA P-256). Key files are
#                               0640 group Debian-exim (as mailcert deploys
#                               them for Exim).
#   mail_replace SRC DST        install SRC at DST the way mailcert does:
#                               write DST's dir/.tmp, then rename over DST.
#   postfix_start DIR CHAIN     Postfix with config in DIR/etc, queue in
#                               DIR/queue, log DIR/log/postfix.log; smtpd_tls_chain_files
#                               = CHAIN (key, cert, chain in one file). Sets
#                               POSTFIX_DIR POSTFIX_PORT_SMTP (STARTTLS)
#                               POSTFIX_PORT_SUB (STARTTLS) POSTFIX_PORT_SMTPS
#                               (wrapper mode) POSTFIX_PID (master)
#                               POSTFIX_RELOAD ("postfix -c DIR/etc reload")
#                               POSTFIX_LOG. MAIL_POSTFIX_BANNER, when set,
#                               is the smtpd_banner (default: one that
#                               does not name Postfix).
#   postfix_stop [DIR]          postfix -c DIR/etc stop, then KILL by pid.
#   postfix_start_again [DIR]   start a stopped instance again as it was
#                               (same config, ports); sets POSTFIX_PID.
#   dovecot_start DIR CERT KEY  Dovecot with DIR/dovecot.conf; ssl_cert = <CERT,
#                               ssl_key = <KEY. User "test", password
#                               "test-password". Sets DOVECOT_DIR
#                               DOVECOT_CONF DOVECOT_PORT_IMAP (STARTTLS)
#                               DOVECOT_PORT_IMAPS DOVECOT_PORT_POP3 (STLS)
#                               DOVECOT_PORT_POP3S DOVECOT_PORT_SIEVE
#                               (STARTTLS) DOVECOT_PID DOVECOT_RELOAD
#                               ("dovecot -c DIR/dovecot.conf reload")
#                               DOVECOT_LOG.
#   dovecot_stop [DIR]          TERM to the master pid this harness started
#                               in DIR (never a pid it did not start), then
#                               KILL what is left.
#   exim_start DIR CERT KEY     the unpacked Exim with DIR/exim.conf (spool,
#                               log, pid under DIR), STARTTLS and implicit
#                               TLS ports, no relaying. Sets EXIM_DIR
#                               EXIM_CONF EXIM_PORT_SMTP (STARTTLS)
#                               EXIM_PORT_SMTPS EXIM_PID EXIM_PIDFILE
#                               EXIM_RELOAD ("<tests>/integration/hooks/
#                               exim-reload.sh DIR/exim.pid": SIGHUP)
#                               EXIM_LOG.
#   exim_stop [DIR]             TERM by pid, then KILL.
#   mail_stop_all               stop every instance started here (also run
#                               on exit, before lib.sh's cleanup).
#   mail_served_sha256 HOST PORT MODE [SNI]
#                               print the SHA-256 (lowercase hex, no colons)
#                               of the served leaf, or nothing and return 1.
#                               MODE: smtp submission imap pop3 sieve
#                               (STARTTLS/STLS) or tls smtps imaps pop3s
#                               (implicit). -servername SNI, else
#                               -noservername. Bounded by MAIL_PROBE_TIMEOUT
#                               (default 5 s).
#   mail_cert_sha256 FILE       the same fingerprint of the first cert in FILE.
#   mail_wait_served HOST PORT MODE SHA [SECS]
#                               poll until the endpoint serves SHA (default
#                               10 s); MAIL_WAIT_TRIES = probes it took.
#   mail_wait_port PORT [SECS]  wait until 127.0.0.1:PORT accepts (default 15 s).
#   port_listens PORT           whether anything LISTENs on PORT (ports.sh).
#   mail_pids_of PID            PID and all its descendants (from /proc).
#   mc_proc PID, mc_proc_runs PROC, mc_procs_wait SECS PROC...,
#   mc_procs_stop SECS PROC...  (pids.sh) a process as PID:START - the pid
#                               and its start time name one process, a pid
#                               alone does not; whether it still runs,
#                               wait for, stop (TERM, wait, KILL).
#   mail_free_port VAR          a free loopback port, reserved against
#                               other tests until exit (ports.sh).
#   postfix_reload, dovecot_reload, exim_reload
#                               reload the instance (POSTFIX_DIR, DOVECOT_DIR,
#                               EXIM_DIR) after its config was edited and
#                               return once it has taken the new config
#                               (see "Reloading" below), or fail within 30 s.
# A start whose port was taken meanwhile (bind: address in use) is retried
# with new ports, up to 3 times.
#
# Other variables: MAIL_TMP (the temp dir: lib.sh's TEST_TMP, else its own),
# MAIL_EXIM_BIN, MAIL_STARTED_PIDS (every master pid and every descendant
# seen at stop time, for "nothing is left" checks) and MAIL_STARTED_STARTS
# (the start time of each, when recorded; "" for a process already gone).
#
# Pids: kernel.pid_max is 32768 on many hosts, and a pid is given to the
# next process once its own has ended - the tests end daemons on purpose
# (t_daemon_down). So a pid file or a record that names a pid names the
# process we started only while that pid's start time is the recorded one
# (mc_proc_runs): otherwise the process has ended and the pid may be
# any other process of the host, its own mail daemon too. mail_own_pid
# (before every reload and stop) and the stop path (mail_stop_finish,
# mc_procs_stop, mc_procs_wait) never signal such a pid: it counts as
# gone. No liveness check here sends signal 0 either; they read /proc.
#
# What each daemon serves after its files are replaced (temp + rename) -
# observed with t_mail_harness.sh (Postfix 3.7.11, Dovecot 2.3.19.1,
# Exim 4.96/GnuTLS, Debian 12); this matters for the "inactive" tests:
#   Postfix: an smtpd loads the chain file when the process starts; an idle
#            smtpd (max_idle 100 s) keeps serving the OLD cert, a new one
#            the new cert. After `postfix reload` the next connection (even
#            the first one, ~50 ms later) gets the new cert.
#   Dovecot: the OLD cert until `dovecot reload` (the config process read
#            the files at start); right after the reload, the new one.
#   Exim:    the daemon preloads the files, so the OLD cert at first; after
#            SIGHUP (hooks/exim-reload.sh: re-exec, same pid; the ports
#            refuse for ~30 ms while the new daemon binds them anew) the
#            new one at once. WITHOUT a reload it switches by
#            itself ~4-5 s after the rename (it watches the files), so a
#            test cannot keep Exim "inactive" for longer than that.
#   Exim started with -C (a config not in TRUSTED_CONFIG_LIST) drops root
#   for good ("exim user lost privilege for using -C option"): the daemon
#   runs as Debian-exim, so the key must be readable by that group (0640
#   root:Debian-exim, as mailcert's exim target writes it); a 0600 root key
#   makes every TLS handshake fail. Ports must be > 1024 (they are).
# Stopping: Postfix ~1.5 s, Dovecot ~2.7 s, Exim ~2 s after TERM; that is
# why mail_stop_all signals all of them first and then waits.
# Reloading: each reload command only sends a signal and returns; the
# daemon acts on it when it is next scheduled, and until then (or until
# its old workers are gone) a connection still gets the OLD configuration.
# On an idle machine that is ~50 ms, so the tests slept 0.5-1 s after a
# reload; with both cores busy (ctest -j2 beside another build) it is
# longer. So the *_reload helpers wait for the daemon's own evidence:
#   Postfix: master logs "reload -- version ..." and every process it had
#            before the reload (idle smtpd, qmgr, ...) has exited;
#   Dovecot: master logs "SIGHUP received - reloading configuration"
#            (before it reads the config) and its old log process has
#            exited (it has switched to the new services; stock login
#            processes serve one connection each);
#   Exim:    the re-exec'd daemon logs "daemon started" again (it has
#            read the new config) and its ports accept.

set -u

MAIL_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/ports.sh
. "$MAIL_LIB_DIR/ports.sh"
# shellcheck source=tests/integration/pids.sh
. "$MAIL_LIB_DIR/pids.sh" # mc_proc, mc_proc_runs, mc_procs_wait, mc_procs_stop
MAIL_EXIM_ROOT=${MAILCERT_EXIM_ROOT:-/opt/mailcert-test/exim}
MAIL_EXIM_BIN=$MAIL_EXIM_ROOT/usr/sbin/exim4
MAIL_PROBE_TIMEOUT=${MAIL_PROBE_TIMEOUT:-5}
MAIL_TMP=${MAIL_TMP:-}
MAIL_OWN_TMP=0
MAIL_INSTANCES=()
MAIL_STARTED_PIDS=()
MAIL_STARTED_STARTS=() # mc_pid_start of each MAIL_STARTED_PIDS when recorded
MAIL_STOPPING=()       # PID:START of each process being stopped

# mail_log - a progress line on stderr (lib.sh's log when present).
mail_log() {
	if declare -F log >/dev/null; then
		log "$*"
	else
		printf '[mail] %s\n' "$*" >&2
	fi
}

# mail_fail - fail the test with context files (lib.sh's fail when present).
mail_fail() {
	if declare -F fail >/dev/null; then
		fail "$@"
	fi
	printf '[mail] FAIL: %s\n' "$1" >&2
	shift
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		printf -- '--- %s (last 40 lines) ---\n' "$f" >&2
		tail -n 40 "$f" >&2
	done
	exit 1
}

# mail_exit_trap - EXIT trap: stop the daemons, then lib.sh's cleanup or
# ours; only in the test's shell (MAIL_SHELL), never in a child of it that a
# signal stopped before it reset its traps (see lib.sh's mc_cleanup).
mail_exit_trap() {
	local rc=$?
	[ "$BASHPID" = "$MAIL_SHELL" ] || exit "$rc"
	mail_stop_all
	if declare -F mc_cleanup >/dev/null; then
		(exit "$rc")
		mc_cleanup
	fi
	port_release
	if [ "$MAIL_OWN_TMP" = 1 ] && [ -d "$MAIL_TMP" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			mail_log "KEEP=1: left $MAIL_TMP"
		else
			rm -rf "$MAIL_TMP"
		fi
	fi
	exit "$rc"
}

# mail_init - once: temp dir (lib.sh's TEST_TMP or our own), exit trap, checks.
mail_init() {
	[ -z "${MAIL_INIT_DONE:-}" ] || return 0
	MAIL_INIT_DONE=1
	[ "$(id -u)" = 0 ] || mail_skip "the mail harness needs root"
	if [ -n "${TEST_TMP:-}" ]; then
		MAIL_TMP=$TEST_TMP
	elif [ -z "$MAIL_TMP" ]; then
		MAIL_TMP=$(mktemp -d /tmp/mailcert-mail.XXXXXX) || mail_fail "mktemp failed"
		MAIL_OWN_TMP=1
	fi
	# The daemons' unprivileged users must traverse (not list) the dir.
	chmod 0711 "$MAIL_TMP"
	MAIL_SHELL=$BASHPID
	trap mail_exit_trap EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
}

# mail_skip - a peer is missing: skip (77) locally, fail in CI.
mail_skip() {
	if declare -F skip_or_fail >/dev/null; then
		skip_or_fail "$1"
	fi
	[ -z "${CI:-}" ] || mail_fail "$1 (CI is set: a missing peer is a failure)"
	printf '[mail] SKIP: %s (run scripts/setup-mail.sh)\n' "$1" >&2
	exit 77
}

# mail_require - every named command (or absolute path) must exist.
mail_require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || mail_skip "$c is not installed"
	done
}


# mail_free_port - set VAR to a free loopback port reserved until exit (ports.sh).
mail_free_port() {
	port_take "$1" || mail_fail "no free port on 127.0.0.1 for $1 (see the line above)"
}

# mail_start_retry - run START_FN ARGS... up to 3 times while it reports a
# port taken between our choice and its bind (another test on this host).
mail_start_retry() {
	local try rc
	for try in 1 2 3; do
		MAIL_LAST_TRY=$([ "$try" = 3 ] && echo 1 || echo 0)
		"$@" && return 0
		rc=$?
		[ "$rc" = 2 ] || return "$rc"
		mail_log "$1: a port was taken by someone else; retrying with new ports"
	done
}

# mail_bind_conflict - whether a failed start (logs FILE...) lost a port race
# and may be retried (not on the last try).
mail_bind_conflict() {
	[ "${MAIL_LAST_TRY:-1}" = 0 ] || return 1
	grep -qsi 'address already in use' "$@"
}

# mail_wait_port - wait until 127.0.0.1:PORT accepts TCP (default 15 s).
mail_wait_port() {
	local port=$1 secs=${2:-15} n
	for ((n = 0; n < secs * 20; n++)); do
		# shellcheck disable=SC2016
		if timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$port" 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# mail_pids_of - print PID and all its live descendants, one per line.
mail_pids_of() {
	local pid=$1 child
	[ -d "/proc/$pid" ] || return 0
	echo "$pid"
	for child in $(mail_children "$pid"); do
		mail_pids_of "$child"
	done
}

# mail_procs_using - print PID:START of each process whose argv contains
# the exact argument ARG (a unique config path), to stop a daemon that
# never wrote its pid file.
mail_procs_using() {
	local f pid
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		[ "$pid" != "$$" ] || continue
		if { tr '\0' '\n' <"$f"; } 2>/dev/null | grep -qxF -- "$1"; then
			mc_proc "$pid"
		fi
	done
	return 0
}

# mail_children_procs - print PID:START of each child of PID, one per line.
mail_children_procs() {
	local child
	for child in $(mail_children "$1"); do
		mc_proc "$child"
	done
	return 0
}

# mail_log_count - FILE ERE: how many lines of FILE match ERE (0 without FILE).
mail_log_count() {
	local n
	n=$(grep -cE -- "$2" "$1" 2>/dev/null) || n=0
	echo "${n:-0}"
}

# mail_wait_log - FILE ERE COUNT SECS: wait until more than COUNT lines of
# FILE match ERE; 1 after SECS.
mail_wait_log() {
	local end=$((SECONDS + $4))
	while [ "$(mail_log_count "$1" "$2")" -le "$3" ]; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
	return 0
}

# mail_children - print the pids of PID's children, one per line.
mail_children() {
	local child
	# shellcheck disable=SC2013 # the file holds space-separated pids
	for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$child"
	done
}

# mail_record - PID START: record a process this harness started (or a
# descendant of one) with its start time.
mail_record() {
	MAIL_STARTED_PIDS+=("$1")
	MAIL_STARTED_STARTS+=("$2")
}

# mail_started - whether PROC (PID:START) is a process recorded here.
mail_started() {
	local i
	for i in "${!MAIL_STARTED_PIDS[@]}"; do
		[ -n "${MAIL_STARTED_STARTS[i]:-}" ] || continue
		[ "${MAIL_STARTED_PIDS[i]}:${MAIL_STARTED_STARTS[i]}" != "$1" ] || return 0
	done
	return 1
}

# mail_register - remember a started instance (TYPE DIR PID) for
# mail_stop_all, and its master with its start time (none when it is
# already gone: then no pid file naming PID is ever taken as ours).
mail_register() {
	MAIL_INSTANCES+=("$1:$2")
	mail_record "$3" "$(mc_pid_start "$3")"
	if declare -F mc_record >/dev/null; then
		# lib.sh's cleanup TERMs these too, should our trap be replaced.
		mc_record "$1 master" "$3"
	fi
}

# mail_stop_all - stop every instance started here, all at once (the
# daemons take 1-3 s each to exit), then wait for all of them.
mail_stop_all() {
	local i entry
	MAIL_STOPPING=()
	for ((i = ${#MAIL_INSTANCES[@]} - 1; i >= 0; i--)); do
		entry=${MAIL_INSTANCES[i]}
		[ -n "$entry" ] || continue
		"${entry%%:*}_stop_begin" "${entry#*:}"
	done
	mail_stop_finish
}

# mail_unregister - forget instance TYPE DIR (it was stopped).
mail_unregister() {
	local i
	for i in "${!MAIL_INSTANCES[@]}"; do
		[ "${MAIL_INSTANCES[i]}" = "$1:$2" ] && MAIL_INSTANCES[i]=""
	done
	return 0
}

# mail_own_pid - the master pid of instance TYPE DIR read from PIDFILE,
# only when this harness started that instance and that very process
# (mail_register: the pid's start time is the recorded one): a stale or
# foreign pid file - say one that names a pid reused since our daemon
# ended, now the host's own daemon - is never signalled. Prints nothing
# and returns 1 otherwise.
mail_own_pid() {
	local type=$1 d=$2 file=$3 pid proc i known=0
	for i in "${MAIL_INSTANCES[@]}"; do
		[ "$i" = "$type:$d" ] && known=1
	done
	pid=$({ tr -dc '0-9' <"$file"; } 2>/dev/null)
	[ -n "$pid" ] || return 1
	if [ "$known" = 1 ] && proc=$(mc_proc "$pid") && mail_started "$proc"; then
		echo "$pid"
		return 0
	fi
	mail_log "not signalling pid $pid of $file: not a process this harness started (or it has ended and the pid is another's now)"
	return 1
}

# mail_stop_tree - PID CMD...: record PID (a master mail_own_pid gave) and
# its descendants with their start times for mail_stop_finish, then run
# CMD. Nothing when PID is no longer the recorded process. (A descendant
# that ends between the listing and the read of its start time is not
# recorded; its pid given to another process within those microseconds
# would need the whole pid range to wrap meanwhile.)
mail_stop_tree() {
	local pid=$1 p proc tree=()
	shift
	[ -n "$pid" ] || return 0
	for p in $(mail_pids_of "$pid"); do
		proc=$(mc_proc "$p") || continue
		tree+=("$proc")
	done
	# the master read after its children: still the recorded one, so the
	# children listed were its own
	if [ ${#tree[@]} = 0 ] || [ "${tree[0]%%:*}" != "$pid" ] || ! mail_started "${tree[0]}"; then
		return 0
	fi
	for proc in "${tree[@]:1}"; do
		mail_record "${proc%%:*}" "${proc#*:}"
	done
	MAIL_STOPPING+=("${tree[@]}")
	"$@" >/dev/null 2>&1
	return 0
}

# mail_stop_finish - wait up to 10 s for every MAIL_STOPPING process to
# exit, then TERM and KILL those still running (mc_procs_stop); a pid
# whose process has ended is never signalled.
mail_stop_finish() {
	[ ${#MAIL_STOPPING[@]} -gt 0 ] || return 0
	mc_procs_wait 10 "${MAIL_STOPPING[@]}" || mc_procs_stop 3 "${MAIL_STOPPING[@]}"
	MAIL_STOPPING=()
}

# mail_replace - install SRC at DST as mailcert does: temp file in DST's dir, rename.
mail_replace() {
	local src=$1 dst=$2 tmp
	tmp=$(dirname "$dst")/.$(basename "$dst").$$.$RANDOM
	cp -p "$src" "$tmp" || mail_fail "cannot copy $src"
	mv -f "$tmp" "$dst" || mail_fail "cannot rename $tmp to $dst"
}

# mail_cert_sha256 - SHA-256 (lowercase hex) of the DER of the first cert in FILE.
mail_cert_sha256() {
	openssl x509 -in "$1" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}

# mail_key_args - the openssl -newkey arguments for MAIL_KEY_TYPE.
mail_key_args() {
	case ${MAIL_KEY_TYPE:-ec} in
	rsa*) echo "-newkey rsa:2048" ;;
	*) echo "-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
	esac
}

# mail_ca - create the test CA in DIR unless DIR/ca.pem exists.
mail_ca() {
	local d=$1
	[ -f "$d/ca.pem" ] && [ -f "$d/ca.key" ] && return 0
	# shellcheck disable=SC2046
	openssl req -x509 $(mail_key_args) -nodes -keyout "$d/ca.key" -out "$d/ca.pem" \
		-days 2 -subj "/CN=mailcert mail test CA $$ $RANDOM" \
		-addext 'basicConstraints=critical,CA:TRUE' \
		-addext 'keyUsage=critical,keyCertSign,cRLSign' >"$d/openssl.log" 2>&1 ||
		mail_fail "openssl: cannot create the test CA" "$d/openssl.log"
}

# mail_certs - a test CA plus a new leaf for NAME... in DIR (see the header).
mail_certs() {
	local d=$1 ca n san="" cn=$2
	shift
	mail_require openssl
	mkdir -p "$d"
	ca=${MAIL_CA_DIR:-$d}
	mkdir -p "$ca"
	mail_ca "$ca"
	for n in "$@"; do
		if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then
			san="$san${san:+,}IP:$n"
		else
			san="$san${san:+,}DNS:$n"
		fi
	done
	printf '%s\n' "subjectAltName=$san" 'basicConstraints=critical,CA:FALSE' \
		'extendedKeyUsage=serverAuth' 'keyUsage=critical,digitalSignature,keyEncipherment' \
		>"$d/ext.cnf"
	# shellcheck disable=SC2046
	openssl req -new $(mail_key_args) -nodes -keyout "$d/key.pem" -out "$d/leaf.csr" \
		-subj "/CN=$cn" >"$d/openssl.log" 2>&1 ||
		mail_fail "openssl: cannot create the key for $*" "$d/openssl.log"
	openssl x509 -req -in "$d/leaf.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" \
		-set_serial "0x$(openssl rand -hex 12)" -days 2 -extfile "$d/ext.cnf" \
		-out "$d/cert.pem" >>"$d/openssl.log" 2>&1 ||
		mail_fail "openssl: cannot sign the leaf for $*" "$d/openssl.log"
	[ "$ca" = "$d" ] || cp "$ca/ca.pem" "$d/ca.pem"
	cp "$ca/ca.pem" "$d/chain.pem"
	cat "$d/cert.pem" "$d/chain.pem" >"$d/fullchain.pem"
	cat "$d/key.pem" "$d/cert.pem" "$d/chain.pem" >"$d/combined.pem"
	chmod 0600 "$d/combined.pem"
	chmod 0640 "$d/key.pem"
	if getent group Debian-exim >/dev/null; then
		chgrp Debian-exim "$d/key.pem"
	fi
	chmod 0644 "$d/cert.pem" "$d/chain.pem" "$d/fullchain.pem"
	MAIL_CERT=$d/cert.pem MAIL_KEY=$d/key.pem MAIL_CHAIN=$d/chain.pem
	MAIL_FULLCHAIN=$d/fullchain.pem MAIL_COMBINED=$d/combined.pem
	MAIL_CA_CERT=$ca/ca.pem
	MAIL_CERT_SHA256=$(mail_cert_sha256 "$d/cert.pem")
}

# mail_starttls_arg - the openssl s_client -starttls protocol for MODE, or "" (implicit), or "?".
mail_starttls_arg() {
	case $1 in
	smtp | submission) echo smtp ;;
	imap | pop3 | sieve) echo "$1" ;;
	tls | smtps | imaps | pop3s) echo "" ;;
	*) echo "?" ;;
	esac
}

# mail_served_sha256 - print the SHA-256 of the leaf served at HOST:PORT (MODE, [SNI]).
mail_served_sha256() {
	local host=$1 port=$2 mode=$3 sni=${4:-} proto args=() pem
	proto=$(mail_starttls_arg "$mode")
	[ "$proto" != "?" ] || mail_fail "mail_served_sha256: unknown mode '$mode'"
	[ -z "$proto" ] || args+=(-starttls "$proto")
	if [ -n "$sni" ]; then
		args+=(-servername "$sni")
	else
		args+=(-noservername)
	fi
	pem=$(timeout -k 1 "$MAIL_PROBE_TIMEOUT" openssl s_client -connect "$host:$port" \
		"${args[@]}" </dev/null 2>/dev/null |
		sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p')
	[ -n "$pem" ] || return 1
	printf '%s\n' "$pem" | openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}

# mail_wait_served - poll until HOST:PORT (MODE) serves SHA; default 10 s.
mail_wait_served() {
	local host=$1 port=$2 mode=$3 want=$4 secs=${5:-10} end got
	end=$((SECONDS + secs))
	MAIL_WAIT_TRIES=0
	while :; do
		MAIL_WAIT_TRIES=$((MAIL_WAIT_TRIES + 1))
		got=$(mail_served_sha256 "$host" "$port" "$mode")
		[ "$got" = "$want" ] && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# mail_wait_ports - wait for every PORT of daemon WHAT (pid PID) or fail with LOG's tail.
mail_wait_ports() {
	local what=$1 pid=$2 logf=$3 p
	shift 3
	for p in "$@"; do
		mail_wait_port "$p" 15 ||
			mail_fail "$what (pid ${pid:-?}) does not answer on 127.0.0.1:$p within 15 s" "$logf"
	done
}

# mail_read_pid - wait up to 15 s for a pid file and print its (live) pid.
mail_read_pid() {
	local f=$1 n pid
	for ((n = 0; n < 300; n++)); do
		pid=$({ tr -dc '0-9' <"$f"; } 2>/dev/null)
		if [ -n "$pid" ] && mc_pid_start "$pid" >/dev/null; then
			echo "$pid"
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# ---------------------------------------------------------------- Postfix

# postfix_write_main - DIR/etc/main.cf for a private loopback instance using CHAIN.
postfix_write_main() {
	local d=$1 chain=$2
	cat >"$d/etc/main.cf" <<CONF
# mailcert test instance (generated by tests/integration/mail.sh)
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
myhostname = postfix.mailcert.test
mydomain = mailcert.test
myorigin = \$myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = reject
smtpd_recipient_restrictions = reject
default_transport = error:no outbound mail from a test instance
local_transport = error:no local delivery in a test instance
biff = no
maillog_file = $d/log/postfix.log
maillog_file_prefixes = $d/log
smtpd_banner = ${MAIL_POSTFIX_BANNER:-\$myhostname ESMTP mailcert-test}
smtpd_tls_security_level = may
smtpd_tls_chain_files = $chain
smtpd_tls_loglevel = 1
smtpd_tls_session_cache_database =
smtp_tls_security_level = none
CONF
}

# postfix_write_master - DIR/etc/master.cf: three smtpd listeners, no chroot.
postfix_write_master() {
	local d=$1
	cat >"$d/etc/master.cf" <<CONF
# service type private unpriv chroot wakeup maxproc command
127.0.0.1:$POSTFIX_PORT_SMTP inet n - n - - smtpd
127.0.0.1:$POSTFIX_PORT_SUB inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
127.0.0.1:$POSTFIX_PORT_SMTPS inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
CONF
}

# postfix_queue_dirs - create the queue subdirectories as postfix-files wants
# them (what "postfix check" does, but in milliseconds instead of ~2 s).
postfix_queue_dirs() {
	local q=$1 sub
	for sub in active bounce corrupt defer deferred flush hold incoming private saved trace; do
		install -d -o postfix -g postfix -m 0700 "$q/$sub"
	done
	install -d -o postfix -g postdrop -m 0730 "$q/maildrop"
	install -d -o postfix -g postdrop -m 0710 "$q/public"
	install -d -o root -g root -m 0755 "$q/pid"
}

# postfix_start - start a private Postfix in DIR serving CHAIN (see the header).
postfix_start() {
	mail_init
	mail_start_retry postfix_start_once "$@"
}

# postfix_start_once - one attempt; returns 2 when a port was taken meanwhile.
postfix_start_once() {
	local d=$1 chain=$2 pid
	mail_require postfix postconf
	mkdir -p "$d/etc" "$d/log" "$d/queue" "$d/data"
	d=$(cd "$d" && pwd)
	chmod 0755 "$d" "$d/etc" "$d/queue"
	# postfix_queue_dirs creates the queue subdirectories; data/ is postfix's.
	chown postfix:postfix "$d/data"
	chmod 0700 "$d/data"
	mail_free_port POSTFIX_PORT_SMTP
	mail_free_port POSTFIX_PORT_SUB
	mail_free_port POSTFIX_PORT_SMTPS
	postfix_write_main "$d" "$chain"
	postfix_write_master "$d"
	POSTFIX_DIR=$d
	POSTFIX_LOG=$d/log/postfix.log
	POSTFIX_RELOAD="postfix -c $d/etc reload"
	postfix_queue_dirs "$d/queue"
	if ! postfix -c "$d/etc" start >"$d/log/start.log" 2>&1; then
		mail_bind_conflict "$d/log/start.log" "$POSTFIX_LOG" && return 2
		mail_fail "postfix -c $d/etc start failed" "$d/log/start.log" "$POSTFIX_LOG"
	fi
	pid=$(mail_read_pid "$d/queue/pid/master.pid") ||
		mail_fail "postfix master did not write $d/queue/pid/master.pid" \
			"$d/log/start.log" "$POSTFIX_LOG"
	POSTFIX_PID=$pid
	mail_register postfix "$d" "$pid"
	mail_wait_ports postfix "$pid" "$POSTFIX_LOG" \
		"$POSTFIX_PORT_SMTP" "$POSTFIX_PORT_SUB" "$POSTFIX_PORT_SMTPS"
	mail_log "postfix (pid $pid) smtp $POSTFIX_PORT_SMTP, submission $POSTFIX_PORT_SUB, smtps $POSTFIX_PORT_SMTPS"
}

# postfix_reload - reload the Postfix in POSTFIX_DIR after its main.cf was
# edited; return once its master has reloaded and every process it had
# before (an idle smtpd keeps the old settings for max_idle) has exited.
postfix_reload() {
	local pid n old=() re
	pid=$(mail_own_pid postfix "${POSTFIX_DIR:-}" "${POSTFIX_DIR:-}/queue/pid/master.pid") ||
		mail_fail "postfix reload: no live master this harness started in ${POSTFIX_DIR:-(none)}"
	re="postfix/master\[$pid\]: reload -- "
	n=$(mail_log_count "$POSTFIX_LOG" "$re")
	mapfile -t old < <(mail_children_procs "$pid")
	postfix -c "$POSTFIX_DIR/etc" reload >/dev/null 2>&1 || mail_fail "postfix reload" "$POSTFIX_LOG"
	mail_wait_log "$POSTFIX_LOG" "$re" "$n" 30 ||
		mail_fail "postfix master (pid $pid) did not log its reload within 30 s" "$POSTFIX_LOG"
	mc_procs_wait 30 "${old[@]}" ||
		mail_fail "postfix: processes from before the reload still run 30 s after it:$(printf ' %s' "${old[@]%%:*}")" "$POSTFIX_LOG"
}

# postfix_stop_begin - "postfix -c DIR/etc stop"; mail_stop_finish waits for the pids.
postfix_stop_begin() {
	local d=$1 pid
	pid=$(mail_own_pid postfix "$d" "$d/queue/pid/master.pid") &&
		mail_stop_tree "$pid" postfix -c "$d/etc" stop
	mail_unregister postfix "$d"
}

# postfix_stop - stop the Postfix in DIR (default POSTFIX_DIR); KILL by pid if need be.
postfix_stop() {
	local d=${1:-${POSTFIX_DIR:-}}
	[ -n "$d" ] || return 0
	MAIL_STOPPING=()
	postfix_stop_begin "$d"
	mail_stop_finish
}

# postfix_start_again - start the stopped Postfix in DIR (default
# POSTFIX_DIR) with its configuration and ports as they were.
postfix_start_again() {
	local d=${1:-$POSTFIX_DIR} pid
	postfix -c "$d/etc" start >"$d/log/start.log" 2>&1 ||
		mail_fail "postfix -c $d/etc start failed" "$d/log/start.log" "$POSTFIX_LOG"
	pid=$(mail_read_pid "$d/queue/pid/master.pid") ||
		mail_fail "postfix master did not write $d/queue/pid/master.pid" "$d/log/start.log"
	POSTFIX_PID=$pid
	mail_register postfix "$d" "$pid"
	mail_wait_ports postfix "$pid" "$POSTFIX_LOG" \
		"$POSTFIX_PORT_SMTP" "$POSTFIX_PORT_SUB" "$POSTFIX_PORT_SMTPS"
	mail_log "postfix (pid $pid) started again"
}

# ---------------------------------------------------------------- Dovecot

# dovecot_write_conf - DIR/dovecot.conf with the five TLS listeners.
dovecot_write_conf() {
	local d=$1 cert=$2 key=$3
	cat >"$d/dovecot.conf" <<CONF
# mailcert test instance (generated by tests/integration/mail.sh)
instance_name = mailcert-test-$$-$RANDOM
base_dir = $d/run
state_dir = $d/state
log_path = $d/log/dovecot.log
listen = 127.0.0.1
protocols = imap pop3 sieve
ssl = yes
ssl_cert = <$cert
ssl_key = <$key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:$d/mail/%u
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $d/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT_IMAP
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $DOVECOT_PORT_IMAPS
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $DOVECOT_PORT_POP3
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $DOVECOT_PORT_POP3S
    ssl = yes
  }
}
service managesieve-login {
  inet_listener sieve {
    address = 127.0.0.1
    port = $DOVECOT_PORT_SIEVE
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0600
  }
}
CONF
}

# dovecot_start - start a private Dovecot in DIR with CERT and KEY (see the header).
dovecot_start() {
	mail_init
	mail_start_retry dovecot_start_once "$@"
}

# dovecot_start_once - one attempt; returns 2 when a port was taken meanwhile.
dovecot_start_once() {
	local d=$1 cert=$2 key=$3 pid
	mail_require dovecot doveadm
	mkdir -p "$d/run" "$d/state" "$d/log" "$d/mail"
	d=$(cd "$d" && pwd)
	chmod 0755 "$d" "$d/run"
	mail_free_port DOVECOT_PORT_IMAP
	mail_free_port DOVECOT_PORT_IMAPS
	mail_free_port DOVECOT_PORT_POP3
	mail_free_port DOVECOT_PORT_POP3S
	mail_free_port DOVECOT_PORT_SIEVE
	printf 'test:{PLAIN}test-password:%s:%s::%s\n' "$(id -u nobody)" "$(id -g nobody)" \
		"$d/mail/test" >"$d/users"
	chmod 0644 "$d/users"
	dovecot_write_conf "$d" "$cert" "$key"
	DOVECOT_DIR=$d
	DOVECOT_CONF=$d/dovecot.conf
	DOVECOT_LOG=$d/log/dovecot.log
	DOVECOT_RELOAD="dovecot -c $d/dovecot.conf reload"
	if ! dovecot -c "$DOVECOT_CONF" >"$d/log/start.log" 2>&1; then
		mail_bind_conflict "$d/log/start.log" "$DOVECOT_LOG" && return 2
		mail_fail "dovecot -c $DOVECOT_CONF failed" "$d/log/start.log" "$DOVECOT_LOG"
	fi
	pid=$(mail_read_pid "$d/run/master.pid") ||
		mail_fail "dovecot did not write $d/run/master.pid" "$d/log/start.log" "$DOVECOT_LOG"
	DOVECOT_PID=$pid
	mail_register dovecot "$d" "$pid"
	mail_wait_ports dovecot "$pid" "$DOVECOT_LOG" "$DOVECOT_PORT_IMAP" "$DOVECOT_PORT_IMAPS" \
		"$DOVECOT_PORT_POP3" "$DOVECOT_PORT_POP3S" "$DOVECOT_PORT_SIEVE"
	mail_log "dovecot (pid $pid) imap $DOVECOT_PORT_IMAP, imaps $DOVECOT_PORT_IMAPS, pop3 $DOVECOT_PORT_POP3, pop3s $DOVECOT_PORT_POP3S, sieve $DOVECOT_PORT_SIEVE"
}

# dovecot_reload - reload the Dovecot in DOVECOT_DIR after its config was
# edited; return once its master has logged the reload and its old log
# process has exited. The master logs "SIGHUP received" first and only
# then reads the new config and replaces its services; the old ones (log,
# config, auth, stats; not anvil) exit once it has switched, so the old
# log process gone is the evidence (the log line alone is not; with it
# the reload took ~0.15 s here instead of ~0.05 s). A new login process
# gets the new config.
dovecot_reload() {
	local re='master: Warning: SIGHUP received - reloading configuration' n child arg0 pid logger=
	pid=$(mail_own_pid dovecot "${DOVECOT_DIR:-}" "${DOVECOT_DIR:-}/run/master.pid") ||
		mail_fail "dovecot reload: no live master this harness started in ${DOVECOT_DIR:-(none)}"
	n=$(mail_log_count "$DOVECOT_LOG" "$re")
	for child in $(mail_children "$pid"); do
		arg0=
		IFS= read -r -d '' arg0 <"/proc/$child/cmdline" 2>/dev/null
		[[ $arg0 != */log ]] || logger=$(mc_proc "$child")
	done
	dovecot -c "$DOVECOT_CONF" reload >/dev/null 2>&1 || mail_fail "dovecot reload" "$DOVECOT_LOG"
	mail_wait_log "$DOVECOT_LOG" "$re" "$n" 30 ||
		mail_fail "dovecot master did not log its reload within 30 s" "$DOVECOT_LOG"
	[ -z "$logger" ] || mc_procs_wait 30 "$logger" ||
		mail_fail "dovecot: its log process (pid ${logger%%:*}) from before the reload still runs 30 s after it" "$DOVECOT_LOG"
}

# dovecot_stop_begin - TERM by pid to the master this harness started and
# registered (mail_own_pid; never a Dovecot of the host); mail_stop_finish
# waits for the pids.
dovecot_stop_begin() {
	local d=$1 pid
	pid=$(mail_own_pid dovecot "$d" "$d/run/master.pid") &&
		mail_stop_tree "$pid" kill -TERM "$pid"
	mail_unregister dovecot "$d"
}

# dovecot_stop - stop the Dovecot in DIR (default DOVECOT_DIR); KILL by pid if need be.
dovecot_stop() {
	local d=${1:-${DOVECOT_DIR:-}}
	[ -n "$d" ] || return 0
	MAIL_STOPPING=()
	dovecot_stop_begin "$d"
	mail_stop_finish
}

# ---------------------------------------------------------------- Exim

# exim_write_conf - DIR/exim.conf: two ports, TLS with CERT/KEY, accept nothing.
exim_write_conf() {
	local d=$1 cert=$2 key=$3
	cat >"$d/exim.conf" <<CONF
# mailcert test instance (generated by tests/integration/mail.sh)
exim_path = $MAIL_EXIM_BIN
primary_hostname = exim.mailcert.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
local_interfaces = 127.0.0.1
disable_ipv6 = true
# a taken port is an error at once (default: 9 retries, 30 s apart)
daemon_startup_retries = 0
daemon_smtp_ports = $EXIM_PORT_SMTP : $EXIM_PORT_SMTPS
tls_on_connect_ports = $EXIM_PORT_SMTPS
tls_advertise_hosts = *
tls_certificate = $cert
tls_privatekey = $key
host_lookup =
# no DNS at all: by default (@ : @[]) an EHLO naming our own address -
# mailcert's "EHLO [127.0.0.1]" on a host whose name has no dot - makes
# Exim look up 127.0.0.1's name through the host's DNS server; a lost UDP
# query then held one STARTTLS row of a verify for 5 s (about 1 in 100)
helo_lookup_domains =
rfc1413_hosts =
keep_environment =
smtp_banner = \$primary_hostname ESMTP mailcert-test
acl_smtp_rcpt = acl_check_rcpt

begin acl

acl_check_rcpt:
  deny message = no relaying from a test instance

begin routers

begin transports
CONF
	chmod 0644 "$d/exim.conf"
}

# exim_start - start the unpacked Exim in DIR with CERT and KEY (see the header).
exim_start() {
	mail_init
	mail_start_retry exim_start_once "$@"
}

# exim_start_once - one attempt; returns 2 when a port was taken meanwhile.
exim_start_once() {
	local d=$1 cert=$2 key=$3 pid
	[ -x "$MAIL_EXIM_BIN" ] || mail_skip "$MAIL_EXIM_BIN is missing"
	getent passwd Debian-exim >/dev/null || mail_skip "user Debian-exim is missing"
	mkdir -p "$d/spool" "$d/log"
	d=$(cd "$d" && pwd)
	chmod 0755 "$d"
	chown Debian-exim:Debian-exim "$d/spool" "$d/log"
	chmod 0750 "$d/spool" "$d/log"
	mail_free_port EXIM_PORT_SMTP
	mail_free_port EXIM_PORT_SMTPS
	exim_write_conf "$d" "$cert" "$key"
	EXIM_DIR=$d
	EXIM_CONF=$d/exim.conf
	EXIM_PIDFILE=$d/exim.pid
	EXIM_LOG=$d/log/mainlog
	EXIM_RELOAD="$MAIL_LIB_DIR/hooks/exim-reload.sh $EXIM_PIDFILE"
	if ! "$MAIL_EXIM_BIN" -C "$EXIM_CONF" -bd -q30m -oX "$EXIM_PORT_SMTP:$EXIM_PORT_SMTPS" \
		-oP "$EXIM_PIDFILE" >"$d/log/start.log" 2>&1 </dev/null; then
		mail_bind_conflict "$d/log/start.log" "$d/log/paniclog" && return 2
		mail_fail "exim -bd failed" "$d/log/start.log" "$d/log/paniclog" "$EXIM_LOG"
	fi
	if ! pid=$(mail_read_pid "$EXIM_PIDFILE"); then
		# shellcheck disable=SC2046 # PID:START words, one each
		mc_procs_stop 3 $(mail_procs_using "$EXIM_CONF")
		mail_bind_conflict "$d/log/start.log" "$d/log/paniclog" && return 2
		mail_fail "exim did not write $EXIM_PIDFILE" "$d/log/start.log" "$d/log/paniclog"
	fi
	EXIM_PID=$pid
	mail_register exim "$d" "$pid"
	mail_wait_ports exim "$pid" "$d/log/paniclog" "$EXIM_PORT_SMTP" "$EXIM_PORT_SMTPS"
	mail_log "exim (pid $pid) smtp $EXIM_PORT_SMTP, smtps $EXIM_PORT_SMTPS"
}

# exim_reload - reload the Exim in EXIM_DIR (SIGHUP: it re-execs under the
# same pid) after its config was edited; return once the new daemon has
# logged its start (it has read the config) and both ports accept.
exim_reload() {
	local re=' daemon started: pid=' n
	mail_own_pid exim "${EXIM_DIR:-}" "${EXIM_PIDFILE:-}" >/dev/null ||
		mail_fail "exim reload: no live daemon this harness started in ${EXIM_DIR:-(none)}"
	n=$(mail_log_count "$EXIM_LOG" "$re")
	"$MAIL_LIB_DIR/hooks/exim-reload.sh" "$EXIM_PIDFILE" >/dev/null 2>&1 ||
		mail_fail "exim reload" "$EXIM_DIR/log/paniclog"
	mail_wait_log "$EXIM_LOG" "$re" "$n" 30 ||
		mail_fail "exim (pid file $EXIM_PIDFILE) did not start again within 30 s of its SIGHUP" \
			"$EXIM_DIR/log/paniclog" "$EXIM_LOG"
	mail_wait_ports exim "$(cat "$EXIM_PIDFILE" 2>/dev/null)" "$EXIM_DIR/log/paniclog" \
		"$EXIM_PORT_SMTP" "$EXIM_PORT_SMTPS"
}

# exim_stop_begin - TERM to the daemon; mail_stop_finish waits for the pids.
exim_stop_begin() {
	local d=$1 pid
	pid=$(mail_own_pid exim "$d" "$d/exim.pid") &&
		mail_stop_tree "$pid" kill -TERM "$pid"
	mail_unregister exim "$d"
}

# exim_stop - stop the Exim in DIR (default EXIM_DIR): TERM by pid, then KILL.
exim_stop() {
	local d=${1:-${EXIM_DIR:-}}
	[ -n "$d" ] || return 0
	MAIL_STOPPING=()
	exim_stop_begin "$d"
	mail_stop_finish
}
