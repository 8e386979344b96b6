#!/bin/bash
# t_deploy_crash - kill -9 just before and just after each rename that
# matters, by strace syscall injection, with real Postfix, Dovecot and Exim:
# of deploy: the journal, each target's switch (Postfix's chain file, the
# `live` link of the Dovecot and of the Exim set), `current`;
# of issue: the new version directory and `current`; of rollback:
# `current`; of renew: the journal. After each kill every
# daemon must be able to load a matching key and certificate pair at once,
# and the next `renew` (nothing due) must leave every daemon with the
# version `current` names, verified by asking the daemon (the files its
# configuration names) and by a TLS handshake on each endpoint, with no
# temporary file of ours left (killsweep.sh). This is a representative
# subset for CI; bench/killsweep.sh kills at every rename and fsync.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=killsweep.sh
. "$(dirname "$0")/killsweep.sh"

ks_setup
failed=0

# sweep LABEL ARGS_FN REGEX - the points around the renames matching REGEX.
sweep() {
	local label=$1 fn=$2 re=$3 pts p sc n what
	mapfile -t pts < <(ks_points "$fn" | ks_around "$re")
	[ ${#pts[@]} -gt 0 ] || fail "$label: no rename matches $re"
	for p in "${pts[@]}"; do
		read -r sc n what <<<"$p"
		ks_point "$label" "$fn" "$sc" "$n" "$what" || {
			failed=1
			log "FAIL: $label killed at $sc#$n ($what): $KS_WHY"
		}
	done
}

sweep deploy ks_args_deploy '^(journal\.json|mail\.pem|live|current)$'

# The case of issue 8: killed after every target switched but before
# `current` moved (just before its rename): the daemons load the
# new version while `current` names the old one. A later `deploy` finishes
# the interrupted deployment (journal) instead of putting the old one back.
read -r sc n _ < <(ks_points ks_args_deploy | awk '$1 ~ /^rename/ && $3 == "current"')
ks_args_deploy
new=$(printf '%04d' "${KS_ARGS[3]}")
old=$(ks_current)
(
	timeout -k 5 120 strace -qq "${KS_NOLEAK[@]}" -o /dev/null -e inject="$sc:signal=KILL:when=$n" -- \
		"$MAILCERT" -q -c "$MC_CONF" "${KS_ARGS[@]}" >/dev/null 2>&1 </dev/null
	exit $?
) 2>/dev/null
[ $? = 137 ] || fail "deploy --version ${KS_ARGS[3]} was not killed at $sc#$n"
assert_eq "$(ks_current)" "$old" "current after the kill"
ks_loaded_all || fail "after the kill: $KS_WHY"
assert_eq "$KS_LOADED" "postfix=$new dovecot=$new exim=$new" "what the daemons load after the kill"
mc_run deploy mail
assert_exit 0 "deploy after the kill"
assert_contains "$MC_ERR" "was interrupted"
assert_eq "$(ks_current)" "$new" "current after the later deploy"
ks_judge_after_renew || fail "after the later deploy: $KS_WHY"
sweep issue ks_args_issue '^([0-9][0-9][0-9][0-9]|current)$'
sweep rollback ks_args_rollback '^current$'
sweep renew ks_args_renew '^journal\.json$'
ks_table >&2
[ "$failed" = 0 ] || fail "a kill left a daemon on a mismatched or stale pair (table above)"
log "ok"
