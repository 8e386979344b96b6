#!/bin/bash
# t_store_admin - the store's housekeeping:
#  - keep_versions = 3: after each verified deploy the oldest versions and
#    their keys go, never the current one nor the one before it; rollback
#    still finds the one before;
#  - delete NAME: refuses without --yes off a terminal; with --yes removes
#    every version and key; --targets removes the deployed files (from the
#    config, or from the last deployment's record when the section is
#    gone) but leaves a file that holds someone else's key; status shows
#    the orphan until it is deleted.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
FILES=$TEST_TMP/files
mkdir -p "$FILES"

# conf [CERTS...] - the config with the plain files target.
conf() {
	{
		conf_global "$PEBBLE_DIR_URL" "keep_versions = 3"
		for c in "$@"; do conf_cert "$c" "$c.example.test" "targets = plain"; done
		conf_cert bare "bare.example.test" # no targets: current without a deploy
		printf '%s\n' "[target plain]" "type = files" "cert_file = $FILES/%n.crt" \
			"key_file = $FILES/%n.key" "reload = /bin/true" ""
	} >"$MC_CONF"
}

# versions NAME - the version directories, space separated.
versions() {
	(cd "$(cert_dir "$1")/versions" && ls | tr '\n' ' ')
}

conf mail old
for i in 1 2 3 4 5; do
	mc_run issue mail
	assert_exit 0 "issue $i"
done
assert_eq "$(versions mail)" "0003 0004 0005 " "keep_versions = 3"
assert_symlink "$(cert_dir mail)/current" versions/0005
for i in 1 2 3 4; do
	mc_run issue bare
	assert_exit 0 "issue bare $i"
done
assert_eq "$(versions bare)" "0002 0003 0004 " "keep_versions without targets"
mc_run rollback mail
assert_exit 0 "rollback to the version before"
assert_symlink "$(cert_dir mail)/current" versions/0004
assert_eq "$(versions mail)" "0003 0004 0005 " "rollback removes nothing it may need"
mc_run rollback mail
assert_exit 0 "a second rollback"
assert_symlink "$(cert_dir mail)/current" versions/0003

# delete without --yes (stdin is not a terminal): refused, nothing gone.
mc_run delete mail
assert_exit 2 "delete without --yes"
assert_contains "$MC_ERR" "add --yes"
assert_eq "$(versions mail)" "0003 0004 0005 " "nothing deleted without --yes"
mc_run delete nosuch --yes
assert_exit 2 "delete of an unknown cert"
assert_contains "$MC_ERR" "no state for nosuch"
mc_run delete ../etc --yes
assert_exit 2 "delete of a bad name"

# A configured cert with --targets: files and state go, a warning stays.
mc_run delete mail --yes --targets
assert_exit 0 "delete mail --yes --targets"
assert_no_path "$(cert_dir mail)"
assert_no_path "$FILES/mail.crt"
assert_no_path "$FILES/mail.key"
assert_no_path "$FILES/.mailcert.mail.plain" "the set directory of mail's target files (keys)"
assert_contains "$MC_ERR" "[cert mail] is still in"

# An orphan (section gone): its files come from the recorded deployment;
# a key file that is not old's own (replaced by hand) stays.
mc_run issue old
assert_exit 0 "issue old"
conf mail
mc_run status
assert_contains "$MC_OUT" "orphaned state"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$FILES/old.key" 2>/dev/null
mc_run delete old --yes --targets
assert_exit 0 "delete old --yes --targets"
assert_no_path "$(cert_dir old)"
assert_no_path "$FILES/old.crt"
assert_file "$FILES/old.key"
[ -d "$FILES/.mailcert.old.plain" ] || fail "the set holding the key left alone was removed"
assert_contains "$MC_ERR" "$FILES/old.key holds no certificate or key of this cert; left alone"
mc_run status
assert_not_contains "$MC_OUT" "orphaned state"
mc_run delete old --yes
assert_exit 2 "delete of what is gone"
log "ok"
