#!/bin/bash
# t_install - `cmake --install` with the configured prefix (default
# /usr/local) into a DESTDIR: the expected files; `man -l` renders both
# pages without warnings; the unit and the cron line name the installed
# binary; every ReadWritePaths entry may be missing ("-"). Then, in a
# private mount namespace where DESTDIR's prefix is mounted over the real
# one (so the installed paths are the real paths, and nothing on the host
# changes): systemd-analyze verify accepts the installed unit and timer
# as they are, the unit's ExecStart issues a certificate from Pebble
# against a test config, and the cron line's command renews it when
# systemd does not run and does nothing when it does.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd cmake man systemd-analyze unshare script
[ "$(id -u)" = 0 ] || skip_or_fail "t_install mounts in a private namespace: needs root"
build=${MC_BUILD_DIR:?ctest sets MC_BUILD_DIR}
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
[ -n "$prefix" ] || fail "no CMAKE_INSTALL_PREFIX in $build/CMakeCache.txt"
[ "$prefix" = /usr/local ] || log "note: the build's prefix is $prefix, not the default /usr/local"
dest=$TEST_TMP/dest
DESTDIR=$dest cmake --install "$build" >"$TEST_TMP/install.log" 2>&1 ||
	fail "cmake --install failed" "$TEST_TMP/install.log"
(cd "$dest" && find . -type f -o -type l | sort) >"$TEST_TMP/files"
sed "s|@P@|.$prefix|" >"$TEST_TMP/files.expect" <<'EOT'
@P@/bin/mailcert
@P@/lib/systemd/system/mailcert.service
@P@/lib/systemd/system/mailcert.timer
@P@/share/doc/mailcert/examples/hooks/notify.example
@P@/share/doc/mailcert/examples/hooks/postmap-sni.example
@P@/share/doc/mailcert/examples/mailcert.conf
@P@/share/doc/mailcert/examples/mailcert.cron
@P@/share/man/man1/mailcert.1
@P@/share/man/man5/mailcert.conf.5
EOT
diff -u "$TEST_TMP/files.expect" "$TEST_TMP/files" >"$TEST_TMP/files.diff" ||
	fail "installed files differ" "$TEST_TMP/files.diff"

for page in man1/mailcert.1 man5/mailcert.conf.5; do
	MANWIDTH=80 man --warnings -l "$dest$prefix/share/man/$page" >"$TEST_TMP/page.txt" 2>"$TEST_TMP/page.err" ||
		fail "man -l $page failed" "$TEST_TMP/page.err"
	[ ! -s "$TEST_TMP/page.err" ] || fail "man -l $page warns" "$TEST_TMP/page.err"
	assert_contains "$TEST_TMP/page.txt" "mailcert"
done

# The unit and the cron line call the installed binary.
unit=$dest$prefix/lib/systemd/system/mailcert.service
cron=$dest$prefix/share/doc/mailcert/examples/mailcert.cron
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
assert_eq "$exec_start" "$prefix/bin/mailcert renew" "ExecStart of the installed unit"
cron_cmd=$(grep -E '^[0-9*]' "$cron" | sed -E 's/^([^ ]+ +){5}root +//')
assert_contains "$cron" "$prefix/bin/mailcert -q renew"
case $cron_cmd in
'[ -d /run/systemd/system ] ||'*) ;;
*) fail "the cron line is not guarded against running beside the timer: $cron_cmd" ;;
esac
grep '^ReadWritePaths=' "$unit" | sed 's/^ReadWritePaths=//' | tr ' ' '\n' | sed '/^$/d' \
	>"$TEST_TMP/rw"
[ -s "$TEST_TMP/rw" ] || fail "the unit has no ReadWritePaths" "$unit"
if grep -v '^-' "$TEST_TMP/rw" >"$TEST_TMP/rw.bad"; then
	fail "ReadWritePaths without '-' fail the unit on hosts that lack them" "$TEST_TMP/rw.bad"
fi

# The example config parses (with a state_dir of our own).
sed "s|^;state_dir .*|state_dir = $TEST_TMP/state0|" \
	"$dest$prefix/share/doc/mailcert/examples/mailcert.conf" >"$TEST_TMP/example.conf"
"$dest$prefix/bin/mailcert" -c "$TEST_TMP/example.conf" status >"$TEST_TMP/status.out" 2>&1 ||
	fail "the example config does not load" "$TEST_TMP/status.out"

# in_ns - run "$@" in a private mount namespace with DESTDIR's prefix over
# the real prefix and a private, empty /run (SYSTEMD=1: with
# /run/systemd/system, the sign that systemd runs).
in_ns() {
	# shellcheck disable=SC2016
	unshare --mount --propagation private bash -c '
		set -e
		mount --bind "$1" "$2"
		mount -t tmpfs -o mode=0755 tmpfs /run
		[ "$3" = 0 ] || mkdir -p /run/systemd/system
		shift 3
		exec "$@"' _ "$dest$prefix" "$prefix" "${SYSTEMD:-0}" "$@"
}

in_ns env MANPATH="$prefix/share/man" systemd-analyze verify \
	"$prefix/lib/systemd/system/mailcert.service" "$prefix/lib/systemd/system/mailcert.timer" \
	>"$TEST_TMP/verify.log" 2>&1 || fail "systemd-analyze verify failed" "$TEST_TMP/verify.log"

# ExecStart by hand, as systemd would run it (clean environment; the test
# config instead of /etc/mailcert/mailcert.conf): the first renew issues.
pebble_start
write_config mail "mail.example.test"
read -r -a exec_argv <<<"$exec_start"
in_ns env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin MAILCERT_CONFIG="$MC_CONF" "${exec_argv[@]}" \
	>"$TEST_TMP/exec.out" 2>&1 || fail "the unit's ExecStart failed" "$TEST_TMP/exec.out"
assert_symlink "$(cert_dir mail)/current" versions/0001

# The cron line's command, through cron's SHELL and PATH. A pseudo-TTY
# (script) makes --jitter skip its sleep, as it does on a terminal.
cron_path=$(sed -n 's/^PATH=//p' "$cron")
write_config mail "mail.example.test" "renew_before = 3650d"
cron_run() {
	in_ns env -i PATH="$cron_path" MAILCERT_CONFIG="$MC_CONF" \
		script -qec "/bin/sh -c '$cron_cmd'" /dev/null >"$TEST_TMP/cron$1.out" 2>&1
}
SYSTEMD=1 cron_run 1 || fail "the cron line fails where systemd runs" "$TEST_TMP/cron1.out"
assert_symlink "$(cert_dir mail)/current" versions/0001
[ "$(version_count mail)" = 1 ] || fail "the cron line ran mailcert beside the systemd timer"
SYSTEMD=0 cron_run 2 || fail "the cron line failed" "$TEST_TMP/cron2.out"
assert_symlink "$(cert_dir mail)/current" versions/0002
log "ok"
