/*
 * names.c - the small vocabularies of the configuration: certificate names
 * (DNS names and IP addresses, RFC 8738), cert names, durations, key types,
 * challenge types and %n expansion. International names (U-labels) become
 * A-labels with libidn2 (IDNA2008, UTS #46 non-transitional mapping):
 * mc_name_to_alabel() for what goes to the CA and into certificates,
 * mc_name_to_ulabel() for display.
 *
 * These functions know nothing about files or lines. Their errors are
 * MC_ERR_CONFIG with a message that says what is wrong with the value and
 * what to do; the config parser prepends "FILE:LINE: KEY: ", other callers
 * (the command line) may change the category to MC_ERR_USAGE.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

#include "mailcert/config.h"
#include "mailcert/dl.h"

#include "core/config_int.h"

#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63
#define CERT_NAME_MAX_LEN 64

/* libidn2 (and libunistring under it) is loaded when a name first needs
 * it - a U-label or an xn-- label (mailcert/dl.h) - not at every start. */
#define NAME_IDN2_FUNCS(X)                                                     \
	X(idn2_to_ascii_8z)                                                    \
	X(idn2_to_unicode_8z8z)                                                \
	X(idn2_strerror)                                                       \
	X(idn2_free)
#define NAME_IDN2_ADDR(f) &idn.f,
static struct {
	NAME_IDN2_FUNCS(MC_DL_FIELD)
} idn;
static const char *const name_idn2_names[] = {NAME_IDN2_FUNCS(MC_DL_NAME)};
static void *const name_idn2_slots[] = {NAME_IDN2_FUNCS(NAME_IDN2_ADDR)};
static struct mc_dl name_idn2_dl =
    MC_DL_INIT("libidn2.so.0", "libidn2-0", name_idn2_names, name_idn2_slots);

static const char *const key_type_names[] = {
	[MC_KEY_RSA2048] = "rsa-2048",   [MC_KEY_RSA3072] = "rsa-3072",
	[MC_KEY_RSA4096] = "rsa-4096",   [MC_KEY_EC_P256] = "ecdsa-p256",
	[MC_KEY_EC_P384] = "ecdsa-p384",
};

static const char *const challenge_names[] = {
	[MC_CHALLENGE_HTTP01] = "http-01",
	[MC_CHALLENGE_TLSALPN01] = "tls-alpn-01",
	[MC_CHALLENGE_DNS01] = "dns-01",
};

#define N_KEY_TYPES (sizeof(key_type_names) / sizeof(key_type_names[0]))
#define N_CHALLENGES (sizeof(challenge_names) / sizeof(challenge_names[0]))

/* mc_key_type_name - the configuration word of a key type. */
const char *
mc_key_type_name(enum mc_key_type type)
{
	if ((size_t)type >= N_KEY_TYPES)
		abort();
	return key_type_names[type];
}

/* mc_key_type_alg - "ecdsa" or "rsa". */
const char *
mc_key_type_alg(enum mc_key_type type)
{
	return mc_key_type_is_ec(type) ? "ecdsa" : "rsa";
}

/* mc_key_type_is_ec - whether type is an ECDSA type. */
bool
mc_key_type_is_ec(enum mc_key_type type)
{
	return type == MC_KEY_EC_P256 || type == MC_KEY_EC_P384;
}

/* mc_key_types_text - the key types as configured, space separated. */
void
mc_key_types_text(const enum mc_key_type *types, size_t n, char *buf,
    size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "",
		    mc_key_type_name(types[i]));
}

/* mc_key_type_parse - a configuration word (any case) to a key type; 0 or -1. */
int
mc_key_type_parse(const char *text, enum mc_key_type *out)
{
	size_t i;

	for (i = 0; i < N_KEY_TYPES; i++) {
		if (strcasecmp(text, key_type_names[i]) == 0) {
			*out = (enum mc_key_type)i;
			return 0;
		}
	}
	return -1;
}

