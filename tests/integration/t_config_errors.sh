#!/bin/bash
# t_config_errors - broken configurations (also in files named by include):
# exit 2 and a message with
# FILE:LINE and the key (or section; "-": only FILE:LINE). The line marked @@ is the one the
# message must name. A valid control config must pass (exit 0).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

G="[global]
state_dir = $MC_STATE
directory = https://127.0.0.1:9/dir
log = stderr"
C="[cert mail]
names = mail.example.test
challenge = http-01
http_listen = 127.0.0.1:8080"

# label | key (or section) the message must name | config text (@@ marks the line)
CASES=(
	"control: valid config||$G
$C"
	"unknown global key|colour|$G
@@colour = blue
$C"
	"unknown cert key|flavour|$G
$C
@@flavour = vanilla"
	"unknown section|frobnicate|$G
$C
@@[frobnicate]"
	"unsupported key_type|key_type|$G
$C
@@key_type = rsa-1024"
	"unknown challenge|challenge|$G
[cert mail]
names = mail.example.test
@@challenge = http-02"
	"bad renew_before|renew_before|$G
@@renew_before = 30x
$C"
	"bad verify_timeout in a cert|verify_timeout|$G
$C
@@verify_timeout = soon"
	"bad hook_timeout|hook_timeout|$G
@@hook_timeout = 5y
$C"
	"bad log destination|log|[global]
state_dir = $MC_STATE
directory = https://127.0.0.1:9/dir
@@log = loudly
$C"
	"invalid name|names|$G
[cert mail]
@@names = mail..example.test
challenge = http-01"
	"reuse_key not a boolean|reuse_key|$G
$C
@@reuse_key = maybe"
	"unknown target reference|targets|$G
$C
@@targets = nosuch"
	"unknown target type|type|$G
$C
[target t1]
@@type = sendmail"
	"bad target mode|mode|$G
$C
[target t1]
type = files
@@mode = 0999"
	"duplicate cert section|cert mail|$G
$C
@@[cert mail]
names = other.example.test"
	"line without =|-|$G
@@this line has no equals sign
$C"
	"verify URL the runtime refuses (empty label)|verify|$G
$C
@@verify = smtp://a..b:25"
	"verify URL with an underscore-only label|verify|$G
$C
@@verify = smtp://127.0.0.1:25 imaps://host_.example..test"
	"listen address with a host name|http_listen|$G
[cert mail]
names = mail.example.test
challenge = http-01
@@http_listen = host.name:80"
	"tls-alpn listen address with a host name|tls_alpn_listen|$G
$C
@@tls_alpn_listen = mail.example.test:443"
)
n=0
for c in "${CASES[@]}"; do
	label=${c%%|*}
	rest=${c#*|}
	key=${rest%%|*}
	text=${rest#*|}
	n=$((n + 1))
	MC_CONF=$TEST_TMP/case$n.conf
	printf '%s\n' "$text" | sed 's/^@@//' >"$MC_CONF"
	line=$(printf '%s\n' "$text" | grep -n '^@@' | cut -d: -f1)
	mc_run status
	if [ -z "$line" ]; then
		assert_exit 0 "$label"
		continue
	fi
	assert_exit 2 "$label"
	assert_contains "$MC_ERR" "$MC_CONF:$line" "$label: the message names FILE:LINE"
	[ "$key" != - ] || continue
	# the key must appear outside the file name (which contains "mail")
	sed "s|$MC_CONF||g" "$MC_ERR" >"$MC_ERR.nofile"
	assert_contains "$MC_ERR.nofile" "$key" "$label: the message names the key"
done
[ "$n" -ge 21 ] || fail "only $n cases ran"

# A config file that does not exist: exit 2, the message names the file.
MC_CONF=$TEST_TMP/no-such-file.conf
mc_run status
assert_exit 2 "missing config file"
assert_contains "$MC_ERR" "$MC_CONF" "the message names the missing file"

# include = GLOB: a broken included file is named with its own line (exit
# 2); the same certs split one per file load like one file.
mkdir -p "$TEST_TMP/conf.d"
MC_CONF=$TEST_TMP/main.conf
printf '%s\n' "$G" "include = $TEST_TMP/conf.d/*.conf" >"$MC_CONF"
printf '%s\n' '[cert a]' 'names = a.example.test' >"$TEST_TMP/conf.d/10-a.conf"
printf '%s\n' '[cert b]' 'names = b.example.test' '' '[cert c]' \
	'names = c..example.test' >"$TEST_TMP/conf.d/20-bc.conf"
mc_run status
assert_exit 2 "an error in an included file"
assert_contains "$MC_ERR" "$TEST_TMP/conf.d/20-bc.conf:5" "the message names the included file and line"
sed "s|$TEST_TMP/conf.d/20-bc.conf||g" "$MC_ERR" >"$MC_ERR.nofile"
assert_contains "$MC_ERR.nofile" "names"
printf '%s\n' '[cert b]' 'names = b.example.test' >"$TEST_TMP/conf.d/20-bc.conf"
printf '%s\n' '[cert a]' 'names = a2.example.test' >"$TEST_TMP/conf.d/30-dup.conf"
mc_run status
assert_exit 2 "a cert in two included files"
assert_contains "$MC_ERR" "$TEST_TMP/conf.d/30-dup.conf:1: [cert a]: appears twice (first at $TEST_TMP/conf.d/10-a.conf:1)"
rm "$TEST_TMP/conf.d/30-dup.conf"
# the endpoint and listen-address parser (core/addr.c) at load, in an
# included file too: FILE:LINE of that file and the key
printf '%s\n' '[cert d]' 'names = d.example.test' 'verify = smtp://a..b:25' \
	>"$TEST_TMP/conf.d/40-url.conf"
mc_run status
assert_exit 2 "a bad verify URL in an included file"
assert_contains "$MC_ERR" "$TEST_TMP/conf.d/40-url.conf:3" "the bad URL: included file and line"
assert_contains "$MC_ERR" "verify" "the bad URL: the key"
printf '%s\n' '[cert d]' 'names = d.example.test' 'challenge = http-01' \
	'http_listen = host.name:80' >"$TEST_TMP/conf.d/40-url.conf"
mc_run status
assert_exit 2 "a listen address with a host name in an included file"
assert_contains "$MC_ERR" "$TEST_TMP/conf.d/40-url.conf:4" "the bad listen address: included file and line"
assert_contains "$MC_ERR" "http_listen" "the bad listen address: the key"
rm "$TEST_TMP/conf.d/40-url.conf"
mc_run status
assert_exit 0 "certs from two included files"
assert_contains "$MC_OUT" "a.example.test"
assert_contains "$MC_OUT" "b.example.test"

# More than 100,000 included files (empty ones: only their number counts):
# exit 2, the pattern named, and no made-up count (it once said "names
# 100001 files" whatever the number).
mkdir "$TEST_TMP/many.d"
(cd "$TEST_TMP/many.d" && python3 -c 'import os
for i in range(100002): os.close(os.open("c%06d.conf" % i, os.O_CREAT | os.O_WRONLY, 0o600))')
printf '%s\n' "$G" "include = $TEST_TMP/many.d/*.conf" >"$TEST_TMP/many.conf"
MC_CONF=$TEST_TMP/many.conf
mc_run status
assert_exit 2 "more than 100000 included files"
assert_contains "$MC_ERR" "\"$TEST_TMP/many.d/*.conf\" names more than 100000 files" "the limit and the pattern"
rm -rf "$TEST_TMP/many.d"

# Bad command-line durations: exit 2 and one clean message (the message was
# once formatted into itself: "renew: --jitter: renew: --jitter: ration...").
printf '%s\n' "$G" >"$TEST_TMP/jitter.conf"
MC_CONF=$TEST_TMP/jitter.conf
for bad in BAD 5x 99999999999999999999d; do
	mc_run renew --jitter "$bad"
	assert_exit 2 "renew --jitter $bad"
	assert_contains "$MC_ERR" "renew: --jitter: \"$bad\" is " "--jitter $bad: the message quotes the value"
	n=$(grep -o -- '--jitter' "$MC_ERR" | wc -l)
	assert_eq "$n" 1 "--jitter $bad: the option is named once"
done
