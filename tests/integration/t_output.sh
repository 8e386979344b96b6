#!/bin/bash
# t_output - what an administrator reads, on a terminal or in cron mail:
#  - `log = auto` with output piped: no log lines (syslog) unless -v, or
#    unless stderr is systemd's JOURNAL_STREAM;
#  - stdout and stderr into one pipe (cron): every line whole and in order
#    (the error of the second cert after the first cert's report);
#  - `COMMAND --help` is one line and needs no config; `mailcert help`;
#  - a cert without verify endpoints is "deployed, not verified";
#  - an exim target whose Exim does not run fails its reload, saying so.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
files=$TEST_TMP/files
mkdir -p "$files"
{
	conf_global "$PEBBLE_DIR_URL" | sed 's/^log = stderr$/log = auto/'
	conf_cert good "good.example.test" "targets = plain"
	conf_cert bad "bad.example.test" "challenge = dns-01" "dns_hook = /bin/false"
	printf '%s\n' "[target plain]" "type = files" "cert_file = $files/%n.crt" \
		"key_file = $files/%n.key" "reload = /bin/true" ""
} >"$MC_CONF"

# 1. Piped, log = auto: info lines go to syslog; -v brings them to stderr.
mc_run issue good
assert_exit 0 "issue good"
assert_not_contains "$MC_ERR" "] info: " "log = auto, piped, no -v: the log goes to syslog"
assert_contains "$MC_OUT" "good: version 0001 deployed, not verified (no verify endpoints)"
assert_not_contains "$MC_OUT" "verified live"
authz_forget # the debug lines below are the challenge's: Pebble must ask one
mc_run -v issue good
assert_exit 0 "issue -v good"
assert_contains "$MC_ERR" "] info: good: ordering"
assert_contains "$MC_ERR" "] debug: "

# 2. Under systemd (stderr is the JOURNAL_STREAM) the log is on stderr.
: >"$TEST_TMP/journal"
JOURNAL_STREAM=$(stat -c '%d:%i' "$TEST_TMP/journal") \
	"$MAILCERT" -c "$MC_CONF" issue good >/dev/null 2>>"$TEST_TMP/journal" </dev/null ||
	fail "issue under JOURNAL_STREAM failed" "$TEST_TMP/journal"
assert_contains "$TEST_TMP/journal" "] info: good: ordering"
JOURNAL_STREAM=1:1 "$MAILCERT" -c "$MC_CONF" issue good >/dev/null 2>"$TEST_TMP/other" </dev/null ||
	fail "issue with a foreign JOURNAL_STREAM failed" "$TEST_TMP/other"
assert_not_contains "$TEST_TMP/other" "] info: " "a JOURNAL_STREAM that is not stderr is not the journal"

# 3. One pipe for both (cron mail): good's report, then bad's error, no
# line cut into another.
"$MAILCERT" -c "$MC_CONF" issue good bad 2>&1 </dev/null | cat >"$TEST_TMP/cron.txt"
good_line=$(grep -n 'good: version [0-9]* deployed' "$TEST_TMP/cron.txt" | cut -d: -f1)
bad_line=$(grep -n '^mailcert: issue bad' "$TEST_TMP/cron.txt" | cut -d: -f1)
[ -n "$good_line" ] && [ -n "$bad_line" ] || fail "the combined output lacks a line" "$TEST_TMP/cron.txt"
[ "$good_line" -lt "$bad_line" ] ||
	fail "stderr came before earlier stdout (line $bad_line before $good_line)" "$TEST_TMP/cron.txt"
if grep -vE '^(good|bad): |^mailcert: ' "$TEST_TMP/cron.txt" >"$TEST_TMP/spliced"; then
	fail "lines were spliced into each other" "$TEST_TMP/spliced"
fi

# 4. --help needs no config, one line per command; `help`.
export MAILCERT_CONFIG=$TEST_TMP/no-such.conf
"$MAILCERT" help >"$TEST_TMP/help.txt" || fail "mailcert help failed" "$TEST_TMP/help.txt"
cmds=$(sed -n 's/^  \([a-z]*\) .*/\1/p; s/^  \([a-z]*\)$/\1/p' "$TEST_TMP/help.txt")
[ "$(echo "$cmds" | wc -w)" -ge 10 ] || fail "help lists too few commands" "$TEST_TMP/help.txt"
for c in $cmds; do
	"$MAILCERT" "$c" --help >"$TEST_TMP/h.out" 2>&1 || fail "$c --help failed" "$TEST_TMP/h.out"
	[ "$(wc -l <"$TEST_TMP/h.out")" = 1 ] || fail "$c --help is not one line" "$TEST_TMP/h.out"
	assert_contains "$TEST_TMP/h.out" "usage: mailcert $c"
	"$MAILCERT" help "$c" >"$TEST_TMP/h2.out" 2>&1 || fail "help $c failed" "$TEST_TMP/h2.out"
	cmp -s "$TEST_TMP/h.out" "$TEST_TMP/h2.out" || fail "help $c differs from $c --help"
done
"$MAILCERT" help nosuch >/dev/null 2>&1 && fail "help of an unknown command succeeded"
unset MAILCERT_CONFIG

# 5. Exim's built-in reload with no Exim running: a failure that says so.
if [ -e /run/exim4/exim.pid ] || [ -d /run/systemd/system ]; then
	[ -z "${CI:-}" ] || fail "CI runs an Exim or systemd; the exim reload case needs neither"
	log "skipping the exim reload case: this host runs Exim or systemd"
else
	printf '%s\n' "[target exim]" "cert_file = $files/exim-%n.crt" \
		"key_file = $files/exim-%n.key" "group = root" "" >>"$MC_CONF"
	sed -i 's/^targets = plain$/targets = plain exim/' "$MC_CONF"
	mc_run issue good
	assert_exit 1 "issue with an exim target and no Exim"
	assert_contains "$MC_ERR" "target exim: reload"
	assert_contains "$MC_ERR" "found running"
	assert_contains "$MC_ERR" "is the daemon running?"
	assert_not_contains "$MC_OUT" "deployed, not verified"
fi
log "ok"
