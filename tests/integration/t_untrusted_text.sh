#!/bin/bash
# t_untrusted_text - what a hook, a reload command or a dns hook writes
# (newlines, terminal escapes, BEL, invalid UTF-8) reaches the error text,
# the log lines, --json output and MAILCERT_ERROR only as one sanitized
# line: every child failure is summarised the same way ("exited with
# status N: first | ... | last"), and no control byte gets through.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
H=$TEST_TMP/hooks
mkdir -p "$H/deploy.d" "$H/failure.d"
# noisy - a program that prints escapes and several lines, then fails.
noisy() {
	cat >"$1" <<'EOF'
#!/bin/sh
printf '\033[2J\033[31mERROR\033[0m in red\a\r\n' >&2
printf 'second line \033]0;pwned-title\007\n' >&2
printf 'bad byte \351 here\n' >&2
exit 3
EOF
	chmod 755 "$1"
}
noisy "$H/deploy.d/10-noisy"
noisy "$TEST_TMP/noisy-dns-hook"
noisy "$TEST_TMP/noisy-reload"
printf '#!/bin/sh\nprintf "%%s" "$MAILCERT_ERROR" >> %s/failure.txt\n' "$TEST_TMP" \
	>"$H/failure.d/10-record"
chmod 755 "$H/failure.d/10-record"

{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert hooked "mail.example.test"
	conf_cert dns "mail.example.test" "challenge = dns-01" \
		"dns_hook = $TEST_TMP/noisy-dns-hook"
	conf_cert reload "mail.example.test" "targets = t"
	printf '%s\n' "[target t]" "type = files" "cert_file = $TEST_TMP/out/%n.crt" \
		"key_file = $TEST_TMP/out/%n.key" "reload = $TEST_TMP/noisy-reload"
} >"$MC_CONF"
mkdir -p "$TEST_TMP/out"

# clean_check FILE... - no control byte but LF, no invalid UTF-8, and the
# children's words arrive joined on one line.
clean_check() {
	python3 - "$@" <<'EOF' || fail "control characters leaked (see above)" "$@"
import sys
bad = False
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    for i, b in enumerate(data):
        if (b < 0x20 and b != 0x0a) or b == 0x7f:
            print("%s: control byte 0x%02x at offset %d" % (path, b, i))
            bad = True
            break
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        print("%s: invalid UTF-8: %s" % (path, e))
        bad = True
sys.exit(1 if bad else 0)
EOF
}

# 1. A failing deploy hook: logged as one line, exit 1.
mc_run issue hooked
assert_exit 1 "a failing deploy hook"
clean_check "$MC_OUT" "$MC_ERR"
assert_contains "$MC_ERR" "10-noisy exited with status 3: ?[2J?[31mERROR?[0m in red? | second line ?]0;pwned-title? | bad byte ? here"

# 2. A failing dns hook: the run fails, --json stays valid, MAILCERT_ERROR is clean.
rm -f "$TEST_TMP/failure.txt"
authz_forget # "hooked" validated mail.example.test: else no dns hook may run
mc_run --json issue dns
assert_exit 1 "a failing dns hook"
clean_check "$MC_OUT" "$MC_ERR" "$TEST_TMP/failure.txt"
python3 -m json.tool "$MC_OUT" >/dev/null || fail "--json output is not JSON" "$MC_OUT"
python3 - "$MC_OUT" <<'EOF' || fail "the JSON error is not the sanitized summary" "$MC_OUT"
import json, sys
runs = json.load(open(sys.argv[1]))
err = runs[0]["error"]
assert "noisy-dns-hook add _acme-challenge.mail.example.test exited with status 3: " in err, err
assert "in red? | second line" in err, err
EOF
assert_contains "$TEST_TMP/failure.txt" "exited with status 3: ?[2J?[31mERROR"
[ "$(wc -l <"$TEST_TMP/failure.txt")" = 0 ] || fail "MAILCERT_ERROR holds a newline" "$TEST_TMP/failure.txt"

# 3. A failing reload command: the deploy error quotes it the same way.
rm -f "$TEST_TMP/failure.txt"
mc_run issue reload
assert_exit 1 "a failing reload"
clean_check "$MC_OUT" "$MC_ERR" "$TEST_TMP/failure.txt"
assert_contains "$MC_ERR" "reload \`$TEST_TMP/noisy-reload\` exited with status 3: ?[2J?[31mERROR?[0m in red? | second line"
assert_contains "$TEST_TMP/failure.txt" "exited with status 3: ?[2J"
