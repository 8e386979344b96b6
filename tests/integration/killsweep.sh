# shellcheck shell=bash disable=SC2034
#
# killsweep.sh - kill -9 of a mailcert command at each of its renames and
# fsyncs, judged from the daemons' side. Sourced by t_deploy_crash.sh (a
# representative subset, for CI) and bench/killsweep.sh (every point).
# Source lib.sh first.
#
# A point is (SYSCALL, N): strace runs the command and delivers SIGKILL when
# it enters its Nth call of SYSCALL (rename, renameat, renameat2, fsync,
# fdatasync), i.e. just before that call: killing at the fsync that follows
# a rename is "just after the rename". Accounting is per syscall, and only
# the mailcert process is traced (not the reload commands it runs).
#
# After each kill:
#   1. every daemon is asked which key and certificate files it reads
#      (postconf, doveconf, exim -bP) and those files must hold a matching
#      pair (mailstack_loaded): a restart at this instant must work;
#   2. `mailcert renew` (nothing is due) must exit 0;
#   3. every daemon must then load a matching pair of the version `current`
#      names, every endpoint must serve that leaf (a real handshake), and no
#      temporary file, staging directory or unused deployed version of ours
#      may be left behind.
#
#   ks_setup                 Pebble, Postfix, Dovecot, Exim; cert "mail" with
#                            the three targets; versions 0001 and 0002 issued
#   ks_points ARGS_FN        run the command ARGS_FN builds (KS_ARGS) once,
#                            for real, under strace; print "SYSCALL N WHAT" for
#                            each rename/fsync it made (WHAT: the name renamed
#                            to, or the name of the file or directory synced)
#   ks_point LABEL ARGS_FN SYSCALL N [WHAT]
#                            one point; adds a row to the table; returns 1
#                            (with KS_WHY) when the judgement fails
#   ks_around REGEX          filter ks_points: the renames whose label matches
#                            and the point right after each
#   ks_table                 print the table (points x outcome)
#   ks_loaded_all            KS_LOADED "postfix=V dovecot=V exim=V": what each
#                            daemon would load now (1 and KS_WHY: a mismatch)
#   ks_judge_after_renew     step 3 above (1 and KS_WHY on failure)
#   ks_args_issue ks_args_renew ks_args_deploy ks_args_rollback
#                            the four commands of the sweep

# shellcheck source=mailstack.sh
. "$(dirname "${BASH_SOURCE[0]}")/mailstack.sh"

