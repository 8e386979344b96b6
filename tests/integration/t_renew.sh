#!/bin/bash
# t_renew - `mailcert renew`: nothing due is one line and no network at all
# (and no --jitter sleep);
# due by renew_before renews; --force; hooks get exactly the documented
# environment; a failing hook gives exit 1 but the deployment stays; a
# hanging hook is killed at hook_timeout; failure hooks get MAILCERT_ERROR;
# a second concurrent run exits 4 at once.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
H=$TEST_TMP/hooks
mkdir -p "$H/pre.d" "$H/deploy.d" "$H/post.d" "$H/failure.d"
for ev in pre post; do
	printf '#!/bin/sh\necho "$MAILCERT_EVENT $MAILCERT_RUN_ID" >> %s/events\n' \
		"$TEST_TMP" >"$H/$ev.d/10-log"
	chmod 755 "$H/$ev.d/10-log"
done
printf '#!/bin/sh\n/usr/bin/env | sort > %s/deploy.env\necho deploy >> %s/events\n' \
	"$TEST_TMP" "$TEST_TMP" >"$H/deploy.d/10-env"
printf '#!/bin/sh\necho "$MAILCERT_ERROR" > %s/failure.txt\n' "$TEST_TMP" \
	>"$H/failure.d/10-err"
chmod 755 "$H/deploy.d/10-env" "$H/failure.d/10-err"

write_config mail "mail.example.test smtp.example.test"
mc_run issue mail
assert_exit 0 "first issue"
rm -f "$TEST_TMP/events"

# 1. Nothing due: exit 0, one line, no request (Pebble is stopped, so any
# request would fail; the directory stays the configured one, since a
# changed directory makes the cert due).
free_port dead
pebble_stop
mc_run renew
assert_exit 0 "renew with nothing due"
[ "$(wc -l <"$MC_OUT")" = 1 ] || fail "nothing due must print one line" "$MC_OUT"
assert_contains "$MC_OUT" "nothing due"
[ ! -s "$MC_ERR" ] || fail "nothing due must print nothing on stderr" "$MC_ERR"
[ ! -e "$TEST_TMP/events" ] || fail "no hook may run when nothing is due"
mc_run -q renew
assert_exit 0 "quiet renew"
[ ! -s "$MC_OUT" ] || fail "-q renew must print nothing" "$MC_OUT"
# --jitter sleeps only when something is due (cron runs it twice a day).
start=$(date +%s)
MC_RUN_TIMEOUT=30 mc_run -q renew --jitter 1h
assert_exit 0 "renew --jitter with nothing due"
[ $(($(date +%s) - start)) -lt 10 ] || fail "--jitter slept although nothing was due"

# 2. Due by renew_before (Pebble issues 5-year certificates); a new Pebble.
pebble_start
write_config mail "mail.example.test smtp.example.test" "renew_before = 3650d"
mc_run renew
assert_exit 0 "renew when due"
assert_symlink "$(cert_dir mail)/current" versions/0002
assert_eq "$(cat "$TEST_TMP/events" | cut -d' ' -f1 | tr '\n' ' ')" "pre deploy post " "hook order"
run_ids=$(grep -E '^(pre|post) ' "$TEST_TMP/events" | cut -d' ' -f2 | sort -u | wc -l)
assert_eq "$run_ids" 1 "pre and post see the same MAILCERT_RUN_ID"

