#!/bin/bash
# t_reuse_key - reuse_key = yes keeps the public key across issuances
# (DANE 3 1 1 stays valid); reuse_key = no makes a new key every time.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pebble_start
pebble_fetch_roots
{
	conf_global "$PEBBLE_DIR_URL"
	conf_cert keep "keep.example.test" "reuse_key = yes"
	conf_cert fresh "fresh.example.test" "reuse_key = no"
	conf_cert rsakeep "rsakeep.example.test" "reuse_key = yes"
} | sed '/^\[cert rsakeep\]/,$ s/^key_type = .*/key_type = rsa-2048/' >"$MC_CONF"

# name | reuse? (same|different)
CASES=("keep same" "fresh different" "rsakeep same")
for c in "${CASES[@]}"; do
	read -r name want <<<"$c"
	mc_run issue "$name"
	assert_exit 0 "$name: first issuance"
	mc_run issue "$name"
	assert_exit 0 "$name: second issuance"
	assert_issued "$name" "$name.example.test"
	d=$(cert_dir "$name")/versions
	k1=$(pubkey_of_key "$d/0001/privkey.pem")
	k2=$(pubkey_of_key "$d/0002/privkey.pem")
	assert_eq "$(pubkey_of_cert "$d/0002/cert.pem")" "$k2" "$name: cert 0002 matches key 0002"
	s1=$(openssl x509 -in "$d/0001/cert.pem" -noout -serial)
	s2=$(openssl x509 -in "$d/0002/cert.pem" -noout -serial)
	assert_ne "$s1" "$s2" "$name: a new certificate was issued"
	if [ "$want" = same ]; then
		assert_eq "$k2" "$k1" "$name: reuse_key = yes keeps the public key"
		assert_file_mode "$d/0002/privkey.pem" 600
	else
		assert_ne "$k2" "$k1" "$name: reuse_key = no makes a new key"
	fi
done
