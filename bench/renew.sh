#!/bin/bash
# bench/renew.sh - `mailcert renew` with 1, 1,000, 10,000 and 50,000
# configured certs that are NOT due, side by side with `certbot renew` on
# the same counts (certbot up to CB_MAX, default 10,000: beyond that one
# run takes minutes). Prints, for each cell, the median of RUNS runs
# (default 5, after one untimed warm-up run) of wall time, CPU time
# (user+sys) and peak RSS (bench/measure.py: wait4, microsecond CPU), then
# the growth fit t(N) = a + b*N + c*N^2 of mailcert's wall time, the ratio
# t(10k)/t(1k), and the issue-14 targets with PASS/FAIL.
#
# mailcert rows: "mailcert" is the steady state with one config file
# holding every [cert] (up to 1 MiB: 10,000 certs fit; the renew index
# written by the warm-up run is used: one file read, then three stats per
# cert - certs/NAME, its versions/ and its version's meta.json - for these
# certs without targets, taken before the loop on up to one thread per
# CPU from 512 certs on); "mc-confd" the same with one config file per
# cert under conf.d/ (include = .../conf.d/*.conf), as a 10k-50k setup
# may be: one walk of conf.d, each file opened below it and read (no
# stat), from 512 files on lexed in 8 runs on up to one thread per CPU;
# the growth fit is of mc-confd, the one layout every count can have;
# wall time is what the targets judge, CPU time (all threads) is printed
# beside it;
# "mc-cold" removes state_dir/renew-index before each run (every meta.json
# is read, then the index is written: the first run after an upgrade or
# after every cert changed).
#
# No CA is needed: one ECDSA test CA and one leaf valid 89 days are made
# with openssl and hard-linked into every lineage. mailcert gets state_dir
# versions/0001 + current + a meta.json per cert whose names match its
# config (dated a day back); certbot gets archive/ + live/ symlinks +
# renewal/NAME.conf under a private --config-dir. Both point their ACME
# server at a loopback port where nothing listens, so a stray request
# would fail the run; with strace installed, the largest count of each
# tool is also traced once to prove that no socket is connected.
#
# Env: MAILCERT (binary; default build/mailcert), COUNTS (default "1 1000
# 10000 50000"), CB_MAX (10000), RUNS (5), KEEP=1 keeps the work directory.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNTS=${COUNTS:-1 1000 10000 50000}
CB_MAX=${CB_MAX:-10000}
RUNS=${RUNS:-5}
MEASURE=$ROOT/bench/measure.py
MAILCERT=${MAILCERT:-$ROOT/build/mailcert}

die() { echo "bench/renew.sh: $*" >&2; exit 1; }

for t in python3 certbot openssl; do
	command -v "$t" >/dev/null ||
		die "$t missing (apt-get install python3 certbot openssl)"
done
[ -x "$MAILCERT" ] || die "no mailcert at $MAILCERT (build first, or set MAILCERT)"

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

# make_chain - a test CA and one ECDSA leaf valid 89 days into $WORK/pki.
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
}
make_chain || die "openssl could not make the test chain"