# 3. The deploy hook's environment is exactly the documented one.
lineage=$MC_STATE/certs/mail/current
cat >"$TEST_TMP/env.expect" <<EOT
MAILCERT_CERT_FILE=$lineage/cert.pem
MAILCERT_CERT_NAME=mail
MAILCERT_CHAIN_FILE=$lineage/chain.pem
MAILCERT_ECDSA_CERT_FILE=$lineage/cert.pem
MAILCERT_ECDSA_CHAIN_FILE=$lineage/chain.pem
MAILCERT_ECDSA_FULLCHAIN_FILE=$lineage/fullchain.pem
MAILCERT_ECDSA_KEY_FILE=$lineage/privkey.pem
MAILCERT_EVENT=deploy
MAILCERT_FULLCHAIN_FILE=$lineage/fullchain.pem
MAILCERT_KEY_FILE=$lineage/privkey.pem
MAILCERT_NAMES=mail.example.test smtp.example.test
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RENEWED_DOMAINS=mail.example.test smtp.example.test
RENEWED_LINEAGE=$lineage
EOT
grep -vE '^(MAILCERT_RUN_ID|PWD|SHLVL|_)=' "$TEST_TMP/deploy.env" >"$TEST_TMP/env.got"
diff -u "$TEST_TMP/env.expect" "$TEST_TMP/env.got" >"$TEST_TMP/env.diff" ||
	fail "deploy hook environment differs" "$TEST_TMP/env.diff"
grep -qE '^MAILCERT_RUN_ID=[0-9a-f-]{36}$' "$TEST_TMP/deploy.env" ||
	fail "MAILCERT_RUN_ID is not a UUID" "$TEST_TMP/deploy.env"
for f in cert.pem chain.pem fullchain.pem privkey.pem; do
	assert_file "$lineage/$f"
done

# 4. A failing hook: exit 1, the new version stays deployed.
printf '#!/bin/sh\necho hook-broke >&2\nexit 7\n' >"$H/deploy.d/20-fails"
chmod 755 "$H/deploy.d/20-fails"
mc_run renew --force
assert_exit 1 "a failing hook"
assert_contains "$MC_ERR" "20-fails"
assert_symlink "$(cert_dir mail)/current" versions/0003
rm "$H/deploy.d/20-fails"

# 5. A hanging hook is killed at hook_timeout.
printf '#!/bin/sh\nexec sleep 120\n' >"$H/deploy.d/30-hangs"
chmod 755 "$H/deploy.d/30-hangs"
write_config mail "mail.example.test smtp.example.test" "hook_timeout = 2s"
start=$(date +%s)
mc_run renew --force
assert_exit 1 "a hanging hook"
assert_contains "$MC_ERR" "timed out"
[ $(($(date +%s) - start)) -lt 30 ] || fail "the hanging hook was not killed in time"
assert_symlink "$(cert_dir mail)/current" versions/0004
rm "$H/deploy.d/30-hangs"

# 6. A failed renewal: failure hooks get MAILCERT_ERROR; current stays.
MC_DIRECTORY=https://127.0.0.1:$dead/dir write_config mail "mail.example.test smtp.example.test" "renew_before = 3650d"
mc_run renew
assert_exit 1 "renewal against a dead CA"
assert_file "$TEST_TMP/failure.txt"
assert_contains "$TEST_TMP/failure.txt" "127.0.0.1:$dead"
assert_symlink "$(cert_dir mail)/current" versions/0004

# 7. Two concurrent runs: the second exits 4 within a second. The first
# run is held inside its pre hook (it holds the lock by then) until the
# second has finished, so nothing here races: no probe takes the lock.
write_config mail "mail.example.test smtp.example.test"
printf '#!/bin/sh\ntouch %s/holding\nn=0\nwhile [ ! -e %s/release ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done\n' \
	"$TEST_TMP" "$TEST_TMP" >"$H/pre.d/05-hold"
chmod 755 "$H/pre.d/05-hold"
"$MAILCERT" -c "$MC_CONF" renew --force >"$TEST_TMP/bg.out" 2>&1 &
bgpid=$!
for ((i = 0; i < 300; i++)); do
	[ ! -e "$TEST_TMP/holding" ] || break
	sleep 0.1
done
[ -e "$TEST_TMP/holding" ] || fail "the first renew never reached its pre hook" "$TEST_TMP/bg.out"
start=$(date +%s%N)
mc_run renew --force
ms=$((($(date +%s%N) - start) / 1000000))
touch "$TEST_TMP/release"
assert_exit 4 "a second concurrent renew"
[ "$ms" -lt 1000 ] || fail "the second run took $ms ms"
wait "$bgpid" || fail "the first renew failed" "$TEST_TMP/bg.out"
rm "$H/pre.d/05-hold"
log "ok"