/* mc_challenge_name - the configuration word of a challenge type. */
const char *
mc_challenge_name(enum mc_challenge_type type)
{
	if ((size_t)type >= N_CHALLENGES)
		abort();
	return challenge_names[type];
}

/* names_challenge_parse - a configuration word (any case) to a challenge; 0 or -1. */
int
names_challenge_parse(const char *text, enum mc_challenge_type *out)
{
	size_t i;

	for (i = 0; i < N_CHALLENGES; i++) {
		if (strcasecmp(text, challenge_names[i]) == 0) {
			*out = (enum mc_challenge_type)i;
			return 0;
		}
	}
	return -1;
}

/* mc_cert_name_valid - letters, digits, '.', '-', '_'; 1..64; no leading '.' or '-'. */
bool
mc_cert_name_valid(const char *name)
{
	size_t i, len;

	if (name == NULL)
		return false;
	len = strlen(name);
	if (len == 0 || len > CERT_NAME_MAX_LEN)
		return false;
	if (name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isascii(c) || !(isalnum(c) || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* label_check - validate one LDH label of length len. */
static int
label_check(const char *label, size_t len, struct mc_err *err)
{
	size_t i;

	if (len == 0)
		return mc_err_set(err, MC_ERR_CONFIG,
		    "empty label (\"..\" or a leading dot); write the name as a.example.com");
	if (len > LABEL_MAX_LEN)
		return mc_err_set(err, MC_ERR_CONFIG,
		    "label of %zu characters; a DNS label has at most %d", len,
		    LABEL_MAX_LEN);
	if (label[0] == '-' || label[len - 1] == '-')
		return mc_err_set(err, MC_ERR_CONFIG,
		    "label \"%.*s\" starts or ends with '-'; DNS does not allow that",
		    (int)len, label);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)label[i];

		if (c == '*')
			return mc_err_set(err, MC_ERR_CONFIG,
			    "'*' is allowed only as the whole first label (*.example.com)");
		if (!isascii(c) || !(isalnum(c) || c == '-'))
			return mc_err_set(err, MC_ERR_CONFIG,
			    "label \"%.*s\" has a character other than letters, digits "
			    "and '-'; use the IDNA (xn--) form for international names",
			    (int)len, label);
	}
	return 0;
}

/* name_all_digits - whether the len bytes at s are all digits. */
static bool
name_all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* name_check_labels - walk the labels of s (length len); ask for >= 2, no IP. */
static int
name_check_labels(const char *s, size_t len, struct mc_err *err)
{
	size_t start = 0, i, labels = 0, last_start = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (label_check(s + start, i - start, err) == -1)
			return -1;
		labels++;
		last_start = start;
		start = i + 1;
	}
	if (name_all_digits(s + last_start, len - last_start))
		return mc_err_set(err, MC_ERR_CONFIG,
		    "neither a DNS name nor an IPv4 address; write an address as "
		    "four decimal parts, e.g. 192.0.2.25");
	if (labels < 2)
		return mc_err_set(err, MC_ERR_CONFIG,
		    "single-label name; public CAs issue only for names like "
		    "mail.example.com");
	return 0;
}

/* name_check - validate name[0..len) (trailing dot already removed). */
static int
name_check(const char *name, size_t len, bool allow_wildcard, struct mc_err *err)
{
	size_t off = 0;

	if (len == 0)
		return mc_err_set(err, MC_ERR_CONFIG,
		    "empty name; write e.g. mail.example.com");
	if (len > NAME_MAX_LEN)
		return mc_err_set(err, MC_ERR_CONFIG,
		    "name of %zu characters; a DNS name has at most %d", len,
		    NAME_MAX_LEN);
	if (memchr(name, ':', len) != NULL)
		return mc_err_set(err, MC_ERR_CONFIG,
		    "neither a DNS name nor an IPv6 address; write an address "
		    "without brackets, port or zone, e.g. 2001:db8::25");
	if (len >= 2 && name[0] == '*' && name[1] == '.') {
		if (!allow_wildcard)
			return mc_err_set(err, MC_ERR_CONFIG,
			    "wildcard name; wildcards need challenge = dns-01");
		off = 2;
	}
	return name_check_labels(name + off, len - off, err);
}