# setup N - mailcert and certbot trees for N not-due certs ($WORK/mcN,
# $WORK/cbN), written by python (tens of thousands of files).
setup() {
	python3 - "$WORK" "$1" "$DIR_URL" "$CB_MAX" <<'PY'
import os, subprocess, sys, time
work, n, url, cb_max = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
pki = work + "/pki"
def date(field):
    out = subprocess.run(["openssl", "x509", "-in", pki + "/cert.pem", "-noout",
                          "-" + field], capture_output=True, text=True).stdout
    return int(subprocess.run(["date", "-d", out.split("=", 1)[1].strip(), "+%s"],
                              capture_output=True, text=True).stdout)
def x509(*a):
    return subprocess.run(["openssl", "x509", "-in", pki + "/cert.pem", "-noout"] + list(a),
                          capture_output=True, text=True).stdout.strip()
nb, na = date("startdate"), date("enddate")
# ext4 allows 65,000 links to one file: each count links to its own copies
def copies(tag):
    dst = "%s/pki-%s-%d" % (work, tag, n)
    os.makedirs(dst)
    for k in ("privkey", "cert", "chain", "fullchain"):
        with open("%s/%s.pem" % (pki, k), "rb") as src, open("%s/%s.pem" % (dst, k), "wb") as out:
            out.write(src.read())
    os.chmod(dst + "/privkey.pem", 0o600)
    return dst
serial = x509("-serial").split("=")[1]
day_ago = time.time() - 86400
d = "%s/mc%d" % (work, n)
mc_pki = copies("mc")
os.makedirs(d + "/conf.d"); os.makedirs(d + "/hooks"); os.makedirs(d + "/state/certs")
glob_head = ("[global]\nstate_dir = %s/state\ndirectory = %s\n"
             "contact = mailto:postmaster@example.test\nhooks_dir = %s/hooks\n"
             "log = stderr\n" % (d, url, d))
with open(d + "/confd.conf", "w") as f:
    f.write(glob_head + "include = %s/conf.d/*.conf\n" % d)
single = open(d + "/single.conf", "w")
single.write(glob_head)
for i in range(1, n + 1):
    name = "c%d" % i
    sec = "[cert %s]\nnames = %s.example.test\nkey_type = ecdsa-p256\n" % (name, name)
    with open("%s/conf.d/%s.conf" % (d, name), "w") as f:
        f.write(sec)
    single.write(sec)
    v = "%s/state/certs/%s/versions/0001" % (d, name)
    os.makedirs(v)
    for k in ("privkey", "cert", "chain", "fullchain"):
        os.link("%s/%s.pem" % (mc_pki, k), "%s/%s.pem" % (v, k))
    with open(v + "/meta.json", "w") as f:
        f.write('{\n  "directory": "%s",\n  "issued_at": %d,\n  "issuer": "bench renew test CA",\n'
                '  "key_type": "ecdsa-p256",\n  "names": [\n    "%s.example.test"\n  ],\n'
                '  "not_after": %d,\n  "not_before": %d,\n  "serial": "%s",\n'
                '  "status": "deployed",\n  "version": 1\n}\n' % (url, nb, name, na, nb, serial))
    os.utime(v + "/meta.json", (day_ago, day_ago))
    os.symlink("versions/0001", "%s/state/certs/%s/current" % (d, name))
    # settled a day ago too (the index trusts no directory changed < 2 s ago)
    os.utime(os.path.dirname(v), (day_ago, day_ago))
    os.utime("%s/state/certs/%s" % (d, name), (day_ago, day_ago))
single.close()
if os.path.getsize(d + "/single.conf") > 1024 * 1024:
    os.unlink(d + "/single.conf")
if n > cb_max:
    sys.exit(0)
c = "%s/cb%d" % (work, n)
cb_pki = copies("cb")
acct = os.urandom(16).hex()
for sub in ("etc/archive", "etc/live", "etc/renewal", "work", "logs"):
    os.makedirs(c + "/" + sub)
for i in range(1, n + 1):
    name = "c%d.example.test" % i
    os.makedirs("%s/etc/archive/%s" % (c, name)); os.makedirs("%s/etc/live/%s" % (c, name))
    for k in ("cert", "privkey", "chain", "fullchain"):
        os.link("%s/%s.pem" % (cb_pki, k), "%s/etc/archive/%s/%s1.pem" % (c, name, k))
        os.symlink("../../archive/%s/%s1.pem" % (name, k), "%s/etc/live/%s/%s.pem" % (c, name, k))
    with open("%s/etc/renewal/%s.conf" % (c, name), "w") as f:
        f.write("# renew_before_expiry = 30 days\nversion = 2.1.0\n"
                "archive_dir = {c}/etc/archive/{n}\ncert = {c}/etc/live/{n}/cert.pem\n"
                "privkey = {c}/etc/live/{n}/privkey.pem\nchain = {c}/etc/live/{n}/chain.pem\n"
                "fullchain = {c}/etc/live/{n}/fullchain.pem\n\n"
                "# Options used in the renewal process\n[renewalparams]\n"
                "account = {a}\nauthenticator = standalone\nserver = {u}\n"
                "key_type = ecdsa\nelliptic_curve = secp256r1\n".format(c=c, n=name, a=acct, u=url))
PY
}

