#!/bin/bash
# t_ca_errors - a CA that cannot be reached or misbehaves (fakeca.py): exit 1,
# a clear message, nothing stored.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd python3 openssl
deadport=""
free_port deadport
# label | fakeca mode ("-": nobody listens) | stderr fragments, any of (;-separated) | seconds allowed
CASES=(
	"CA unreachable|-|refused;connect;127.0.0.1:$deadport|60"
	"500 with a problem document|500|serverInternal;database is on fire|60"
	"malformed JSON directory|badjson|json;malformed;parse|60"
	"HTML error page|html|502|60"
	"certificate for another key|mismatch|match|60"
	"429 forever|429|rateLimited;429|400"
)
for c in "${CASES[@]}"; do
	IFS='|' read -r label mode frags secs <<<"$c"
	if [ "$mode" = - ]; then
		url=https://127.0.0.1:$deadport/dir
		[ -n "${PEBBLE_CA:-}" ] || tls_material
	else
		fakeca_start "$mode"
		url=$FAKECA_DIR_URL
	fi
	MC_STATE=$TEST_TMP/state-$mode
	{
		conf_global "$url"
		conf_cert mail "mail.example.test smtp.example.test"
	} >"$MC_CONF"
	start=$SECONDS
	MC_RUN_TIMEOUT=$secs mc_run issue mail
	log "$label: exit $MC_RC after $((SECONDS - start)) s"
	assert_exit 1 "$label"
	IFS=';' read -r -a want <<<"$frags"
	assert_contains_i "$MC_ERR" "${want[@]}"
	assert_not_contains "$MC_ERR" "AddressSanitizer" "$label"
	assert_no_path "$(cert_dir mail)/current" "$label: nothing may be stored"
	assert_eq "$(version_count mail)" 0 "$label: versions stored"
	if [ "$mode" != - ]; then
		bg_stop "$FAKECA_PID"
	fi
done
