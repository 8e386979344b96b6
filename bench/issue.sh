#!/bin/bash
# bench/issue.sh - issuance side by side: mailcert against certbot, lego,
# uacme, dehydrated and acme.sh, on 1, 3 and 100 names, against a loopback
# Pebble (+ pebble-challtestsrv as its DNS, every name -> 127.0.0.1).
#
# Scenarios (each tool's account is registered, and one issuance made, in
# an untimed warm-up before its first cell of the scenario):
#   nosleep  PEBBLE_VA_NOSLEEP=1, the CA file holds only the test CA that
#            signed Pebble's listener certificate;
#   sysca    the same, with a system-sized CA file: Debian's
#            /etc/ssl/certs/ca-certificates.crt plus that test CA;
#   sleep    Pebble's VA sleeping before each validation (its default, a
#            realistic 0-4 s), the small CA file.
# Every tool answers http-01 the same way: files in one webroot that one
# static server (busybox httpd, started once, not timed; python's
# http.server made Pebble's multi-perspective validation take ~1 s) serves
# on Pebble's http-01 port; "mailcert*" is mailcert with its own built-in
# responder instead (run while the static server is stopped). Pebble's
# nonce rejection is off here (PEBBLE_WFE_NONCEREJECT=0) so every client
# gets the same requests; t_nonce_storm and bench/nonce.sh test that.
#
# Each cell: the median of RUNS runs (RUNS100 for 100 names) of wall time,
# CPU time (user+sys of the tool and every process it waited for, from
# wait4, microsecond resolution) and the peak RSS of the largest of those
# processes. Every tool is measured alike and alone: bench/measure.py
# starts a small C launcher (bench/measure_exec.c) that forks, execs the
# tool and reaps it, so no figure holds any of the measuring (until
# 2026-11 /usr/bin/time was the launcher and its ~1-3 ms of CPU was in
# every figure; the 'true' row printed with the table is now the cost of
# exec'ing a trivial program, ~1 ms, which is in every tool's figure as
# in any real start). A failed run prints FAIL in its cell. The table
# comes last, then the issue-14 targets with PASS/FAIL.
#
# Floors (nosleep and sysca only, the scenarios with a CPU target): what
# the transport mailcert must use costs by itself, measured like the tools
# and right after mailcert's cells of the same names. Debian's curl binary
# (the libcurl.so.4 and OpenSSL 3 that mailcert dlopens; HTTP/1.1 as
# mailcert speaks it; the scenario's CA file through --cacert, which curl
# parses whole) GETs Pebble's directory to /dev/null: "curl 1 req" once
# over TLS, "curl K req" K times over one kept-alive connection (one
# invocation; the bench checks curl opened exactly one connection). K is
# counted in this run: the requests Pebble logs ("<METHOD> <path> ->
# calling handler()") during each measured mailcert and mailcert* run of
# that scenario and number of names, the median of them (11 for 1 name at
# 2026-11-30: GET dir, HEAD nonce, POST order, authz, challenge, authz
# polled twice, order, finalize, order, certificate; the warm-up run, which
# registers the account, is not counted). "sync F": coreutils' sync
# fsyncing F files of 2 KiB just written (untimed) in a new directory, F
# the fsync and fdatasync calls of one mailcert issuance, counted with
# strace on one extra, untimed run after mailcert's timed ones (12 at
# 2026-11-30: 5 files of the version, its directory, versions/ twice -
# the new version, and the removal of the oldest once there are enough to
# prune -, the cert's directory twice, last.json, the lock's fdatasync;
# 11 before the first prune). Floors are no peers: they enter neither the table's
# comparisons nor PASS/FAIL; the CPU target lines name them for context.
# Without a mailcert run there is no K nor F, and no such row.
#
# Peers come from Debian (bench/setup.sh installs them: certbot lego uacme
# dehydrated); acme.sh is not packaged: set ACMESH=/path/to/acme.sh (a copy
# from its public repository) to include it, else its rows say "absent".
# uacme has no CA option (libcurl-gnutls reads the system file), so it runs
# in a private mount namespace with the scenario's CA file bind-mounted
# over /etc/ssl/certs/ca-certificates.crt (nothing outside it changes).
#
# Env: MAILCERT (default build/mailcert), RUNS (5), RUNS100 (3), NAMES
# ("1 3 100"), SCENARIOS ("nosleep sysca sleep"), TOOLS ("mailcert
# mailcert* certbot lego uacme dehydrated acme.sh"), TIMEOUT (s per run,
# 600), KEEP=1 keeps the work directory. Run as root (uacme's namespace).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export MAILCERT=${MAILCERT:-$ROOT/build/mailcert} MC_TESTS_DIR=$ROOT/tests
RUNS=${RUNS:-5}
RUNS100=${RUNS100:-3}
NAMES=${NAMES:-1 3 100}
SCENARIOS=${SCENARIOS:-nosleep sysca sleep}
TOOLS=${TOOLS:-mailcert mailcert* certbot lego uacme dehydrated acme.sh}
TIMEOUT=${TIMEOUT:-600}
MEASURE=$ROOT/bench/measure.py
SYSCA=/etc/ssl/certs/ca-certificates.crt
# shellcheck source=../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