# cmd_of TOOL N - the command line of one run into CMD.
cmd_of() {
	local d=$WORK/$1$2
	case $1 in
	base) CMD=(true) ;;
	mc) CMD=("$MAILCERT" -c "$WORK/mc$2/single.conf" renew) ;;
	mc-confd) CMD=("$MAILCERT" -c "$WORK/mc$2/confd.conf" renew) ;;
	mc-cold) CMD=(sh -c 'rm -f "$1/state/renew-index" && exec "$2" -c "$1/confd.conf" renew'
		sh "$WORK/mc$2" "$MAILCERT") ;;
	cb) CMD=(certbot renew --config-dir "$d/etc" --work-dir "$d/work"
		--logs-dir "$d/logs" --no-random-sleep-on-renew --non-interactive) ;;
	esac
}

# check_cell TOOL N - one untimed run: exit 0 and the tool's "not due" output.
check_cell() {
	local out=$WORK/$1$2.out errf=$WORK/$1$2.err r
	cmd_of "$1" "$2"
	r=$(python3 "$MEASURE" --out "$out" --err "$errf" -- "${CMD[@]}")
	[ "${r##* }" = 0 ] || { cat "$out" "$errf" >&2; die "$1 x$2: exit ${r##* }"; }
	case $1 in
	mc | mc-confd | mc-cold)
		[ "$(wc -l <"$out")" -eq 1 ] &&
			grep -q "nothing due among $2 certificate" "$out" ||
			{ cat "$out" "$errf" >&2; die "mailcert x$2: not one 'nothing due' line"; }
		[ ! -s "$errf" ] || { cat "$errf" >&2; die "mailcert x$2: wrote to stderr"; }
		;;
	cb)
		[ "$(grep -c '\.example\.test/fullchain\.pem expires on .* (skipped)$' "$out")" -eq "$2" ] ||
			{ cat "$out" "$errf" >&2; die "certbot x$2: not all $2 skipped as not due"; }
		grep -q 'No renewals were attempted' "$out" &&
			! grep -qi 'renewal failure\|error' "$out" "$errf" ||
			{ cat "$out" "$errf" >&2; die "certbot x$2: attempted a renewal or reported an error"; }
		;;
	esac
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