/* mc_name_ip - an IPv4 or IPv6 literal into addr; its length (4, 16) or 0. */
size_t
mc_name_ip(const char *name, unsigned char addr[16])
{
	if (name == NULL)
		return 0;
	if (inet_pton(AF_INET, name, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, name, addr) == 1)
		return 16;
	return 0;
}

/* mc_name_is_ip - whether name is an IP address literal. */
bool
mc_name_is_ip(const char *name)
{
	unsigned char addr[16];

	return mc_name_ip(name, addr) != 0;
}

/* name_ip_text - the canonical text of an IP literal (new string), or NULL
 * with err untouched when name is not one. */
static char *
name_ip_text(const char *name, bool *is_ip, struct mc_err *err)
{
	unsigned char addr[16];
	char text[INET6_ADDRSTRLEN];
	size_t n = mc_name_ip(name, addr);
	char *out;

	*is_ip = n != 0;
	if (n == 0)
		return NULL;
	if (inet_ntop(n == 4 ? AF_INET : AF_INET6, addr, text,
	    sizeof(text)) == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "cannot format the address");
		return NULL;
	}
	out = strdup(text);
	if (out == NULL)
		mc_err_set(err, MC_ERR_SYS, "out of memory");
	return out;
}

/* name_is_ascii - whether every byte of s is 7-bit. */
static bool
name_is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* name_lower_dup - a lower-cased copy of n bytes of s after prefix pre
 * (new string). */
static char *
name_lower_dup(const char *pre, const char *s, size_t n, struct mc_err *err)
{
	size_t plen = strlen(pre), i;
	char *out = malloc(plen + n + 1);

	if (out == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	memcpy(out, pre, plen);
	for (i = 0; i < n; i++)
		out[plen + i] = (char)tolower((unsigned char)s[i]);
	out[plen + n] = '\0';
	return out;
}

/* name_idna - name (UTF-8, maybe "*." first) to lower-case A-labels (new
 * string); NULL and the libidn2 code in *rc when it is not a valid name. */
static char *
name_idna(const char *name, int *rc, struct mc_err *err)
{
	bool wild = strncmp(name, "*.", 2) == 0;
	char *ascii = NULL, *out;

	if (mc_dl_load(&name_idn2_dl, err) == -1) {
		*rc = IDN2_MALLOC; /* err is set */
		return NULL;
	}
	*rc = idn.idn2_to_ascii_8z(wild ? name + 2 : name, &ascii,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (*rc != IDN2_OK)
		return NULL;
	out = name_lower_dup(wild ? "*." : "", ascii, strlen(ascii), err);
	idn.idn2_free(ascii);
	if (out == NULL)
		*rc = IDN2_MALLOC;
	return out;
}

/* name_quote - name for a message: bytes that are not printable UTF-8 text
 * (controls, or any byte >= 0x80 when the text is not UTF-8) as \xNN. */
static void
name_quote(const char *name, bool utf8, char *out, size_t size)
{
	size_t o = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0' && o + 5 < size; p++) {
		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && !utf8))
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = '\0';
}

/* mc_name_to_alabel - name with U-labels as A-labels, lower-cased (new). */
char *
mc_name_to_alabel(const char *name, struct mc_err *err)
{
	char q[300], *out;
	int rc;

	if (name_is_ascii(name))
		return name_lower_dup("", name, strlen(name), err);
	out = name_idna(name, &rc, err);
	if (out != NULL || rc == IDN2_MALLOC)
		return out;
	name_quote(name, rc != IDN2_ENCODING_ERROR, q, sizeof(q));
	mc_err_set(err, MC_ERR_CONFIG,
	    "\"%s\" is not a valid international name (%s); check the "
	    "spelling or write its xn-- form", q, idn.idn2_strerror(rc));
	return NULL;
}

