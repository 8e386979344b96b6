#!/bin/bash
# bench/renew.sh - `mailcert renew` with 1, 100 and 1,000 configured certs
# that are NOT due, side by side with `certbot renew` on the same counts.
# Prints the median (of RUNS runs, default 3, after one untimed warm-up run)
# of wall time, CPU time (user+sys) and peak RSS of each cell, measured with
# /usr/bin/time -f '%e %U %S %M', then the speed ratio at the largest count
# and whether mailcert meets its targets (>= 100x faster than certbot, peak
# RSS < 10 MB at 1,000 certs).
#
# No CA is needed: one ECDSA test CA and one leaf valid 89 days are made
# with openssl and copied into every lineage. mailcert gets state_dir
# versions/0001 + current + a meta.json per cert whose names match its
# config; certbot gets archive/ + live/ symlinks + renewal/NAME.conf under a
# private --config-dir. Both point their ACME server at a loopback port
# where nothing listens, so a stray request would fail the run; with strace
# installed, the largest count of each tool is also traced once to prove
# that no socket is connected (AF_UNIX aside).
#
# Env: MAILCERT (binary; default build/mailcert, else /tmp/b/mailcert, else
# built into /tmp/bench-renew), COUNTS (default "1 100 1000"), RUNS (3),
# KEEP=1 keeps the work directory.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNTS=${COUNTS:-1 100 1000}
RUNS=${RUNS:-3}
TIME=/usr/bin/time

die() { echo "bench/renew.sh: $*" >&2; exit 1; }

for t in "$TIME" certbot openssl; do
	command -v "$t" >/dev/null ||
		die "$t missing (apt-get install time certbot openssl)"
done

# find_mailcert - MAILCERT, a known build, or a fresh build.
find_mailcert() {
	local c
	for c in "${MAILCERT:-}" "$ROOT/build/mailcert" /tmp/b/mailcert; do
		[ -n "$c" ] && [ -x "$c" ] && { MAILCERT=$c; return; }
	done
	cmake -S "$ROOT" -B /tmp/bench-renew -DMAILCERT_INTEGRATION=OFF >/dev/null &&
		make -C /tmp/bench-renew -j2 mailcert >/dev/null ||
		die "cannot build mailcert"
	MAILCERT=/tmp/bench-renew/mailcert
}
find_mailcert

WORK=$(mktemp -d /tmp/bench-renew.XXXXXX) || die "mktemp failed"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT

# dead_port - a loopback TCP port that refuses connections.
dead_port() {
	local p
	for p in 1 9 47 {40000..40100}; do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free loopback port"
}
PORT=$(dead_port)
DIR_URL="https://127.0.0.1:$PORT/dir"