# median_col K - the median of column K of the lines on stdin.
median_col() {
	awk -v k="$1" 'NF { print $k }' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# bench_cell TOOL N - RUNS timed runs; "wall_ms cpu_ms rss_kb" medians.
bench_cell() {
	local i out=""
	cmd_of "$1" "$2"
	for ((i = 0; i < RUNS; i++)); do
		out+="$(python3 "$MEASURE" -- "${CMD[@]}")"$'\n'
	done
	echo "$(median_col 1 <<<"$out") $(median_col 2 <<<"$out") $(median_col 3 <<<"$out")"
}

echo "mailcert: $MAILCERT" >&2
echo "certbot:  $(certbot --version 2>&1)" >&2
echo "ACME directory for both: $DIR_URL (nothing listens)" >&2
declare -A RES
last_cb=0
for n in $COUNTS; do
	setup "$n" || die "setup of $n certs failed"
	check_cell mc-confd "$n" # writes the index
	check_cell mc-confd "$n"
	[ ! -f "$WORK/mc$n/single.conf" ] || check_cell mc "$n"
	[ -s "$WORK/mc$n/state/renew-index" ] || die "mailcert x$n wrote no renew index"
	if [ "$n" -le "$CB_MAX" ]; then
		check_cell cb "$n"
		last_cb=$n
	fi
done
last=${COUNTS##* }
check_no_net mc-confd "$last"
[ "$last_cb" = 0 ] || check_no_net cb "$last_cb"
RES[base0]=$(bench_cell base 0)
for n in $COUNTS; do
	for t in mc mc-confd mc-cold cb; do
		[ "$t" != cb ] || [ "$n" -le "$CB_MAX" ] || continue
		[ "$t" != mc ] || [ -f "$WORK/mc$n/single.conf" ] || continue
		RES[$t$n]=$(bench_cell "$t" "$n")
		echo "done $t x$n: ${RES[$t$n]}" >&2
	done
done

# row TOOL N LABEL - one table row from RES.
row() {
	local w c m
	[ -n "${RES[$1$2]:-}" ] || return 0
	read -r w c m <<<"${RES[$1$2]}"
	printf '%-9s %6s %10.1f %9.1f %8.1f\n' "$3" "$2" "$w" "$c" \
		"$(awk -v m="$m" 'BEGIN { print m / 1024 }')"
}

echo
echo "renew, nothing due: median of $RUNS runs (after 1 warm-up run)"
echo "(wall ms, CPU ms = user+sys, peak RSS MB; bench/measure.py)"
printf '%-9s %6s %10s %9s %8s\n' tool count "wall ms" "cpu ms" "RSS MB"
row base 0 "baseline"
for n in $COUNTS; do
	row mc "$n" mailcert
	row mc-confd "$n" mc-confd
	row mc-cold "$n" mc-cold
	row cb "$n" certbot
done
fit_args=()
for n in $COUNTS; do
	fit_args+=("$n=${RES[mc-confd$n]}=${RES[cb$n]:-}=${RES[mc$n]:-}")
done
python3 - "$CB_MAX" "${fit_args[@]}" <<'PY'
import sys
cb_max = int(sys.argv[1])
mc, cb, one = {}, {}, {}
for a in sys.argv[2:]:
    n, m, c, o = a.split("=")
    mc[int(n)] = [float(x) for x in m.split()]
    if c:
        cb[int(n)] = [float(x) for x in c.split()]
    if o:
        one[int(n)] = [float(x) for x in o.split()]
ns = sorted(mc)
# least squares t = a + b n + c n^2 on the wall medians (3x3 normal equations)
rows = [[1.0, n, float(n) ** 2] for n in ns]
ys = [mc[n][0] for n in ns]
def solve(A, y):
    k = len(A[0])
    M = [[sum(r[i] * r[j] for r in A) for j in range(k)] + [sum(r[i] * v for r, v in zip(A, y))]
         for i in range(k)]
    for i in range(k):
        p = max(range(i, k), key=lambda r: abs(M[r][i]))
        M[i], M[p] = M[p], M[i]
        if abs(M[i][i]) < 1e-300:
            return None
        for r in range(k):
            if r != i:
                f = M[r][i] / M[i][i]
                M[r] = [x - f * z for x, z in zip(M[r], M[i])]
    return [M[i][k] / M[i][i] for i in range(k)]
if len(ns) >= 3:
    a, b, c = solve(rows, ys)
    print("\ngrowth fit (mc-confd, wall): t(N) = %.2f ms + %.3f us*N + %.4f ns*N^2" % (a, b * 1000, c * 1e6))
    a2, b2 = solve([[1.0, n] for n in ns], ys)
    print("linear fit (mc-confd, wall): t(N) = %.2f ms + %.3f us*N" % (a2, b2 * 1000))
def say(ok, text):
    print("%s  %s" % ("PASS" if ok else "FAIL", text))
print()
for label, t in (("one file", one), ("conf.d", mc)):
    if 1000 in t and 10000 in t:
        r = t[10000][0] / t[1000][0]
        say(r <= 11, "%s: linear: t(10k)/t(1k) = %.1f <= 11" % (label, r))
    if 10000 in t:
        say(t[10000][0] <= 100, "%s: 10,000 certs: %.0f ms <= 100 ms" % (label, t[10000][0]))
        say(t[10000][2] < 10240, "%s: 10,000 certs: peak RSS %.1f MB < 10 MB" % (label, t[10000][2] / 1024))
    if 10000 in t and 10000 in cb:
        r = cb[10000][0] / t[10000][0]
        say(r >= 150, "%s: 10,000 certs: %.0fx faster than certbot (wall) >= 150x" % (label, r))
PY