require_cmd python3 openssl unshare busybox
[ -r "$SYSCA" ] || fail "$SYSCA missing (apt-get install ca-certificates)"
ACMESH=${ACMESH:-$(command -v acme.sh || true)}

# tool_present TOOL - whether the tool can run here.
tool_present() {
	case $1 in
	mailcert | mailcert\*) [ -x "$MAILCERT" ] ;;
	acme.sh) [ -n "$ACMESH" ] && [ -x "$ACMESH" ] ;;
	*) command -v "$1" >/dev/null ;;
	esac
}

# names_of N - n1.bench.test ... nN.bench.test
names_of() {
	local i out=""
	for ((i = 1; i <= $1; i++)); do
		out+="n$i.bench.test "
	done
	echo "${out% }"
}

# webroot_start / webroot_stop - the static server for every webroot.
webroot_start() {
	mkdir -p "$WEBROOT/.well-known/acme-challenge"
	bg_start webroot "$TEST_TMP/webroot.log" busybox httpd -f \
		-p "127.0.0.1:$HTTP01_PORT" -h "$WEBROOT"
	WEBROOT_PID=$BG_PID
	wait_http "http://127.0.0.1:$HTTP01_PORT/" "$WEBROOT_PID" "static server" \
		"$TEST_TMP/webroot.log"
}
webroot_stop() {
	bg_stop "$WEBROOT_PID"
}

# scenario_start SC - Pebble for the scenario; sets CAFILE and S (state).
scenario_start() {
	local sc=$1
	[ -z "${PEBBLE_PID:-}" ] || pebble_stop
	if [ "$sc" = sleep ]; then
		pebble_start --nonce-reject 0 --va-sleep
	else
		pebble_start --nonce-reject 0
	fi
	CAFILE=$PEBBLE_CA
	if [ "$sc" = sysca ]; then
		CAFILE=$TEST_TMP/sysca.pem
		cat "$SYSCA" "$PEBBLE_CA" >"$CAFILE"
	fi
	S=$TEST_TMP/$sc
	WEBROOT=$S/webroot
	mkdir -p "$S"
}

