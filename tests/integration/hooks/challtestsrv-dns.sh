#!/bin/bash
#
# challtestsrv-dns.sh - dns-01 hook for the integration tests: publishes the
# TXT record in pebble-challtestsrv's DNS through its management API.
#
# Called by mailcert as:  HOOK add|del FQDN VALUE
#   FQDN may be the name itself or _acme-challenge.NAME, with or without
#   the trailing dot; the record always goes to _acme-challenge.NAME.
# The management URL comes from --mgmt URL (first two arguments) or
# CHALLTESTSRV_MGMT; tests install a small wrapper that passes --mgmt,
# because mailcert runs hooks with a clean environment. When
# MC_HOOK_LOG is given (or --log FILE), one line "OP FQDN" per call is
# appended to it (never the value).
set -u
PATH=/usr/local/bin:/usr/bin:/bin
mgmt=${CHALLTESTSRV_MGMT:-}
logfile=${MC_HOOK_LOG:-}
while [ $# -gt 0 ]; do
	case $1 in
	--mgmt) mgmt=$2; shift 2 ;;
	--log) logfile=$2; shift 2 ;;
	*) break ;;
	esac
done
if [ $# -lt 2 ] || [ -z "$mgmt" ]; then
	echo "usage: $0 [--mgmt URL] [--log FILE] add|del FQDN [VALUE]" >&2
	exit 2
fi
op=$1 fqdn=${2%.} value=${3:-}
case $fqdn in
*[!A-Za-z0-9._*-]* | "") echo "$0: bad FQDN '$2'" >&2; exit 2 ;;
esac
case $value in
*[!A-Za-z0-9_-]*) echo "$0: bad TXT value" >&2; exit 2 ;;
esac
fqdn=${fqdn#\*.}
case $fqdn in
_acme-challenge.*) ;;
*) fqdn=_acme-challenge.$fqdn ;;
esac
case $op in
add)
	[ -n "$value" ] || { echo "$0: add needs a VALUE" >&2; exit 2; }
	path=/set-txt body="{\"host\":\"$fqdn.\",\"value\":\"$value\"}" ;;
del) path=/clear-txt body="{\"host\":\"$fqdn.\"}" ;;
*) echo "$0: unknown operation '$op'" >&2; exit 2 ;;
esac
[ -z "$logfile" ] || echo "$op $fqdn" >>"$logfile"
curl -sSf --max-time 10 -X POST -d "$body" "$mgmt$path" >/dev/null || {
	echo "$0: $op $fqdn: challtestsrv at $mgmt refused the request" >&2
	exit 1
}