/* mc_name_check_host - whether an A-label name is a host a client may ask
 * for: LDH labels, lengths, xn-- labels that decode; one label is enough. */
int
mc_name_check_host(const char *name, struct mc_err *err)
{
	size_t len = strlen(name), start = 0, i;
	char q[300], *u = NULL;
	struct mc_err why;
	int rc;

	mc_err_clear(&why);
	if (len == 0)
		mc_err_set(&why, MC_ERR_CONFIG, "the name is empty");
	else if (len > NAME_MAX_LEN)
		mc_err_set(&why, MC_ERR_CONFIG,
		    "%zu characters; a DNS name has at most %d", len, NAME_MAX_LEN);
	for (i = 0; why.cat == MC_ERR_NONE && i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		if (label_check(name + start, i - start, &why) == -1)
			break;
		start = i + 1;
	}
	if (why.cat == MC_ERR_NONE && strstr(name, "xn--") != NULL) {
		if (mc_dl_load(&name_idn2_dl, err) == -1)
			return -1;
		rc = idn.idn2_to_unicode_8z8z(name, &u, 0);
		if (rc != IDN2_OK)
			mc_err_set(&why, MC_ERR_CONFIG, "%s",
			    idn.idn2_strerror(rc));
		idn.idn2_free(u);
	}
	if (why.cat == MC_ERR_NONE)
		return 0;
	name_quote(name, false, q, sizeof(q));
	return mc_err_set(err, MC_ERR_CONFIG,
	    "\"%s\" is not a valid DNS name: %s", q, why.msg);
}

/* mc_name_to_ulabel - name with A-labels decoded for display (new). */
char *
mc_name_to_ulabel(const char *name, struct mc_err *err)
{
	bool wild = strncmp(name, "*.", 2) == 0;
	char *u = NULL, *out;
	int rc;

	if (strstr(name, "xn--") == NULL && strstr(name, "XN--") == NULL) {
		out = strdup(name);
		if (out == NULL)
			mc_err_set(err, MC_ERR_SYS, "out of memory");
		return out;
	}
	if (mc_dl_load(&name_idn2_dl, err) == -1)
		return NULL;
	rc = idn.idn2_to_unicode_8z8z(wild ? name + 2 : name, &u, 0);
	if (rc != IDN2_OK) {
		mc_err_set(err, MC_ERR_CONFIG, "\"%.253s\": %s", name,
		    idn.idn2_strerror(rc));
		return NULL;
	}
	out = malloc(strlen(u) + 3);
	if (out != NULL)
		snprintf(out, strlen(u) + 3, "%s%s", wild ? "*." : "", u);
	else
		mc_err_set(err, MC_ERR_SYS, "out of memory");
	idn.idn2_free(u);
	return out;
}

/* name_to_ascii - name itself (ASCII) or its A-label form in *conv (new);
 * an error without the name (the config parser quotes it). */
static const char *
name_to_ascii(const char *name, char **conv, struct mc_err *err)
{
	int rc;

	*conv = NULL;
	if (name_is_ascii(name))
		return name;
	*conv = name_idna(name, &rc, err);
	if (*conv == NULL && rc != IDN2_MALLOC)
		mc_err_set(err, MC_ERR_CONFIG,
		    "not a valid international name (%s); check the spelling or "
		    "write its xn-- form", idn.idn2_strerror(rc));
	return *conv;
}