# cmd_of TOOL N [reg] - the command line of one issuance into CMD (state
# in $S); with reg, the account registration of tools that do it apart
# (else CMD is empty).
cmd_of() {
	local t=$1 n=$2 reg=${3:-} names d arg
	local -a uns
	names=$(names_of "$n")
	d=$(tool_dir "$t")
	case $t in
	mailcert | mailcert\*)
		{
			printf '%s\n' '[global]' "state_dir = $d/state" \
				"directory = $PEBBLE_DIR_URL" "ca_bundle = $CAFILE" \
				'contact = mailto:bench@example.test' "hooks_dir = $d/hooks" \
				'log = stderr' '' "[cert b$n]" "names = $names" \
				'key_type = ecdsa-p256' "http_listen = 127.0.0.1:$HTTP01_PORT"
			[ "$t" = mailcert ] && echo "webroot = $WEBROOT"
		} >"$d/mailcert.conf"
		CMD=("$MAILCERT" -q -c "$d/mailcert.conf" issue "b$n")
		;;
	certbot)
		CMD=(env REQUESTS_CA_BUNDLE="$CAFILE" certbot certonly --webroot -w "$WEBROOT"
			--server "$PEBBLE_DIR_URL" --config-dir "$d/etc" --work-dir "$d/work"
			--logs-dir "$d/logs" --non-interactive --agree-tos
			--register-unsafely-without-email --key-type ecdsa --force-renewal
			--cert-name "b$n" --no-random-sleep-on-renew)
		for arg in $names; do CMD+=(-d "$arg"); done
		;;
	lego)
		CMD=(env LEGO_CA_CERTIFICATES="$CAFILE" lego --server "$PEBBLE_DIR_URL"
			--accept-tos --email bench@example.test --path "$d" --key-type ec256
			--http --http.webroot "$WEBROOT")
		for arg in $names; do CMD+=(-d "$arg"); done
		CMD+=(run)
		;;
	uacme)
		printf '#!/bin/sh\nexec env UACME_CHALLENGE_PATH=%s /usr/share/uacme/uacme.sh "$@"\n' \
			"$WEBROOT/.well-known/acme-challenge" >"$d/hook"
		chmod 755 "$d/hook"
		# shellcheck disable=SC2016
		uns=(unshare --mount sh -c 'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt &&
			shift && exec "$@"' sh "$CAFILE")
		# shellcheck disable=SC2086
		CMD=("${uns[@]}" uacme -a "$PEBBLE_DIR_URL" -c "$d" -y -f -t EC -h "$d/hook"
			issue $names)
		[ -z "$reg" ] || CMD=("${uns[@]}" uacme -a "$PEBBLE_DIR_URL" -c "$d" -y -t EC new)
		;;
	dehydrated)
		printf '%s\n' "CA=$PEBBLE_DIR_URL" "BASEDIR=$d" \
			"WELLKNOWN=$WEBROOT/.well-known/acme-challenge" 'KEY_ALGO=prime256v1' \
			"CURL_OPTS=\"--cacert $CAFILE\"" 'CONTACT_EMAIL=bench@example.test' \
			>"$d/config"
		CMD=(dehydrated -f "$d/config" -c --force -d "$names")
		[ -z "$reg" ] || CMD=(dehydrated -f "$d/config" --register --accept-terms)
		;;
	acme.sh)
		CMD=("$ACMESH" --home "$d/home" --config-home "$d/home" --issue --force
			--server "$PEBBLE_DIR_URL" --ca-bundle "$CAFILE" --keylength ec-256
			-w "$WEBROOT" --accountemail bench@example.test --no-cron)
		for arg in $names; do CMD+=(-d "$arg"); done
		;;
	esac
	case $reg$t in reguacme | regdehydrated) ;; reg*) CMD=() ;; esac
}

# tool_dir TOOL - the tool's state in this scenario (made on first use).
tool_dir() {
	local d=$S/${1//\*/-builtin}
	mkdir -p "$d"
	echo "$d"
}

# issued_ok TOOL N - a certificate for all N names was written.
issued_ok() {
	local d f
	d=$(tool_dir "$1")
	case $1 in
	mailcert | mailcert\*) f=$d/state/certs/b$2/current/cert.pem ;;
	certbot) f=$d/etc/live/b$2/cert.pem ;;
	lego) f=$d/certificates/n1.bench.test.crt ;;
	uacme) f=$d/n1.bench.test/cert.pem ;;
	dehydrated) f=$d/certs/n1.bench.test/cert.pem ;;
	acme.sh) f=$(find "$d/home" -name 'n1.bench.test.cer' | head -1) ;;
	esac
	[ -n "$f" ] && [ -s "$f" ] &&
		[ "$(cert_sans "$f" | wc -l)" = "$2" ] &&
		[ "$(find "$f" -newer "$d/.t0" | wc -l)" = 1 ]
}