KS_SYSCALLS=rename,renameat,renameat2,fsync,fdatasync
# LeakSanitizer cannot run under ptrace: an ASan build checks leaks elsewhere
KS_NOLEAK=(-E "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
KS_ROWS=()
KS_DAEMONS=(postfix dovecot exim)

# ks_setup - the daemons, the config and two issued versions.
ks_setup() {
	[ "$(id -u)" = 0 ] || skip_or_fail "needs root (the daemons drop privileges)"
	require_cmd strace
	pebble_start
	mailstack_start mail
	KS_TLS=$MAILSTACK_TLS
	KS_EPS=("$POSTFIX_PORT_SMTP smtp" "$POSTFIX_PORT_SMTPS smtps"
		"$DOVECOT_PORT_IMAP imap" "$DOVECOT_PORT_POP3S pop3s"
		"$EXIM_PORT_SMTP smtp" "$EXIM_PORT_SMTPS smtps")
	local e port mode urls=""
	for e in "${KS_EPS[@]}"; do
		read -r port mode <<<"$e"
		urls+="$mode://127.0.0.1:$port "
	done
	{
		conf_global
		conf_cert mail "mail.example.test" "targets = postfix dovecot exim" \
			"verify = $urls" "verify_timeout = 10s"
		mailstack_targets
	} >"$MC_CONF"
	mc_run issue mail
	assert_exit 0 "first issue"
	mc_run issue mail
	assert_exit 0 "second issue"
	KS_CUR=$MC_STATE/certs/mail/current
}

# ks_current - the version number `current` names (e.g. 0002).
ks_current() {
	local t
	t=$(readlink "$KS_CUR") || return 1
	echo "${t#versions/}"
}

# ks_version_of SHA - KS_V: the stored version whose leaf has SHA, or "?"
# (the fingerprints of the versions are remembered in KS_SHA_OF; call it
# outside $(...) so that they are).
declare -A KS_SHA_OF=()
ks_version_of() {
	local d v
	KS_V="?"
	for d in "$MC_STATE"/certs/mail/versions/[0-9]*; do
		v=${d##*/}
		[ -n "${KS_SHA_OF[$v]:-}" ] || KS_SHA_OF[$v]=$(mail_cert_sha256 "$d/cert.pem")
		if [ "${KS_SHA_OF[$v]}" = "$1" ]; then
			KS_V=$v
			return 0
		fi
	done
}

# ks_args_issue / ks_args_renew / ks_args_deploy / ks_args_rollback - KS_ARGS.
ks_args_issue() { KS_ARGS=(issue mail); }
ks_args_renew() { KS_ARGS=(renew --force mail); }
ks_args_rollback() {
	# a deployment first (not killed), so that there is a version to go
	# back to however many rollbacks came before
	ks_args_deploy
	"$MAILCERT" -q -c "$MC_CONF" "${KS_ARGS[@]}" >/dev/null 2>&1 ||
		fail "${KS_ARGS[*]} (before a rollback) failed"
	KS_ARGS=(rollback mail)
}
ks_args_deploy() {
	# the newest stored version that is not current: every deploy writes
	local cur v
	cur=$(ks_current)
	for v in $(find "$MC_STATE/certs/mail/versions" -mindepth 1 -maxdepth 1 \
		-name '[0-9]*' -printf '%f\n' | sort -r); do
		[ "$v" != "$cur" ] || continue
		KS_ARGS=(deploy mail --version "$((10#$v))")
		return 0
	done
	fail "ks_args_deploy: no second version"
}

# ks_points - the (SYSCALL, N) points of one real run of the command, with
# a label: the name a rename gives, or the file or directory an fsync syncs.
ks_points() {
	local trace=$TEST_TMP/ks-trace.txt
	"$1"
	strace -qq -y "${KS_NOLEAK[@]}" -o "$trace" -e trace="$KS_SYSCALLS" -- \
		"$MAILCERT" -q -c "$MC_CONF" "${KS_ARGS[@]}" >/dev/null 2>"$TEST_TMP/ks-count.err" </dev/null ||
		fail "${KS_ARGS[*]} failed when run to count its syscalls" "$TEST_TMP/ks-count.err"
	awk '
		match($0, /^[a-z0-9_]+\(/) {
			sc = substr($0, 1, RLENGTH - 1); n[sc]++
			if (sc ~ /^rename/) {               # the new name: last quoted string
				split($0, q, "\""); label = q[length(q) - 1]
			} else {                             # fsync(5</path>)
				label = $0; sub(/^[^<]*</, "", label); sub(/>.*$/, "", label)
			}
			sub(/\/+$/, "", label); sub(/.*\//, "", label)
			if (label ~ /^\..*\.[0-9a-f]{12}$/) label = "(temp of " substr(label, 2, length(label) - 14) ")"
			print sc, n[sc], label
		}' "$trace"
}

# ks_around REGEX - filter ks_points output: each rename whose label
# matches REGEX, and the point right after it (the kill just after it).
ks_around() {
	awk -v re="$1" '
		take { print; take = 0 }
		$1 ~ /^rename/ && $3 ~ re { print; take = 1 }'
}

# ks_loaded_all - "postfix=V dovecot=V exim=V" of what each daemon would
# load now; returns 1 (KS_WHY set) when one of them is not a matching pair.
ks_loaded_all() {
	local d out line=""
	for d in "${KS_DAEMONS[@]}"; do
		out=$(mailstack_loaded "$d") || {
			KS_WHY="$d: $out"
			return 1
		}
		ks_version_of "${out#ok }"
		line+="$d=$KS_V "
	done
	KS_LOADED=${line% }
}

# ks_leftovers - print our temporary and staging files that are left.
ks_leftovers() {
	find "$KS_TLS" "$MC_STATE" \( -name '.new-*' -o -regex '.*/\.[^/]*\.[0-9a-f]\{12\}' \) -print
	local s live v
	for s in "$KS_TLS"/*/.mailcert.mail.*; do
		[ -d "$s" ] || continue
		live=$(readlink "$s/live")
		for v in "$s"/v*; do
			[ "$(basename "$v")" = "$live" ] || echo "$v"
		done
	done
}

# ks_judge_after_renew - step 3 of the header; sets KS_WHY on failure.
ks_judge_after_renew() {
	local cur want d out e port mode got left
	cur=$(ks_current) || { KS_WHY="current is missing"; return 1; }
	want=$(mail_cert_sha256 "$KS_CUR/cert.pem")
	for d in "${KS_DAEMONS[@]}"; do
		out=$(mailstack_loaded "$d") || { KS_WHY="after renew: $d: $out"; return 1; }
		ks_version_of "${out#ok }"
		[ "${out#ok }" = "$want" ] ||
			{ KS_WHY="after renew: $d would load $KS_V, current is $cur"; return 1; }
	done
	for e in "${KS_EPS[@]}"; do
		read -r port mode <<<"$e"
		got=$(mail_served_sha256 127.0.0.1 "$port" "$mode" mail.example.test)
		ks_version_of "$got"
		[ "$got" = "$want" ] ||
			{ KS_WHY="after renew: $mode:$port serves $KS_V, current is $cur"; return 1; }
	done
	left=$(ks_leftovers)
	[ -z "$left" ] || { KS_WHY="after renew, left behind: $(echo $left)"; return 1; }
	KS_FINAL=$cur
}

# ks_point - one kill point (see the header); WHAT names it in the table.
ks_point() {
	local label=$1 args_fn=$2 sc=$3 n=$4 what=${5:-} rc before after
	KS_WHY="" KS_LOADED="" KS_FINAL=""
	"$args_fn"
	before=$(ks_current)
	# (the subshell's own "Killed" notice goes to /dev/null; rc 137 = SIGKILL)
	(
		timeout -k 5 120 strace -qq "${KS_NOLEAK[@]}" -o /dev/null \
			-e inject="$sc:signal=KILL:when=$n" -- \
			"$MAILCERT" -q -c "$MC_CONF" "${KS_ARGS[@]}" >"$TEST_TMP/ks-kill.out" 2>&1 </dev/null
		exit $?
	) 2>/dev/null
	rc=$?
	after=$(ks_current)
	if [ "$rc" != 137 ]; then
		KS_ROWS+=("$(printf '%-9s %-12s %-26s %-34s %s' "$label" "$sc#$n" "$what" "(finished, exit $rc)" "-")")
		return 0
	fi
	if ! ks_loaded_all; then
		KS_ROWS+=("$(printf '%-9s %-12s %-26s %-34s %s' "$label" "$sc#$n" "$what" "MISMATCH" "FAIL: $KS_WHY")")
		return 1
	fi
	mc_run renew
	if [ "$MC_RC" != 0 ]; then
		KS_WHY="renew after the kill exited $MC_RC: $(tail -n 3 "$MC_ERR" | tr '\n' ' ')"
	else
		ks_judge_after_renew
	fi
	KS_ROWS+=("$(printf '%-9s %-12s %-26s %-34s %s' "$label" "$sc#$n" "$what" "cur $before->$after $KS_LOADED" \
		"${KS_WHY:+FAIL: }${KS_WHY:-converged to $KS_FINAL}")")
	[ -z "$KS_WHY" ]
}

# ks_table - the points x outcome table.
ks_table() {
	printf '%-9s %-12s %-26s %-34s %s\n' COMMAND "KILLED AT" "(RENAMED TO / SYNCED)" \
		"AFTER THE KILL: daemons would load" "NEXT RENEW"
	printf '%s\n' "${KS_ROWS[@]}"
}
