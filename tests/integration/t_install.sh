#!/bin/bash
# t_install - `cmake --install` into a DESTDIR lists the expected files;
# `man -l` renders both pages without warnings; systemd-analyze verify
# accepts the service and the timer (with the installed binary and pages).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd cmake man systemd-analyze
build=${MC_BUILD_DIR:?ctest sets MC_BUILD_DIR}
dest=$TEST_TMP/dest
DESTDIR=$dest cmake --install "$build" --prefix /usr >"$TEST_TMP/install.log" 2>&1 ||
	fail "cmake --install failed" "$TEST_TMP/install.log"
(cd "$dest" && find . -type f -o -type l | sort) >"$TEST_TMP/files"
cat >"$TEST_TMP/files.expect" <<'EOT'
./usr/bin/mailcert
./usr/lib/systemd/system/mailcert.service
./usr/lib/systemd/system/mailcert.timer
./usr/share/doc/mailcert/examples/hooks/notify.example
./usr/share/doc/mailcert/examples/hooks/postmap-sni.example
./usr/share/doc/mailcert/examples/mailcert.conf
./usr/share/doc/mailcert/examples/mailcert.cron
./usr/share/man/man1/mailcert.1
./usr/share/man/man5/mailcert.conf.5
EOT
diff -u "$TEST_TMP/files.expect" "$TEST_TMP/files" >"$TEST_TMP/files.diff" ||
	fail "installed files differ" "$TEST_TMP/files.diff"

for page in man1/mailcert.1 man5/mailcert.conf.5; do
	MANWIDTH=80 man --warnings -l "$dest/usr/share/man/$page" >"$TEST_TMP/page.txt" 2>"$TEST_TMP/page.err" ||
		fail "man -l $page failed" "$TEST_TMP/page.err"
	[ ! -s "$TEST_TMP/page.err" ] || fail "man -l $page warns" "$TEST_TMP/page.err"
	assert_contains "$TEST_TMP/page.txt" "mailcert"
done

# The example config parses (with a state_dir of our own).
sed "s|^;state_dir .*|state_dir = $TEST_TMP/state|" \
	"$dest/usr/share/doc/mailcert/examples/mailcert.conf" >"$TEST_TMP/example.conf"
"$dest/usr/bin/mailcert" -c "$TEST_TMP/example.conf" status >"$TEST_TMP/status.out" 2>&1 ||
	fail "the example config does not load" "$TEST_TMP/status.out"

units=$TEST_TMP/units
mkdir -p "$units"
sed "s|/usr/bin/mailcert|$dest/usr/bin/mailcert|" "$dest/usr/lib/systemd/system/mailcert.service" \
	>"$units/mailcert.service"
cp "$dest/usr/lib/systemd/system/mailcert.timer" "$units/"
MANPATH=$dest/usr/share/man systemd-analyze verify "$units/mailcert.service" "$units/mailcert.timer" \
	>"$TEST_TMP/verify.log" 2>&1 || fail "systemd-analyze verify failed" "$TEST_TMP/verify.log"
log "ok"