# run_once TOOL N [warm] - one measured run: "wall cpu rss" or FAIL; a
# mailcert run's CA requests are counted into $S/k.N unless warm.
run_once() {
	local t=$1 n=$2 warm=${3:-} d r l0
	d=$(tool_dir "$t")
	# uacme keeps the old cert.pem as cert-<notBefore>.pem, and fails when
	# two runs in one second make the same name: start without (untimed)
	[ "$t" != uacme ] || rm -f "$d"/n1.bench.test/cert*.pem
	touch "$d/.t0"
	sleep 0.01 # a new mtime for issued_ok
	cmd_of "$t" "$n"
	l0=$(wc -l <"$PEBBLE_LOG")
	r=$(python3 "$MEASURE" --out "$d/last.out" --err "$d/last.err" \
		--timeout "$TIMEOUT" -- "${CMD[@]}")
	read -r w c m e <<<"$r"
	if [ "$e" != 0 ] || ! issued_ok "$t" "$n"; then
		log "$t x$n: run failed (exit $e); see $d/last.err"
		[ "${VERBOSE:-0}" = 0 ] || tail -5 "$d/last.err" >&2
		if [ "$e" = 124 ]; then echo ">${TIMEOUT}s"; else echo FAIL; fi
		return
	fi
	case $warm$t in mailcert*) ca_requests "$l0" >>"$S/k.$n" ;; esac
	echo "$w $c $m"
}

# ca_requests LINE - the HTTP requests Pebble logged after line LINE of its
# log (its handler logs each before answering, so all of a reaped
# client's are in).
ca_requests() {
	tail -n "+$(($1 + 1))" "$PEBBLE_LOG" |
		grep -cE '^Pebble [0-9/]+ [0-9:]+ (GET|HEAD|POST) [^ ]+ -> calling handler\(\)$'
}

# floor_once K - one measured curl run of K requests: "wall cpu rss" or FAIL.
floor_once() {
	local k=$1 i f=$S/curl.out r w c m e
	local -a cmd=(curl -q -sS --fail --http1.1 --proto "=https" --cacert "$CAFILE"
		-w '%{num_connects}\n')
	for ((i = 0; i < k; i++)); do cmd+=(-o /dev/null "$PEBBLE_DIR_URL"); done
	r=$(python3 "$MEASURE" --out "$f" --err "$S/curl.err" \
		--timeout "$TIMEOUT" -- "${cmd[@]}")
	read -r w c m e <<<"$r"
	# K answers over one connection: K lines of num_connects adding to 1
	if [ "$e" != 0 ] || [ "$(awk 'NF { n++; s += $1 } END { print n + 0, s + 0 }' "$f")" != "$k 1" ]; then
		log "curl x$k: run failed (exit $e, num_connects $(tr '\n' ' ' <"$f")); see $S/curl.err"
		echo FAIL
		return
	fi
	echo "$w $c $m"
}

# sync_count TOOL N - the fsync and fdatasync calls of one issuance by the
# mailcert TOOL (untimed, under strace), or nothing if it failed.
sync_count() {
	local f=$S/strace.$2
	command -v strace >/dev/null || return 0
	cmd_of "$1" "$2"
	strace -f -qq -e trace=fsync,fdatasync -o "$f" -- "${CMD[@]}" \
		>/dev/null 2>"$S/strace.err" || { log "$1 x$2 under strace failed"; return; }
	grep -cE '(^|[[:space:]])(fsync|fdatasync)\(' "$f"
}

