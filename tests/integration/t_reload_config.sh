#!/bin/bash
# t_reload_config - the default reload of a target with `config` reloads
# the instance that reads that configuration, never the system's (issue 9):
# real Postfix, Dovecot and Exim (private instances on 127.0.0.1 high
# ports), each target naming its instance's `config` and no `reload`.
#   1. issue: the reloads are `postfix -c DIR reload`, `doveadm -c FILE
#      reload` and a HUP to the pid file the Exim config's pid_file_path
#      names; every private instance serves the new certificate (so each
#      reload reached it), and no command without the config ran;
#   2. a second issue: the same, the instances serve the second version.
# Before the change the default was `postfix reload` / `doveadm reload` /
# HUP to /run/exim4/exim.pid: the system's instances (none runs here, so
# the deployment failed and was rolled back).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=mailstack.sh
. "$(dirname "$0")/mailstack.sh"

[ "$(id -u)" = 0 ] || skip_or_fail "needs root (the daemons drop privileges)"
pebble_start
mailstack_start mail

t=$MAILSTACK_TLS
{
	conf_global
	conf_cert mail "mail.example.test" "targets = postfix dovecot exim" \
		"verify = $MAILSTACK_URLS" "verify_timeout = 30s"
	printf '%s\n' "[target postfix]" "config = $POSTFIX_DIR/etc" \
		"chain_file = $t/postfix/%n.pem" ""
	printf '%s\n' "[target dovecot]" "config = $DOVECOT_CONF" \
		"cert_file = $t/dovecot/%n.crt" "key_file = $t/dovecot/%n.key" ""
	printf '%s\n' "[target exim]" "config = $EXIM_CONF" \
		"cert_file = $t/exim/%n.crt" "key_file = $t/exim/%n.key" ""
} >"$MC_CONF"

# serves PORT MODE SHA - the endpoint serves the leaf with SHA.
serves() {
	assert_eq "$(mail_served_sha256 127.0.0.1 "$1" "$2")" "$3" "127.0.0.1:$1 ($2)"
}

# issued N - issue version N; each private instance reloaded and serving it.
issued() {
	local sha
	mc_run -v issue mail
	assert_exit 0 "issue $1 with the default reloads"
	assert_contains "$MC_OUT" "version $(printf %04d "$1") deployed and verified live"
	assert_contains "$MC_ERR" "target postfix: reloading with \`postfix -c $POSTFIX_DIR/etc reload\`"
	assert_contains "$MC_ERR" "target dovecot: reloading with \`doveadm -c $DOVECOT_CONF reload\`"
	assert_contains "$MC_ERR" "target exim: reloading with \`start-stop-daemon --stop --signal HUP --pidfile $EXIM_PIDFILE --name exim4\`"
	[ "$(grep -c 'reloading with' "$MC_ERR")" = 3 ] ||
		fail "exactly one reload per target" "$MC_ERR"
	sha=$(mail_cert_sha256 "$(cert_dir mail)/versions/$(printf %04d "$1")/cert.pem")
	serves "$POSTFIX_PORT_SMTP" smtp "$sha"
	serves "$DOVECOT_PORT_IMAPS" imaps "$sha"
	serves "$EXIM_PORT_SMTP" smtp "$sha"
}

issued 1
issued 2
log "ok"
