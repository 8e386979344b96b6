#!/bin/bash
#
# setup.sh - install what mailcert needs to build and test (Debian 12).
#
# Idempotent: it asks dpkg what is missing and runs apt-get (update, then
# install --no-install-recommends) only when something is. Needs root for
# that (uses sudo when it is not root and sudo exists). An install that
# would remove an installed package (the host's MTA) is refused before
# anything changes; running mail daemons are left alone.
set -euo pipefail

# Build dependencies.
BUILD_PKGS=(cmake make pkg-config gcc libc6-dev libcurl4-openssl-dev libssl-dev
	libjansson-dev uuid-dev libinih-dev libmicrohttpd-dev libcmocka-dev libidn2-dev
	libunbound-dev libldns-dev dns-root-data)

# Libraries mailcert loads on first use with dlopen (mailcert/dl.h): the
# binary does not name them (no NEEDED entry), so the runtime packages are
# listed here and not only reached through the -dev packages above. The
# error when one is missing names the package (its soname is fixed in the
# source: core/http.c, core/dns_lib.c, acme/chall_http01.c, core/names.c).
RUN_PKGS=(libcurl4 libunbound8 libldns3 libmicrohttpd12 libidn2-0)

# The clang build and the libFuzzer targets (tests/fuzz, bench/fuzz.sh):
# libFuzzer and the sanitizer runtimes are in libclang-rt-14-dev, which
# clang only recommends; llvm-14 has llvm-symbolizer for readable traces.
FUZZ_PKGS=(clang libclang-rt-14-dev llvm-14)

# Test peers: Pebble (ships pebble-challtestsrv), tools the harness uses,
# certbot (t_import_certbot makes real lineages with it), etcd (three
# members for the fleet tests; etcdctl to inspect what they hold), strace
# (the kill -9 sweeps and the symlink race: syscall injection),
# python3-cryptography (acme_authz.py signs its ACME requests with it).
TEST_PKGS=(pebble openssl python3 valgrind curl ca-certificates util-linux coreutils
	systemd man-db gnutls-bin certbot python3-prometheus-client
	etcd-server etcd-client strace python3-cryptography)

# The DNSSEC testbed of the DANE tests (tests/integration/dns.sh): Knot DNS
# signs the test zone and takes RFC 2136 updates, unbound validates. The
# packages' own system services are not started (policy-rc.d below).
DNS_PKGS=(knot knot-dnsutils unbound)

# The real mail servers (Postfix, Dovecot, and Exim unpacked beside them)
# are installed by scripts/setup-mail.sh, called at the end.
MAIL_PKGS=()

# installed - whether dpkg reports package $1 as installed.
installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

main() {
	local missing=() p
	for p in "${BUILD_PKGS[@]}" "${RUN_PKGS[@]}" "${FUZZ_PKGS[@]}" "${TEST_PKGS[@]}" "${DNS_PKGS[@]}" "${MAIL_PKGS[@]}"; do
		installed "$p" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		echo "setup: all packages are installed"
		return 0
	fi
	install_missing "${missing[@]}"
}

# install_missing - apt-get update, then install the packages named.
install_missing() {
	local missing=("$@")
	echo "setup: installing: ${missing[*]}"
	local sudo=()
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || {
			echo "setup: need root to install: ${missing[*]}" >&2
			exit 1
		}
		sudo=(sudo)
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# Never remove the host's own packages (its MTA, say): simulate first.
	bash "$(dirname "$0")/setup-mail.sh" --check-install "${missing[@]}" || exit 1
	no_service_start "${sudo[@]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	service_start_restore "${sudo[@]}"
}

# no_service_start - a policy-rc.d that exits 101, so no package starts a
# system daemon (knot, unbound) during the install; an existing one is kept.
POLICY=/usr/sbin/policy-rc.d
POLICY_OURS=0
no_service_start() {
	[ -e "$POLICY" ] && return 0
	printf '#!/bin/sh\n# setup.sh: no service starts during the install\nexit 101\n' |
		"$@" tee "$POLICY" >/dev/null
	"$@" chmod 755 "$POLICY"
	POLICY_OURS=1
}

# service_start_restore - remove our policy-rc.d again.
service_start_restore() {
	[ "$POLICY_OURS" = 1 ] && "$@" rm -f "$POLICY"
	POLICY_OURS=0
}

main "$@"
bash "$(dirname "$0")/setup-mail.sh"