# sync_once F - one measured run of sync(1) on F files of 2 KiB just
# written (untimed) in a new directory: "wall cpu rss" or FAIL.
sync_once() {
	local i dir=$S/durable r w c m e
	local -a files=()
	if ! { rm -rf "$dir" && mkdir "$dir"; }; then echo FAIL; return; fi
	for ((i = 0; i < $1; i++)); do
		head -c 2048 /dev/urandom >"$dir/f$i" && files+=("$dir/f$i")
	done
	r=$(python3 "$MEASURE" --err "$S/sync.err" --timeout "$TIMEOUT" -- sync -- "${files[@]}")
	read -r w c m e <<<"$r"
	if [ "$e" != 0 ] || [ ${#files[@]} != "$1" ]; then
		log "sync of $1 files: run failed (exit $e); see $S/sync.err"
		echo FAIL
		return
	fi
	echo "$w $c $m"
}

# floor_cell N CMD ARG - RUNS runs (RUNS100 for N >= 100) of CMD ARG
# (floor_once K or sync_once F) after one untimed run; medians as cell
# prints them, or FAIL/absent.
floor_cell() {
	local i runs=$RUNS r out="" need=curl
	[ "$1" -lt 100 ] || runs=$RUNS100
	[ "$2" = floor_once ] || need=sync
	command -v "$need" >/dev/null || { echo absent; return; }
	case $("$2" "$3") in FAIL) echo FAIL; return ;; esac
	for ((i = 0; i < runs; i++)); do
		r=$("$2" "$3")
		case $r in FAIL) echo "$r"; return ;; esac
		out+="$r"$'\n'
	done
	medians <<<"$out"
}

# warm_up TOOL N - account registration and one issuance, untimed, once per
# tool and scenario; 0 when the issuance worked.
warm_up() {
	local t=$1 n=$2 d
	d=$(tool_dir "$t")
	[ ! -e "$d/.warm" ] || return 0
	touch "$d/.warm"
	cmd_of "$t" "$n" reg
	[ ${#CMD[@]} = 0 ] || python3 "$MEASURE" --out "$d/reg.out" \
		--err "$d/reg.err" --timeout "$TIMEOUT" -- "${CMD[@]}" >/dev/null
	case $(run_once "$t" "$n" warm) in FAIL | \>*) return 1 ;; esac
}

# median_col K - the median of column K of the lines on stdin.
median_col() {
	awk -v k="$1" 'NF { print $k }' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# cell TOOL N - RUNS runs; "wall_ms cpu_ms rss_mb" medians or FAIL/absent.
cell() {
	local t=$1 n=$2 i runs=$RUNS r out=""
	[ "$n" -lt 100 ] || runs=$RUNS100
	tool_present "$t" || { echo absent; return; }
	if ! warm_up "$t" "$n"; then
		echo FAIL
		return
	fi
	for ((i = 0; i < runs; i++)); do
		r=$(run_once "$t" "$n")
		case $r in FAIL | \>*) echo "$r"; return ;; esac
		out+="$r"$'\n'
	done
	medians <<<"$out"
}

# medians - "wall_ms cpu_ms rss_mb" medians of the "wall cpu rss_kb" lines on stdin.
medians() {
	local out
	out=$(cat)
	printf '%.0f %.1f %.1f\n' "$(median_col 1 <<<"$out")" \
		"$(median_col 2 <<<"$out")" \
		"$(awk '{ print $1 / 1024 }' <<<"$(median_col 3 <<<"$out")")"
}

declare -A RES K F
FLOOR1="curl 1 req" FLOORK="curl K req" FLOORF="sync F"
PEBBLE_LOG=$TEST_TMP/pebble.log
# 'true' alone: the cost of exec'ing a trivial program (no measuring in it)
base=""
for ((i = 0; i < RUNS; i++)); do
	base+="$(python3 "$MEASURE" -- true)"$'\n'
done
BASE="$(median_col 1 <<<"$base") ms wall, $(median_col 2 <<<"$base") ms CPU"
log "mailcert: $MAILCERT; peers: $(for t in certbot lego uacme dehydrated; do
	tool_present $t && printf '%s ' $t; done)acme.sh=${ACMESH:-absent}"
