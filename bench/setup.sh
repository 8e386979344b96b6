#!/bin/bash
# bench/setup.sh - install what the benchmarks compare mailcert with (the
# peers of bench/issue.sh and bench/renew.sh, and the tools the benches
# use). Not part of CI's setup (scripts/setup.sh): CI runs no benchmark.
# acme.sh is not packaged in Debian: bench/issue.sh takes ACMESH=PATH.
set -euo pipefail
PKGS=(certbot lego uacme dehydrated busybox python3 time strace openssl
	ca-certificates util-linux curl)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "bench/setup.sh: ${PKGS[*]} installed"
