#!/bin/bash
# t_alternate_chains - Pebble offers alternate chains (PEBBLE_ALTERNATE_ROOTS);
# preferred_chain = an alternate root's CN stores that chain, no or an unknown
# preferred_chain stores the default chain.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start --alt-roots 2
pebble_fetch_roots
for i in 0 1 2; do
	pebble_get "/roots/$i" "$TEST_TMP/root$i.pem"
done
CN0=$(cert_subject_cn "$TEST_TMP/root0.pem")
CN1=$(cert_subject_cn "$TEST_TMP/root1.pem")
CN2=$(cert_subject_cn "$TEST_TMP/root2.pem")
if [ -z "$CN1" ] || [ "$CN1" = "$CN0" ]; then
	fail "pebble did not offer distinct alternate roots ('$CN0' '$CN1')"
fi

# cert | preferred_chain | root the stored chain must lead to
CASES=(
	"dflt||0"
	"alt1|$CN1|1"
	"alt2|$CN2|2"
	"primary|$CN0|0"
	"unknown|No Such Root CA|0"
)
{
	conf_global "$PEBBLE_DIR_URL"
	for c in "${CASES[@]}"; do
		IFS='|' read -r name pref _ <<<"$c"
		if [ -n "$pref" ]; then
			conf_cert "$name" "$name.example.test" "preferred_chain = $pref"
		else
			conf_cert "$name" "$name.example.test"
		fi
	done
} >"$MC_CONF"

for c in "${CASES[@]}"; do
	IFS='|' read -r name pref root <<<"$c"
	mc_run issue "$name"
	assert_exit 0 "issue $name (preferred_chain '$pref')"
	PEBBLE_ROOT=$TEST_TMP/root$root.pem assert_issued "$name" "$name.example.test"
	chain=$(cert_dir "$name")/current/chain.pem
	last_cert_in "$chain" "$TEST_TMP/top.pem"
	want=$(cert_subject_cn "$TEST_TMP/root$root.pem")
	assert_eq "$(cert_issuer_cn "$TEST_TMP/top.pem")" "$want" "$name: top issuer of the stored chain"
	for other in 0 1 2; do
		[ "$other" = "$root" ] && continue
		if openssl verify -CAfile "$TEST_TMP/root$other.pem" -untrusted "$chain" \
			"$(cert_dir "$name")/current/cert.pem" >/dev/null 2>&1; then
			fail "$name: the chain also verifies against root $other"
		fi
	done
done