for sc in $SCENARIOS; do
	scenario_start "$sc"
	for n in $NAMES; do
		webroot_start
		for t in $TOOLS; do
			[ "$t" != "mailcert*" ] || continue
			RES[$sc,$t,$n]=$(cell "$t" "$n")
			log "$sc $t x$n: ${RES[$sc,$t,$n]}"
		done
		# F: the durable writes of one issuance (after the timed runs)
		case $sc,${RES[$sc,mailcert,$n]:-absent} in
		nosleep,[0-9]* | sysca,[0-9]*) F[$sc,$n]=$(sync_count mailcert "$n") ;;
		esac
		webroot_stop
		case " $TOOLS " in *" mailcert* "*)
			RES[$sc,mailcert*,$n]=$(cell "mailcert*" "$n")
			log "$sc mailcert* x$n: ${RES[$sc,mailcert*,$n]}" ;;
		esac
		case $sc in nosleep | sysca) ;; *) continue ;; esac
		case ${F[$sc,$n]:-},${RES[$sc,mailcert*,$n]:-absent} in
		,[0-9]*) F[$sc,$n]=$(sync_count "mailcert*" "$n") ;;
		esac
		RES[$sc,$FLOOR1,$n]=$(floor_cell "$n" floor_once 1)
		log "$sc $FLOOR1 x$n: ${RES[$sc,$FLOOR1,$n]}"
		K[$sc,$n]=$([ ! -s "$S/k.$n" ] || median_col 1 <"$S/k.$n")
		if [ -n "${K[$sc,$n]}" ]; then
			RES[$sc,$FLOORK,$n]=$(floor_cell "$n" floor_once "${K[$sc,$n]}")
			log "$sc $FLOORK x$n (K = ${K[$sc,$n]}, counted: $(tr '\n' ' ' <"$S/k.$n")): ${RES[$sc,$FLOORK,$n]}"
		fi
		if [ -n "${F[$sc,$n]:-}" ] && [ "${F[$sc,$n]}" -gt 0 ]; then
			RES[$sc,$FLOORF,$n]=$(floor_cell "$n" sync_once "${F[$sc,$n]}")
			log "$sc $FLOORF x$n (F = ${F[$sc,$n]}): ${RES[$sc,$FLOORF,$n]}"
		fi
	done
done

# show SC T N - one table cell.
show() {
	local v=${RES[$1,$2,$3]:-absent} w c m
	case $v in FAIL | absent | \>*) printf '%22s' "$v"; return ;; esac
	read -r w c m <<<"$v"
	printf '%8s %6s %6s' "$w" "$c" "$m"
}

echo
echo "issuance against a loopback Pebble: median of $RUNS runs ($RUNS100 for 100 names)"
echo "per scenario: wall ms, CPU ms (user+sys, the tool and its children), peak RSS MB"
echo "nosleep: PEBBLE_VA_NOSLEEP=1, small CA file; sysca: the same with the system CA file"
echo "+ the test CA; sleep: Pebble's VA sleeping (default); mailcert* = built-in http-01"
echo "(each figure is the tool's own, from wait4 of it; nothing of the measuring: 'true' takes $BASE)"
printf '%-11s %5s' tool names
for sc in $SCENARIOS; do printf ' | %22s' "$sc"; done
echo
for n in $NAMES; do
	for t in $TOOLS; do
		printf '%-11s %5s' "$t" "$n"
		for sc in $SCENARIOS; do printf ' | '; show "$sc" "$t" "$n"; done
		echo
	done
	for t in "$FLOOR1" "$FLOORK" "$FLOORF"; do
		printf '%-11s %5s' "$t" "$n"
		for sc in $SCENARIOS; do
			printf ' | '
			case $sc in nosleep | sysca) show "$sc" "$t" "$n" ;; *) printf '%22s' - ;; esac
		done
		echo
	done
done
ks="" fs=""
for n in $NAMES; do
	for sc in $SCENARIOS; do
		[ -z "${K[$sc,$n]:-}" ] || ks+="${K[$sc,$n]} ($sc, $n name(s)), "
		[ -z "${F[$sc,$n]:-}" ] || fs+="${F[$sc,$n]} ($sc, $n name(s)), "
	done
