#!/bin/bash
# t_symlink_race - a user who can write the parent of a target directory
# that does not exist yet cannot make mailcert (root) change the mode or
# group of another file. The race is made deterministic with strace: every
# mkdir/mkdirat in the attacker's directory is held for 1.5 s after it
# returns, and meanwhile the "attacker" (the user nobody, via setpriv)
# moves the new directory away and puts a symlink to a stand-in for
# /etc/shadow in its place. mailcert must notice (it reopens what it made
# with O_NOFOLLOW and checks it) and change nothing: the victim keeps its
# mode and group. Also: a symlink the attacker planted beforehand, as the
# directory itself or as a parent, is not followed; a parent link in a
# directory only root can write is.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (the attacker is the user nobody)"
require_cmd strace setpriv
pebble_start
ATT=$TEST_TMP/att
VICTIM=$TEST_TMP/shadow
chmod 0711 "$TEST_TMP" # nobody must reach its own directory
mkdir -p "$ATT"
chown nobody "$ATT"
chmod 0755 "$ATT"
printf 'root:*:19000:0:99999:7:::\n' >"$VICTIM"
chown root:root "$VICTIM"
chmod 0640 "$VICTIM"

# config DIR - cert race, a files target with its key and certificate in DIR.
config() {
	{
		conf_global
		conf_cert race "race.example.test" "targets = files"
		printf '%s\n' "[target files]" "type = files" "cert_file = $1/%n.crt" \
			"key_file = $1/%n.key" "group = daemon" "mode = 0640" "reload = /bin/true"
	} >"$MC_CONF"
}

# as_attacker CMD - run a shell command as nobody, in $ATT.
as_attacker() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c "cd '$ATT' && $1"
}

# victim_intact - the victim's mode, owner and group are unchanged.
victim_intact() {
	local got
	got=$(stat -c '%a %U %G' "$VICTIM")
	[ "$got" = "640 root root" ] || fail "the victim is now '$got' (was '640 root root'): $1"
}

{
	conf_global
	conf_cert race "race.example.test"
} >"$MC_CONF"
mc_run issue race
assert_exit 0 "issue (no targets yet)"

# 1. The race: the new directory is swapped for a link to the victim
#    between mkdir and what follows.
config "$ATT/newdir"
# (LeakSanitizer cannot run under ptrace: an ASan build checks leaks elsewhere)
strace -qq -E "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	-o "$TEST_TMP/race.strace" -P "$ATT" -P "$ATT/newdir" \
	-e trace=mkdir,mkdirat -e inject=mkdir,mkdirat:delay_exit=1500000 \
	"$MAILCERT" -c "$MC_CONF" deploy race >"$TEST_TMP/race.out" 2>"$TEST_TMP/race.err" </dev/null &
pid=$!
for ((n = 0; n < 1000; n++)); do
	[ -d "$ATT/newdir" ] && [ ! -L "$ATT/newdir" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.01
done
[ -d "$ATT/newdir" ] || fail "mailcert never created $ATT/newdir" "$TEST_TMP/race.err" "$TEST_TMP/race.strace"
as_attacker "mv newdir moved && ln -s '$VICTIM' newdir" || fail "the attacker could not swap the directory"
wait "$pid"
rc=$?
grep -q 'newdir.*DELAYED' "$TEST_TMP/race.strace" ||
	fail "strace did not delay the mkdir of newdir (the race was not run)" "$TEST_TMP/race.strace"
victim_intact "after the race"
[ "$rc" = 1 ] || fail "deploy exited $rc during the race, expected 1" "$TEST_TMP/race.err"
grep -q "was replaced while mailcert created it" "$TEST_TMP/race.err" ||
	fail "the error does not say the directory was replaced" "$TEST_TMP/race.err"
[ ! -e "$ATT/moved/race.key" ] || fail "a key was written into the directory that was swapped away"

# 2. A link planted beforehand as the target directory is not followed.
as_attacker "rm -f newdir && ln -s '$TEST_TMP' newdir2"
config "$ATT/newdir2"
mc_run deploy race
assert_exit 1 "target directory is the attacker's symlink"
assert_contains "$MC_ERR" "symbolic link"
victim_intact "after the planted directory link"
assert_no_path "$TEST_TMP/race.key" "a key written through the planted link"

# 3. ... nor as a parent, since nobody can write the directory holding it.
config "$ATT/newdir2/sub"
mc_run deploy race
assert_exit 1 "a parent is the attacker's symlink"
assert_contains "$MC_ERR" "in a directory that others can write"
assert_no_path "$TEST_TMP/sub" "a directory created through the planted link"

# 4. A parent link that only root could have made is followed.
mkdir -p "$TEST_TMP/rootonly" "$TEST_TMP/real"
chmod 0755 "$TEST_TMP/rootonly"
ln -s "$TEST_TMP/real" "$TEST_TMP/rootonly/link"
config "$TEST_TMP/rootonly/link/tls"
mc_run deploy race
assert_exit 0 "a parent link in a root-only directory"
[ "$(stat -c '%a %G' "$TEST_TMP/real/tls")" = "750 daemon" ] ||
	fail "the new key directory is $(stat -c '%a %G' "$TEST_TMP/real/tls"), expected 750 daemon"
assert_file_mode "$TEST_TMP/real/tls/race.key" 640
log "ok"
