#!/bin/bash
#
# setup-mail.sh - install the real mail servers the integration tests run as
# private loopback instances (Debian 12, run as root; idempotent).
#
#   - Postfix and Dovecot (imapd, pop3d, managesieved) from apt, with
#     DEBIAN_FRONTEND=noninteractive and Postfix preseeded to "No
#     configuration". A policy-rc.d that exits 101 is in place during the
#     install so no package starts a system daemon on 25/143/993/...
#   - Exim cannot be installed next to Postfix (both are MTAs), so its
#     packages are fetched with `apt-get download` into
#     /var/cache/mailcert-test/exim and unpacked with `dpkg-deb -x` into
#     /opt/mailcert-test/exim; the shared libraries its binary lacks (ldd
#     "not found") are installed from apt; the Debian-exim user and group
#     are created when missing.
#
# The host's own mail daemons are left alone: a Postfix, Dovecot or Exim
# that runs keeps running (the tests start private instances on
# 127.0.0.1 high ports beside it, with their own config, queue and pid
# files), and nothing is installed that would remove an installed package:
# every install is simulated first (apt-get -s), and when it would remove
# anything - on an Exim host, installing Postfix removes Exim - the script
# refuses and says why, before changing anything.
#
#   setup-mail.sh                     install what is missing (as root)
#   setup-mail.sh --check-install PKG...
#                                     only the simulation: exit 1 (and say
#                                     what would go) when installing PKGs
#                                     would remove a package, else 0
#
# Environment: MAILCERT_EXIM_ROOT (default /opt/mailcert-test/exim),
# MAILCERT_EXIM_CACHE (default /var/cache/mailcert-test/exim).
# Exit 0 when everything is in place, 1 otherwise.
set -euo pipefail

APT_PKGS=(postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-managesieved
	openssl procps)
EXIM_PKGS=(exim4-daemon-light exim4-base exim4-config)
EXIM_ROOT=${MAILCERT_EXIM_ROOT:-/opt/mailcert-test/exim}
EXIM_CACHE=${MAILCERT_EXIM_CACHE:-/var/cache/mailcert-test/exim}
EXIM_BIN=$EXIM_ROOT/usr/sbin/exim4
POLICY=/usr/sbin/policy-rc.d
POLICY_SAVED=""
POLICY_OURS=0
APT_OPTS=(-o DPkg::Lock::Timeout=300 -y -q --no-install-recommends)
APT_UPDATED=0

# say - a progress line.
say() {
	printf 'setup-mail: %s\n' "$*"
}

# die - an error line, then exit 1.
die() {
	printf 'setup-mail: ERROR: %s\n' "$*" >&2
	exit 1
}

# installed - whether dpkg reports package $1 as installed.
installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# apt_update - run apt-get update once per run.
apt_update() {
	[ "$APT_UPDATED" = 1 ] && return 0
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q
	APT_UPDATED=1
}

# policy_block - install a policy-rc.d that forbids starting any service.
policy_block() {
	if [ -e "$POLICY" ]; then
		POLICY_SAVED=$(mktemp /tmp/policy-rc.d.XXXXXX)
		cp -p "$POLICY" "$POLICY_SAVED"
	fi
	printf '#!/bin/sh\n# setup-mail.sh: no service starts during the install\nexit 101\n' >"$POLICY"
	chmod 755 "$POLICY"
	POLICY_OURS=1
}

# policy_restore - put back the policy-rc.d that was there before (or none).
policy_restore() {
	[ "$POLICY_OURS" = 1 ] || return 0
	if [ -n "$POLICY_SAVED" ]; then
		cp -p "$POLICY_SAVED" "$POLICY"
		rm -f "$POLICY_SAVED"
	else
		rm -f "$POLICY"
	fi
	POLICY_OURS=0
}

# safe_install - refuse (exit 1) when installing PKG... would remove an
# installed package (on an Exim host: Exim, when Postfix comes in); apt's
# simulation (apt-get -s) says what an install would do.
safe_install() {
	local out gone
	out=$(LC_ALL=C apt-get -s -o Debug::NoLocking=1 install --no-install-recommends "$@" 2>&1) ||
		die "apt-get -s install $* failed: $(printf '%s\n' "$out" | tail -n 2)"
	gone=$(printf '%s\n' "$out" | sed -n 's/^Remv \([^ ]*\).*/\1/p' | tr '\n' ' ')
	[ -z "${gone// /}" ] && return 0
	die "installing $* would remove ${gone% } from this host (another MTA, or a
  package in conflict). This script never removes or replaces the host's
  mail software. Run the tests on a machine without it (e.g. a container),
  or install the packages yourself if you mean to replace it."
}

# install_apt_pkgs - install the missing apt packages, starting no service
# and removing none.
install_apt_pkgs() {
	local missing=() p
	for p in "${APT_PKGS[@]}"; do
		installed "$p" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "postfix and dovecot packages are installed"
		return 0
	fi
	say "installing: ${missing[*]}"
	apt_update
	safe_install "${missing[@]}"
	printf '%s\n' \
		'postfix postfix/main_mailer_type select No configuration' \
		'postfix postfix/mailname string localhost' | debconf-set-selections
	policy_block
	DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install "${missing[@]}"
	policy_restore
}