done
ks=${ks%, } fs=${fs%, }
echo "floors, no peers: Debian's curl (same libcurl.so.4 and OpenSSL 3) GETting the ACME"
echo "directory over TLS (HTTP/1.1, --cacert the scenario's CA file) once, and K times on one"
echo "kept-alive connection; K = the CA requests of one mailcert issuance, counted in Pebble's"
echo "log over this run's mailcert runs (median): ${ks:-none counted (no mailcert run)}"
echo "(curl parses the whole CA file; mailcert indexes it and parses only the roots it needs);"
echo "sync F: coreutils' sync fsyncing F files of 2 KiB just written (untimed) in a new"
echo "directory (its start, as 'true', is in it); F = the fsync and fdatasync calls of one"
echo "mailcert issuance, counted by strace on one extra untimed run: ${fs:-none (no mailcert run or no strace)}"

# targets - the issue-14 targets on this run's figures.
targets() {
	python3 - "$@" <<'PY'
import sys
res, count = {}, {}
for a in sys.argv[1:]:
    k, v = a.split("=", 1)
    sc, t, n = k.split(",")
    f = v.split()
    res[(sc, t, n)] = tuple(float(x) for x in f) if len(f) == 3 else None
    if t in ("K", "F"):
        count[(sc, t, n)] = v
FLOORS = ("curl 1 req", "curl K req", "K", "sync F", "F")  # floors, never peers
def peers(sc, n):
    return {t: v for (s, t, m), v in res.items()
            if s == sc and m == n and not t.startswith("mailcert")
            and t not in FLOORS and v}
def floor(sc, n):
    """' (floors, CPU: ...)' for a CPU line: the floors' CPU medians."""
    parts = []
    for t, what in (("curl 1 req", "curl 1 request"),
                    ("curl K req", "curl %s requests" % count.get((sc, "K", n), "K")),
                    ("sync F", "%s fsyncs" % count.get((sc, "F", n), "F"))):
        if (sc, t, n) in res:
            v = res[(sc, t, n)]
            parts.append("%s %s" % (what, "%.1f ms" % v[1] if v else "FAIL"))
    return " (floors, CPU: %s)" % ", ".join(parts) if parts else ""
def mc(sc, n):
    cands = [v for (s, t, m), v in res.items()
             if s == sc and m == n and t.startswith("mailcert") and v]
    return min(cands) if cands else None
def say(ok, text):
    print("%s  %s" % ("PASS" if ok else "FAIL", text))
print()
for sc in ("nosleep", "sysca"):
    for n in ("1", "3"):
        m = mc(sc, n)
        if m is None:
            continue
        say(m[0] <= 80, "%s, %s name(s): mailcert wall %.0f ms <= 80" % (sc, n, m[0]))
        say(m[1] <= 15, "%s, %s name(s): mailcert CPU %.1f ms <= 15%s"
            % (sc, n, m[1], floor(sc, n)))
        for t, v in sorted(peers(sc, n).items()):
            say(m[0] < v[0] and m[1] < v[1],
                "%s, %s name(s): faster than %s (wall %.0f vs %.0f ms, CPU %.1f vs %.1f ms)"
                % (sc, n, t, m[0], v[0], m[1], v[1]))
for n in ("1", "3", "100"):
    m, p = mc("sleep", n), peers("sleep", n)
    if m is None or not p:
        continue
    best = min(p.items(), key=lambda kv: kv[1][0])
    say(m[0] <= best[1][0], "sleep, %s name(s): mailcert %.0f ms no slower than the fastest peer (%s %.0f ms)"
        % (n, m[0], best[0], best[1][0]))
PY
}
args=()
for k in "${!RES[@]}"; do args+=("$k=${RES[$k]}"); done
for k in "${!K[@]}"; do args+=("${k%,*},K,${k#*,}=${K[$k]}"); done
for k in "${!F[@]}"; do [ -z "${F[$k]}" ] || args+=("${k%,*},F,${k#*,}=${F[$k]}"); done
targets "${args[@]}"