/* name_dns - validate an ASCII DNS name and return it lower-cased. */
static char *
name_dns(const char *name, bool allow_wildcard, struct mc_err *err)
{
	size_t len, i;
	char *out;

	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (name_check(name, len, allow_wildcard, err) == -1)
		return NULL;
	out = malloc(len + 1);
	if (out == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	for (i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[len] = '\0';
	return out;
}

/* mc_name_normalize - validate a DNS name (U-labels become A-labels;
 * returned lower-cased) or an IP address (returned in canonical text
 * form); a new string. */
char *
mc_name_normalize(const char *name, bool allow_wildcard, struct mc_err *err)
{
	char *out, *conv;
	bool is_ip;

	out = name_ip_text(name, &is_ip, err);
	if (is_ip)
		return out;
	name = name_to_ascii(name, &conv, err);
	if (name == NULL)
		return NULL;
	out = name_dns(name, allow_wildcard, err);
	free(conv);
	return out;
}

/* duration_unit - seconds per unit suffix, or 0 if c is not a unit. */
static long
duration_unit(char c)
{
	switch (c) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	default:
		return 0;
	}
}

/* mc_parse_duration - "90", "30s", "5m", "12h", "30d" into seconds. */
int
mc_parse_duration(const char *text, long *out, struct mc_err *err)
{
	const char *p = text;
	long value = 0, unit = 1;

	if (*p == '\0')
		return mc_err_set(err, MC_ERR_CONFIG,
		    "empty duration; write a number with s, m, h or d, e.g. 30d");
	if (!isdigit((unsigned char)*p))
		return mc_err_set(err, MC_ERR_CONFIG,
		    "\"%s\" is not a duration; write a whole number with s, m, h or d, "
		    "e.g. 30d", text);
	for (; isdigit((unsigned char)*p); p++) {
		if (value > (LONG_MAX - (*p - '0')) / 10)
			return mc_err_set(err, MC_ERR_CONFIG,
			    "\"%s\" is too large for a duration", text);
		value = value * 10 + (*p - '0');
	}
	if (*p != '\0') {
		unit = duration_unit(*p);
		if (unit == 0 || p[1] != '\0')
			return mc_err_set(err, MC_ERR_CONFIG,
			    "\"%s\" is not a duration; write a whole number with s, m, h "
			    "or d, e.g. 30d", text);
	}
	if (value > LONG_MAX / unit)
		return mc_err_set(err, MC_ERR_CONFIG,
		    "\"%s\" is too large for a duration", text);
	*out = value * unit;
	return 0;
}

/* tlsa_proto - the length of "_tcp." etc. at s, or 0. */
static size_t
tlsa_proto(const char *s)
{
	static const char *const protos[] = { "_tcp.", "_udp.", "_sctp." };
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strncasecmp(s, protos[i], strlen(protos[i])) == 0)
			return strlen(protos[i]);
	return 0;
}

/* mc_tlsa_name_parse - check "_PORT._tcp.HOST" and lower-case it (new string). */
char *
mc_tlsa_name_parse(const char *text, struct mc_err *err)
{
	size_t digits = 0, proto;
	long port = 0;
	char *host, *out;
	size_t size;

	if (text[0] == '_')
		for (digits = 0; isdigit((unsigned char)text[1 + digits]) && digits < 6;
		     digits++)
			port = port * 10 + (text[1 + digits] - '0');
	proto = digits > 0 && text[1 + digits] == '.' ? tlsa_proto(text + 2 + digits) : 0;
	if (proto == 0 || port < 1 || port > 65535) {
		mc_err_set(err, MC_ERR_INPUT,
		    "\"%.100s\" is not a TLSA name; write _PORT._tcp.HOST, e.g. "
		    "_25._tcp.mx.example.com", text);
		return NULL;
	}
	host = mc_name_normalize(text + 2 + digits + proto, false, err);
	if (host == NULL) {
		mc_err_prefix(err, "TLSA name \"%.100s\"", text);
		return NULL;
	}
	size = strlen(host) + proto + 8;
	out = malloc(size);
	if (out == NULL)
		mc_err_set(err, MC_ERR_SYS, "out of memory");
	else
		snprintf(out, size, "_%ld.%.*s%s", port, (int)proto,
		    text + 2 + digits, host);
	free(host);
	for (size_t i = 0; out != NULL && out[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return out;
}