# system_daemons - say which of the host's own mail daemons run; they are
# left as they are (the tests use private instances beside them).
system_daemons() {
	local running=() pid
	if [ -f /etc/postfix/main.cf ] && postfix status >/dev/null 2>&1; then
		running+=(postfix)
	fi
	pid=$(cat /run/dovecot/master.pid 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		running+=(dovecot)
	fi
	pid=$(cat /run/exim4/exim.pid 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		running+=(exim)
	fi
	[ ${#running[@]} -eq 0 ] ||
		say "this host runs ${running[*]}: left running; the tests use private instances on 127.0.0.1 high ports beside them"
}

# fetch_exim_debs - download the exim .debs into the cache (once).
fetch_exim_debs() {
	local p have
	mkdir -p "$EXIM_CACHE"
	for p in "${EXIM_PKGS[@]}"; do
		have=$(find "$EXIM_CACHE" -maxdepth 1 -name "${p}_*.deb" | head -n 1)
		if [ -n "$have" ]; then
			continue
		fi
		apt_update
		say "downloading $p"
		(cd "$EXIM_CACHE" && apt-get -o DPkg::Lock::Timeout=300 download "$p") ||
			die "apt-get download $p failed"
	done
}

# unpack_exim - dpkg-deb -x every cached exim .deb into EXIM_ROOT.
unpack_exim() {
	local p deb
	if [ -x "$EXIM_BIN" ] && [ -f "$EXIM_ROOT/.mailcert-unpacked" ]; then
		say "exim is unpacked in $EXIM_ROOT"
		return 0
	fi
	mkdir -p "$EXIM_ROOT"
	for p in "${EXIM_PKGS[@]}"; do
		deb=$(find "$EXIM_CACHE" -maxdepth 1 -name "${p}_*.deb" | sort | tail -n 1)
		[ -n "$deb" ] || die "no .deb for $p in $EXIM_CACHE"
		say "unpacking $(basename "$deb")"
		dpkg-deb -x "$deb" "$EXIM_ROOT"
	done
	[ -x "$EXIM_BIN" ] || die "$EXIM_BIN is missing after unpacking"
	touch "$EXIM_ROOT/.mailcert-unpacked"
}

# exim_missing_libs - print the sonames ldd cannot find for the exim binary.
exim_missing_libs() {
	ldd "$EXIM_BIN" 2>/dev/null | awk '/not found/ {print $1}'
}

# install_exim_deps - install the Debian packages of exim4-daemon-light's
# Depends that are missing, then check ldd finds every library.
install_exim_deps() {
	local deb deps=() d missing=()
	deb=$(find "$EXIM_CACHE" -maxdepth 1 -name 'exim4-daemon-light_*.deb' | sort | tail -n 1)
	# Depends: a, b (>= 1), c | d  ->  a b c (first alternative, no versions)
	mapfile -t deps < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' |
		sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' -e '/^$/d')
	for d in "${deps[@]}"; do
		case $d in exim4-base | exim4-config | exim4-config-2 | debconf*) continue ;; esac
		installed "$d" || missing+=("$d")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing exim's libraries: ${missing[*]}"
		apt_update
		safe_install "${missing[@]}"
		DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install "${missing[@]}"
	fi
	missing=()
	mapfile -t missing < <(exim_missing_libs)
	[ ${#missing[@]} -eq 0 ] || die "exim still lacks: ${missing[*]}"
}

# exim_user - create the Debian-exim system group and user when missing.
exim_user() {
	getent group Debian-exim >/dev/null || groupadd --system Debian-exim
	if ! getent passwd Debian-exim >/dev/null; then
		useradd --system --gid Debian-exim --home-dir /var/spool/exim4 \
			--no-create-home --shell /usr/sbin/nologin Debian-exim
	fi
}

# check_result - the binaries the harness uses exist and run.
check_result() {
	local c
	for c in postfix postconf dovecot doveadm openssl; do
		command -v "$c" >/dev/null || die "$c is missing after the install"
	done
	# -bV exits 1 without a config file; the version banner proves it runs.
	local v
	v=$("$EXIM_BIN" -bV 2>/dev/null | sed -n '1s/ #.*//p' || true)
	case $v in "Exim version"*) ;; *) die "$EXIM_BIN -bV does not run" ;; esac
	say "ok: $(postconf -d -h mail_version 2>/dev/null | sed 's/^/postfix /'), $(dovecot --version | sed 's/^/dovecot /'), $v"
}

main() {
	if [ "${1:-}" = --check-install ]; then
		shift
		[ $# -gt 0 ] || die "--check-install needs package names"
		safe_install "$@"
		say "installing $* removes nothing"
		return 0
	fi
	[ "$(id -u)" = 0 ] || die "run as root"
	trap policy_restore EXIT
	install_apt_pkgs
	system_daemons
	fetch_exim_debs
	unpack_exim
	install_exim_deps
	exim_user
	check_result
}

main "$@"