# make_chain - a test CA and one ECDSA leaf valid 89 days from now into
# $WORK/pki; sets NOT_BEFORE, NOT_AFTER, SERIAL, SHA256, SPKI.
make_chain() {
	local d=$WORK/pki
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 3650 \
		-subj "/CN=bench renew test CA" 2>/dev/null || return 1
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/privkey.pem" -out "$d/leaf.csr" \
		-subj "/CN=bench.example.test" 2>/dev/null || return 1
	openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" \
		-CAkey "$d/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
		-days 89 \
		-extfile <(printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
			'keyUsage=critical,digitalSignature' \
			'extendedKeyUsage=serverAuth' \
			'subjectAltName=DNS:bench.example.test') \
		-out "$d/cert.pem" 2>/dev/null || return 1
	cp "$d/ca.pem" "$d/chain.pem"
	cat "$d/cert.pem" "$d/chain.pem" >"$d/fullchain.pem"
	chmod 600 "$d/privkey.pem"
	NOT_BEFORE=$(date -d "$(openssl x509 -in "$d/cert.pem" -noout -startdate | cut -d= -f2)" +%s)
	NOT_AFTER=$(date -d "$(openssl x509 -in "$d/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
	SERIAL=$(openssl x509 -in "$d/cert.pem" -noout -serial | cut -d= -f2)
	SHA256=$(openssl x509 -in "$d/cert.pem" -outform DER |
		openssl dgst -sha256 -r | cut -d' ' -f1)
	SPKI=$(openssl x509 -in "$d/cert.pem" -noout -pubkey |
		openssl pkey -pubin -outform DER | openssl dgst -sha256 -r |
		cut -d' ' -f1)
}
make_chain || die "openssl could not make the test chain"

# mc_setup N - config and state for N not-due certs in $WORK/mc$N.
mc_setup() {
	local n=$1 d=$WORK/mc$1 i name v
	mkdir -p "$d/state/certs" "$d/hooks"
	{
		printf '%s\n' '[global]' "state_dir = $d/state" \
			"directory = $DIR_URL" \
			'contact = mailto:postmaster@example.test' \
			"hooks_dir = $d/hooks" 'log = stderr' ''
		for ((i = 1; i <= n; i++)); do
			printf '%s\n' "[cert c$i]" "names = c$i.example.test" \
				'key_type = ecdsa-p256' ''
		done
	} >"$d/mailcert.conf"
	for ((i = 1; i <= n; i++)); do
		name=c$i
		v=$d/state/certs/$name/versions/0001
		mkdir -p "$v"
		cp -p "$WORK"/pki/{privkey,cert,chain,fullchain}.pem "$v/"
		printf '{\n  "issued_at": %d,\n  "issuer": "bench renew test CA",\n  "key_type": "ecdsa-p256",\n  "names": [\n    "%s.example.test"\n  ],\n  "not_after": %d,\n  "not_before": %d,\n  "serial": "%s",\n  "sha256": "%s",\n  "spki_sha256": "%s",\n  "directory": "%s",\n  "status": "deployed",\n  "version": 1\n}\n' \
			"$NOT_BEFORE" "$name" "$NOT_AFTER" "$NOT_BEFORE" "$SERIAL" \
			"$SHA256" "$SPKI" "$DIR_URL" >"$v/meta.json"
		ln -s versions/0001 "$d/state/certs/$name/current"
	done
}

# cb_setup N - certbot config dir with N not-due lineages in $WORK/cb$N.
cb_setup() {
	local n=$1 d=$WORK/cb$1 i name k
	local acct
	acct=$(openssl rand -hex 16)
	mkdir -p "$d/etc/archive" "$d/etc/live" "$d/etc/renewal" "$d/work" "$d/logs"
	for ((i = 1; i <= n; i++)); do
		name=c$i.example.test
		mkdir -p "$d/etc/archive/$name" "$d/etc/live/$name"
		for k in cert privkey chain fullchain; do
			cp -p "$WORK/pki/$k.pem" "$d/etc/archive/$name/${k}1.pem"
			ln -s "../../archive/$name/${k}1.pem" "$d/etc/live/$name/$k.pem"
		done
		printf '%s\n' "# renew_before_expiry = 30 days" "version = 2.1.0" \
			"archive_dir = $d/etc/archive/$name" \
			"cert = $d/etc/live/$name/cert.pem" \
			"privkey = $d/etc/live/$name/privkey.pem" \
			"chain = $d/etc/live/$name/chain.pem" \
			"fullchain = $d/etc/live/$name/fullchain.pem" '' \
			'# Options used in the renewal process' '[renewalparams]' \
			"account = $acct" 'authenticator = standalone' \
			"server = $DIR_URL" 'key_type = ecdsa' \
			'elliptic_curve = secp256r1' >"$d/etc/renewal/$name.conf"
	done
}

# cmd_of TOOL N - the command line of one run into CMD.
cmd_of() {
	local d=$WORK/$1$2
	if [ "$1" = base ]; then
		CMD=(true)
	elif [ "$1" = mc ]; then
		CMD=("$MAILCERT" -c "$d/mailcert.conf" renew)
	else
		CMD=(certbot renew --config-dir "$d/etc" --work-dir "$d/work"
			--logs-dir "$d/logs" --no-random-sleep-on-renew
			--non-interactive)
	fi
}

# check_cell TOOL N - one untimed run: exit 0, and the tool's "not due"
# output (mailcert: exactly one "nothing due" line on stdout).
check_cell() {
	local d=$WORK/$1$2 out=$WORK/$1$2.out errf=$WORK/$1$2.err rc
	cmd_of "$1" "$2"
	"${CMD[@]}" >"$out" 2>"$errf" </dev/null
	rc=$?
	[ $rc -eq 0 ] || { cat "$out" "$errf" >&2; die "$1 x$2: exit $rc"; }
	if [ "$1" = mc ]; then
		[ "$(wc -l <"$out")" -eq 1 ] &&
			grep -q "nothing due among $2 certificate" "$out" ||
			{ cat "$out" "$errf" >&2; die "mailcert x$2: not one 'nothing due' line"; }
		[ ! -s "$errf" ] || { cat "$errf" >&2; die "mailcert x$2: wrote to stderr"; }
	else
		[ "$(grep -c '\.example\.test/fullchain\.pem expires on .* (skipped)$' "$out")" -eq "$2" ] ||
			{ cat "$out" "$errf" >&2; die "certbot x$2: not all $2 skipped as not due"; }
		grep -q 'No renewals were attempted' "$out" &&
			! grep -qi 'renewal failure\|error' "$out" "$errf" ||
			{ cat "$out" "$errf" >&2; die "certbot x$2: attempted a renewal or reported an error"; }
	fi
	echo "ok  $1 x$2: $(grep -m1 'nothing due\|No renewals' "$out")" >&2
}

# check_no_net TOOL N - trace one run: no connect() other than AF_UNIX.
check_no_net() {
	local tr=$WORK/$1$2.strace
	command -v strace >/dev/null || { echo "(strace missing: network trace skipped)" >&2; return; }
	cmd_of "$1" "$2"
	strace -f -qq -e trace=connect,sendto,sendmsg -o "$tr" "${CMD[@]}" \
		>/dev/null 2>&1 </dev/null || die "$1 x$2: failed under strace"
	if grep -E 'AF_INET|AF_INET6' "$tr" >&2; then
		die "$1 x$2: made a network connection (above)"
	fi
	echo "ok  $1 x$2: no AF_INET/AF_INET6 connect under strace" >&2
}

# median - the middle of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# bench_cell TOOL N - RUNS timed runs; prints the medians "wall_s cpu_s
# rss_kb wall_ms cpu_ms": the first three from /usr/bin/time (%e, %U+%S,
# %M; 10 ms resolution), the last two from bash's `time` around it (1 ms
# resolution, including the /usr/bin/time wrapper; see the baseline row).
bench_cell() {
	local i tf=$WORK/$1$2.time bt=$WORK/$1$2.btime col
	local -a w c r wm cm
	local TIMEFORMAT='%3R %3U %3S'
	cmd_of "$1" "$2"
	for ((i = 0; i < RUNS; i++)); do
		{ time "$TIME" -f '%e %U %S %M' -o "$tf" "${CMD[@]}" \
			>/dev/null 2>&1 </dev/null; } 2>"$bt" ||
			die "$1 x$2: run $i failed"
		read -r e u s m <"$tf"
		read -r br bu bs <"$bt"
		w+=("$e")
		c+=("$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')")
		r+=("$m")
		wm+=("$(awk -v x="$br" 'BEGIN { printf "%.0f", x * 1000 }')")
		cm+=("$(awk -v u="$bu" -v s="$bs" 'BEGIN { printf "%.0f", (u + s) * 1000 }')")
	done
	for col in w c r wm cm; do
		local -n arr=$col
		printf '%s ' "$(printf '%s\n' "${arr[@]}" | median)"
		unset -n arr
	done
	echo
}

echo "mailcert: $MAILCERT" >&2
echo "certbot:  $(certbot --version 2>&1)" >&2
echo "ACME directory for both: $DIR_URL (nothing listens)" >&2
declare -A RES
for n in $COUNTS; do
	mc_setup "$n"
	cb_setup "$n"
	check_cell mc "$n"
	check_cell cb "$n"
done
last=${COUNTS##* }
check_no_net mc "$last"
check_no_net cb "$last"
RES[base0]=$(bench_cell base 0)
for n in $COUNTS; do
	for t in mc cb; do
		RES[$t$n]=$(bench_cell "$t" "$n")
		echo "done $t x$n: ${RES[$t$n]}" >&2
	done
done

# row TOOL N LABEL - one table row from RES.
row() {
	local w c m wm cm
	read -r w c m wm cm <<<"${RES[$1$2]}"
	printf '%-9s %6s %9s %8s %9.1f   %8s %8s\n' "$3" "$2" "$w" "$c" \
		"$(awk -v m="$m" 'BEGIN { print m / 1024 }')" "$wm" "$cm"
}

echo
echo "renew, nothing due: median of $RUNS runs (after 1 warm-up run)"
echo "(wall s, cpu s = user+sys, RSS: /usr/bin/time -f '%e %U %S %M';"
echo " wall ms, cpu ms: bash time around it, 1 ms resolution, wrapper included)"
printf '%-9s %6s %9s %8s %9s   %8s %8s\n' tool count "wall s" "cpu s" "RSS MB" \
	"wall ms" "cpu ms"
row base 0 "baseline"
for n in $COUNTS; do
	row mc "$n" mailcert
	row cb "$n" certbot
done
read -r _ _ mm mw mc_cpu <<<"${RES[mc$last]}"
read -r _ _ _ cw cb_cpu <<<"${RES[cb$last]}"
awk -v mw="$mw" -v cw="$cw" -v mc="$mc_cpu" -v cc="$cb_cpu" -v mm="$mm" \
	-v n="$last" 'BEGIN {
	if (mw < 1) mw = 1
	if (mc < 1) mc = 1
	ratio = cw / mw
	printf "\nat %d certs: mailcert is %.0fx faster than certbot by wall time, %.0fx by CPU time\n",
		n, ratio, cc / mc
	printf "targets at %d: >= 100x faster: %s; peak RSS < 10 MB: %s (%.1f MB)\n", n,
		(ratio >= 100) ? "PASS" : "FAIL", (mm < 10240) ? "PASS" : "FAIL", mm / 1024
}'
