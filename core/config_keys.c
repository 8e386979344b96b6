/*
 * config_keys.c - the keys of each section and the parsers of their values.
 *
 * Each section kind has a table of keys; each row names the parser and
 * where in struct mc_config / mc_cert_conf / mc_target the value goes.
 * Parsers check a value and store it (replacing a default), or fail with
 * "FILE:LINE: KEY: what is wrong; what to do". An empty value keeps the
 * default. The EAB HMAC key is never quoted in a message.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailcert/addr.h"
#include "mailcert/config.h"
#include "mailcert/storeurl.h"

#include "core/config_int.h"

#define QUOTE_MAX 100 /* how much of a bad value a message quotes */
#define ACCOUNT_MAX 32

typedef int (*item_fn)(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const char *word, char **out);

/* field - the address of a row's field inside base. */
static void *
field(const struct cfg_key *k, char *base)
{
	return base + k->offset;
}

/* keys_store - replace the string at slot with a copy of value. */
static int
keys_store(const struct cfg_ctx *ctx, char **slot, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return mc_err_set(ctx->err, MC_ERR_SYS, "out of memory");
	if (!config_shared(*slot))
		free(*slot);
	*slot = copy;
	return 0;
}

/* keys_has_space - whether s contains a blank. */
static bool
keys_has_space(const char *s)
{
	return strpbrk(s, " \t") != NULL;
}

/* keys_text - any text (reload command, issuer name). */
static int
keys_text(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	return keys_store(ctx, field(k, base), e->value);
}

/* keys_abs_path - an absolute path. */
static int
keys_abs_path(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	if (e->value[0] != '/')
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" is not an absolute path; write it from /", QUOTE_MAX,
		    e->value);
	return keys_store(ctx, field(k, base), e->value);
}

/* keys_target_path - an absolute path in which '%' may only start %n, %k or %%. */
static int
keys_target_path(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	struct mc_err tmp;
	char *probe;

	probe = mc_config_expand_key(e->value, "x", "x", &tmp);
	if (probe == NULL)
		return config_fail(ctx, e->line, e->key, "%s", tmp.msg);
	free(probe);
	return keys_abs_path(ctx, e, k, base);
}

/* keys_https_url - an https:// URL with a host (the ACME directory). */
static int
keys_https_url(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	const char *host = e->value + strlen("https://");

	if (strncasecmp(e->value, "https://", 8) != 0 || *host == '\0' ||
	    *host == '/' || keys_has_space(e->value))
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" is not an https:// URL; the ACME directory must be "
		    "reached over https", QUOTE_MAX, e->value);
	return keys_store(ctx, field(k, base), e->value);
}

/* keys_word - one word without blanks (EAB key id, ACME profile). */
static int
keys_word(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	if (keys_has_space(e->value))
		return config_fail(ctx, e->line, e->key,
		    "must be one word; copy it exactly as the CA gave it");
	return keys_store(ctx, field(k, base), e->value);
}

/* keys_secret - a base64url secret (EAB HMAC key); never quoted. */
static int
keys_secret(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	size_t len = strlen(e->value), pad = 0, i;

	while (pad < 2 && pad < len && e->value[len - 1 - pad] == '=')
		pad++;
	for (i = 0; i < len - pad; i++) {
		unsigned char c = (unsigned char)e->value[i];

		if (!isascii(c) || !(isalnum(c) || c == '-' || c == '_'))
			return config_fail(ctx, e->line, e->key,
			    "not base64url (only A-Z a-z 0-9 - _ are allowed); copy the "
			    "key exactly as the CA gave it");
	}
	if (len - pad < 16)
		return config_fail(ctx, e->line, e->key,
		    "too short for an HMAC key; copy the whole key the CA gave you");
	return keys_store(ctx, field(k, base), e->value);
}

/* keys_mailto - check one contact: mailto:LOCAL@DOMAIN. */
static int
keys_mailto(const struct cfg_ctx *ctx, const struct cfg_entry *e, const char *word)
{
	const char *at;

	if (strncasecmp(word, "mailto:", 7) != 0)
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" is not a mailto: address; write mailto:postmaster@example.com",
		    QUOTE_MAX, word);
	at = strchr(word + 7, '@');
	if (at == NULL || at == word + 7 || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" has no valid e-mail address; write mailto:postmaster@example.com",
		    QUOTE_MAX, word);
	return 0;
}

/* keys_contact - space separated mailto: addresses. */
static int
keys_contact(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	const char *p = e->value;
	char word[512];
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, " \t");
		if (n >= sizeof(word))
			return config_fail(ctx, e->line, e->key,
			    "an address is too long; shorten it");
		memcpy(word, p, n);
		word[n] = '\0';
		if (keys_mailto(ctx, e, word) == -1)
			return -1;
		p += n;
		p += strspn(p, " \t");
	}
	return keys_store(ctx, field(k, base), e->value);
}

/* keys_duration_value - parse a duration > 0 for entry e. */
static int
keys_duration_value(const struct cfg_ctx *ctx, const struct cfg_entry *e, long *out)
{
	struct mc_err tmp;
	long v;

	if (mc_parse_duration(e->value, &v, &tmp) == -1)
		return config_fail(ctx, e->line, e->key, "%s", tmp.msg);
	if (v == 0)
		return config_fail(ctx, e->line, e->key,
		    "must be longer than 0; write e.g. 30s, 5m or 30d");
	*out = v;
	return 0;
}

/* keys_duration - a positive duration in seconds. */
static int
keys_duration(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	return keys_duration_value(ctx, e, field(k, base));
}

/* keys_renew_before - "auto" (-1) or a duration. */
static int
keys_renew_before(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	long *slot = field(k, base);

	if (strcasecmp(e->value, "auto") == 0) {
		*slot = -1;
		return 0;
	}
	return keys_duration_value(ctx, e, slot);
}

/* keys_log - auto, stderr or syslog. */
static int
keys_log(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	enum mc_log_dest *slot = field(k, base);

	if (strcasecmp(e->value, "auto") == 0)
		*slot = MC_LOG_AUTO;
	else if (strcasecmp(e->value, "stderr") == 0)
		*slot = MC_LOG_STDERR;
	else if (strcasecmp(e->value, "syslog") == 0)
		*slot = MC_LOG_SYSLOG;
	else
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" is not a log destination; use auto, stderr or syslog",
		    QUOTE_MAX, e->value);
	return 0;
}

/* keys_key_types - one key type, or two: one ECDSA and one RSA (dual). */
static int
keys_key_types(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	enum mc_key_type *types = field(k, base), got[MC_KEY_TYPES_MAX + 1];
	char word[64];
	const char *p = e->value;
	size_t n = 0, len;

	while (*(p += strspn(p, " \t,")) != '\0') {
		len = strcspn(p, " \t,");
		memcpy(word, p, len < sizeof(word) ? len : 0);
		word[len < sizeof(word) ? len : 0] = '\0';
		p += len;
		if (n == MC_KEY_TYPES_MAX || len >= sizeof(word) ||
		    mc_key_type_parse(word, &got[n]) == -1)
			return config_fail(ctx, e->line, e->key,
			    "\"%.*s\" is not a key type or a pair of them; use one "
			    "of rsa-2048 rsa-3072 rsa-4096 ecdsa-p256 ecdsa-p384, or "
			    "one ECDSA and one RSA type for dual certificates "
			    "(e.g. ecdsa-p256 rsa-2048)", QUOTE_MAX, e->value);
		n++;
	}
	if (n == 2 && mc_key_type_is_ec(got[0]) == mc_key_type_is_ec(got[1]))
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\": two key types must be one ECDSA and one RSA type "
		    "(dual certificates, e.g. ecdsa-p256 rsa-2048)", QUOTE_MAX,
		    e->value);
	memcpy(types, got, n * sizeof(got[0]));
	*(size_t *)(void *)(base + k->count_offset) = n;
	return 0;
}

/* keys_challenge - http-01, tls-alpn-01 or dns-01. */
static int
keys_challenge(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	if (names_challenge_parse(e->value, field(k, base)) == -1)
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" is not a challenge type; use one of http-01 tls-alpn-01 "
		    "dns-01", QUOTE_MAX, e->value);
	return 0;
}

/* keys_bool - yes/no, true/false, on/off, 1/0. */
static int
keys_bool(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	bool *slot = field(k, base);
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(e->value, yes[i]) == 0) {
			*slot = true;
			return 0;
		}
		if (strcasecmp(e->value, no[i]) == 0) {
			*slot = false;
			return 0;
		}
	}
	return config_fail(ctx, e->line, e->key,
	    "\"%.*s\" is not yes or no; write yes or no", QUOTE_MAX, e->value);
}

/* keys_dns_server - ADDR[:PORT] of a DNS server: an IP address, since the
 * resolver must not depend on DNS to find its server. */
static int
keys_dns_server(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	char host[64];
	unsigned char bin[16];
	struct mc_err tmp;
	int port;

	if (strcmp(k->name, "resolver") == 0 && strcmp(e->value, "recursive") == 0)
		return keys_store(ctx, field(k, base), e->value);
	if (mc_hostport_parse(e->value, host, sizeof(host), &port, &tmp) == -1)
		return config_fail(ctx, e->line, e->key, "%s", tmp.msg);
	if (inet_pton(AF_INET, host, bin) != 1 && inet_pton(AF_INET6, host, bin) != 1)
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" is not an IP address; write the server's address, e.g. "
		    "127.0.0.1 or [2001:db8::53]:53%s", QUOTE_MAX, e->value,
		    strcmp(k->name, "resolver") == 0 ? ", or recursive" : "");
	return keys_store(ctx, field(k, base), e->value);
}

/* keys_listen - HOST:PORT for a built-in challenge responder, checked by
 * the parser the responder itself uses. */
static int
keys_listen(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	struct mc_listen_addr la;
	struct mc_err tmp;

	if (mc_addr_listen_parse(e->value, &la, &tmp) == -1)
		return config_fail(ctx, e->line, e->key, "%s", tmp.msg);
	return keys_store(ctx, field(k, base), e->value);
}

/* keys_count_words - how many blank-separated words p has, at most max. */
static size_t
keys_count_words(const char *p, size_t max)
{
	size_t n = 0;

	for (p += strspn(p, " \t"); *p != '\0' && n < max; n++) {
		p += strcspn(p, " \t");
		p += strspn(p, " \t");
	}
	return n;
}

/* keys_list - split e->value into words, check each with fn, refuse repeats. */
static int
keys_list(const struct cfg_ctx *ctx, const struct cfg_entry *e, char ***items,
    size_t *count, item_fn fn, size_t max)
{
	const char *p = e->value + strspn(e->value, " \t");
	char **v = NULL, *word = NULL, *item = NULL;
	size_t n = 0, len, i;
	int ret = -1;

	v = calloc(keys_count_words(p, max) + 1, sizeof(*v));
	if (v == NULL)
		return mc_err_set(ctx->err, MC_ERR_SYS, "out of memory");
	for (; *p != '\0'; p += strspn(p, " \t")) {
		len = strcspn(p, " \t");
		word = strndup(p, len);
		p += len;
		if (word == NULL) {
			mc_err_set(ctx->err, MC_ERR_SYS, "out of memory");
			goto out;
		}
		if (n == max) {
			config_fail(ctx, e->line, e->key,
			    "more than %zu entries; split them over several sections", max);
			goto out;
		}
		if (fn(ctx, e, word, &item) == -1)
			goto out;
		for (i = 0; i < n; i++) {
			if (strcmp(v[i], item) == 0) {
				config_fail(ctx, e->line, e->key,
				    "\"%.*s\" is listed twice; list it once", QUOTE_MAX, item);
				free(item);
				goto out;
			}
		}
		v[n++] = item;
		free(word);
		word = NULL;
	}
	*items = v;
	*count = n;
	v = NULL;
	ret = 0;
out:
	free(word);
	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
	return ret;
}

/* keys_name_item - one DNS name or IP address, normalized (wildcards and
 * addresses are checked later, with the challenge). */
static int
keys_name_item(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const char *word, char **out)
{
	struct mc_err tmp;

	*out = mc_name_normalize(word, true, &tmp);
	if (*out == NULL)
		return config_fail(ctx, e->line, e->key, "\"%.*s\": %s", QUOTE_MAX, word,
		    tmp.msg);
	return 0;
}

/* keys_target_item - one target name (existence checked after all sections). */
static int
keys_target_item(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const char *word, char **out)
{
	if (!mc_cert_name_valid(word))
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" is not a target name; use the NAME of a [target NAME] "
		    "section or postfix, dovecot, exim", QUOTE_MAX, word);
	*out = strdup(word);
	if (*out == NULL)
		return mc_err_set(ctx->err, MC_ERR_SYS, "out of memory");
	return 0;
}

/* keys_verify_item - one endpoint URL, checked by the parser verify uses. */
static int
keys_verify_item(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const char *word, char **out)
{
	struct mc_endpoint ep;
	struct mc_err tmp;

	if (mc_addr_endpoint_parse(word, &ep, &tmp) == -1)
		return config_fail(ctx, e->line, e->key, "%s", tmp.msg);
	*out = strdup(word);
	if (*out == NULL)
		return mc_err_set(ctx->err, MC_ERR_SYS, "out of memory");
	return 0;
}

/* keys_names - the DNS names and IP addresses of a cert (at most CFG_MAX_NAMES). */
static int
keys_names(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	return keys_list(ctx, e, field(k, base), (size_t *)(void *)(base + k->count_offset),
	    keys_name_item, CFG_MAX_NAMES);
}

/* keys_targets - the target names of a cert. */
static int
keys_targets(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	return keys_list(ctx, e, field(k, base), (size_t *)(void *)(base + k->count_offset),
	    keys_target_item, CFG_MAX_LIST);
}

/* keys_verify - the endpoint URLs of a cert, kept as written (verify) and
 * parsed (endpoints), so nothing at run time parses them again. */
static int
keys_verify(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	struct mc_cert_conf *cc = (struct mc_cert_conf *)(void *)base;
	size_t i;

	if (k->offset != offsetof(struct mc_cert_conf, verify))
		abort(); /* the parser of [cert] verify only */
	if (keys_list(ctx, e, &cc->verify, &cc->n_verify, keys_verify_item,
	    CFG_MAX_LIST) == -1)
		return -1;
	free(cc->endpoints);
	cc->endpoints = calloc(cc->n_verify + 1, sizeof(*cc->endpoints));
	if (cc->endpoints == NULL)
		return mc_err_set(ctx->err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < cc->n_verify; i++)
		if (mc_addr_endpoint_parse(cc->verify[i], &cc->endpoints[i],
		    ctx->err) == -1)
			abort(); /* keys_verify_item accepted it */
	return 0;
}

/* keys_tlsa_item - one TLSA owner name _PORT._tcp.HOST. */
static int
keys_tlsa_item(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const char *word, char **out)
{
	struct mc_err tmp;

	*out = mc_tlsa_name_parse(word, &tmp);
	if (*out == NULL)
		return config_fail(ctx, e->line, e->key, "%s", tmp.msg);
	return 0;
}

/* keys_tlsa - the TLSA names that pin a cert's key. */
static int
keys_tlsa(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	return keys_list(ctx, e, field(k, base), (size_t *)(void *)(base + k->count_offset),
	    keys_tlsa_item, CFG_MAX_LIST);
}

/* keys_mode - octal mode of files holding the key: within 0640, owner-readable. */
static int
keys_mode(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	mode_t *slot = field(k, base), m = 0;
	size_t i, len = strlen(e->value);

	for (i = 0; i < len; i++) {
		if (len > 4 || e->value[i] < '0' || e->value[i] > '7')
			return config_fail(ctx, e->line, e->key,
			    "\"%.*s\" is not an octal mode; write e.g. 0600 or 0640",
			    QUOTE_MAX, e->value);
		m = (mode_t)(m * 8 + (mode_t)(e->value[i] - '0'));
	}
	if ((m & 0007) != 0)
		return config_fail(ctx, e->line, e->key,
		    "%04o lets every local user read or change the private key; use "
		    "0600, or 0640 with group", (unsigned)m);
	if ((m & ~(mode_t)0640) != 0 || (m & 0400) == 0)
		return config_fail(ctx, e->line, e->key,
		    "%04o does not suit a private key file; use 0600, or 0640 with group",
		    (unsigned)m);
	*slot = m;
	return 0;
}

/* keys_account - a user or group name, or a numeric id (resolved at deploy). */
static int
keys_account(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	const char *v = e->value;
	size_t i, len = strlen(v);
	bool ok = len > 0 && len <= ACCOUNT_MAX && v[0] != '-';

	for (i = 0; ok && i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		ok = isascii(c) && (isalnum(c) || c == '_' || c == '-' || c == '.');
	}
	if (!ok)
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" is not a user or group name; write e.g. Debian-exim or a "
		    "numeric id", QUOTE_MAX, v);
	return keys_store(ctx, field(k, base), v);
}

/* keys_keep_versions - how many versions to keep: at least 2 (the current
 * version and the one before it are never removed). */
static int
keys_keep_versions(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	unsigned *slot = field(k, base);
	size_t i, len = strlen(e->value);
	long v = len > 0 && len <= 5 ? 0 : -1;

	for (i = 0; v >= 0 && i < len; i++)
		v = isdigit((unsigned char)e->value[i]) ? v * 10 + (e->value[i] - '0')
							: -1;
	if (v < 2 || v > 10000)
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" is not a number from 2 to 10000; the current version "
		    "and the one before it are always kept", QUOTE_MAX, e->value);
	*slot = (unsigned)v;
	return 0;
}

static const char *const target_type_names[] = {
	[MC_TARGET_POSTFIX] = "postfix",
	[MC_TARGET_DOVECOT] = "dovecot",
	[MC_TARGET_EXIM] = "exim",
	[MC_TARGET_FILES] = "files",
};

#define N_TARGET_TYPES (sizeof(target_type_names) / sizeof(target_type_names[0]))

/* config_target_type_parse - "postfix" etc. (any case) to a type; 0 or -1. */
int
config_target_type_parse(const char *text, enum mc_target_type *out)
{
	size_t i;

	for (i = 0; i < N_TARGET_TYPES; i++) {
		if (strcasecmp(text, target_type_names[i]) == 0) {
			*out = (enum mc_target_type)i;
			return 0;
		}
	}
	return -1;
}

/* config_target_type_name - "postfix" etc. */
const char *
config_target_type_name(enum mc_target_type type)
{
	if ((size_t)type >= N_TARGET_TYPES)
		abort();
	return target_type_names[type];
}

/* keys_target_type - postfix, dovecot, exim or files. */
static int
keys_target_type(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	if (config_target_type_parse(e->value, field(k, base)) == -1)
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" is not a target type; use one of postfix dovecot exim files",
		    QUOTE_MAX, e->value);
	return 0;
}

/* keys_store_url - etcd://HOST:PORT[,HOST:PORT...]/PREFIX (fleet mode). */
static int
keys_store_url(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	struct mc_store_url url;
	struct mc_err tmp;

	if (mc_store_url_parse(e->value, &url, &tmp) == -1)
		return config_fail(ctx, e->line, e->key, "%s", tmp.msg);
	return keys_store(ctx, field(k, base), e->value);
}

/* keys_node - this host's name in the fleet: a safe key/file name. */
static int
keys_node(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base)
{
	if (!mc_cert_name_valid(e->value))
		return config_fail(ctx, e->line, e->key,
		    "\"%.*s\" is not a node name; use letters, digits, '.', '-' "
		    "and '_' (e.g. the short hostname)", QUOTE_MAX, e->value);
	return keys_store(ctx, field(k, base), e->value);
}

#define G(name, fn, member) { name, fn, offsetof(struct mc_config, member), 0 }
#define C(name, fn, member) { name, fn, offsetof(struct mc_cert_conf, member), 0 }
#define CL(name, fn, member, count)                                  \
	{ name, fn, offsetof(struct mc_cert_conf, member),           \
	  offsetof(struct mc_cert_conf, count) }
#define T(name, fn, member) { name, fn, offsetof(struct mc_target, member), 0 }

static const struct cfg_key global_keys[] = {
	G("state_dir", keys_abs_path, state_dir),
	G("directory", keys_https_url, directory),
	G("contact", keys_contact, contact),
	G("ca_bundle", keys_abs_path, ca_bundle),
	G("trust_bundle", keys_abs_path, trust_bundle),
	G("eab_kid", keys_word, eab_kid),
	G("eab_hmac_key", keys_secret, eab_hmac_key),
	G("renew_before", keys_renew_before, timing.renew_before),
	G("hooks_dir", keys_abs_path, hooks_dir),
	G("hook_timeout", keys_duration, timing.hook_timeout),
	G("verify_timeout", keys_duration, timing.verify_timeout),
	G("verify_without_sni", keys_bool, timing.verify_without_sni),
	G("log", keys_log, log),
	G("include", keys_abs_path, include),
	G("store", keys_store_url, store),
	G("node", keys_node, node),
	G("store_key_file", keys_abs_path, store_key_file),
	G("store_ca", keys_abs_path, store_ca),
	G("store_cert", keys_abs_path, store_cert),
	G("store_key", keys_abs_path, store_key),
	G("store_lease", keys_duration, store_lease),
	G("store_wait", keys_duration, store_wait),
	G("resolver", keys_dns_server, resolver),
	G("dnssec_anchor", keys_abs_path, dnssec_anchor),
	G("nsupdate_server", keys_dns_server, nsupdate_server),
	G("nsupdate_key", keys_abs_path, nsupdate_key),
	/* dry runs, pruning, metrics */
	G("staging_directory", keys_https_url, staging_directory),
	G("keep_versions", keys_keep_versions, keep_versions),
	G("metrics_file", keys_abs_path, metrics_file),
	{ NULL, NULL, 0, 0 },
};

static const struct cfg_key cert_keys[] = {
	CL("names", keys_names, names, n_names),
	CL("key_type", keys_key_types, key_types, n_key_types),
	C("reuse_key", keys_bool, reuse_key),
	C("challenge", keys_challenge, challenge),
	C("http_listen", keys_listen, http_listen),
	C("webroot", keys_abs_path, webroot),
	C("tls_alpn_listen", keys_listen, tls_alpn_listen),
	C("dns_hook", keys_abs_path, dns_hook),
	C("dns_wait", keys_duration, dns_wait),
	C("order_timeout", keys_duration, order_timeout),
	C("preferred_chain", keys_text, preferred_chain),
	C("profile", keys_word, profile),
	C("deploy_hook", keys_abs_path, deploy_hook),
	CL("targets", keys_targets, targets, n_targets),
	CL("verify", keys_verify, verify, n_verify),
	C("renew_before", keys_renew_before, timing.renew_before),
	C("hook_timeout", keys_duration, timing.hook_timeout),
	C("verify_timeout", keys_duration, timing.verify_timeout),
	C("verify_without_sni", keys_bool, timing.verify_without_sni),
	CL("tlsa", keys_tlsa, tlsa, n_tlsa),
	C("tlsa_hook", keys_abs_path, tlsa_hook),
	{ NULL, NULL, 0, 0 },
};

static const struct cfg_key target_keys[] = {
	T("type", keys_target_type, type),
	T("chain_file", keys_target_path, chain_file),
	T("cert_file", keys_target_path, cert_file),
	T("key_file", keys_target_path, key_file),
	T("fullchain_file", keys_target_path, fullchain_file),
	T("combined_file", keys_target_path, combined_file),
	T("owner", keys_account, owner),
	T("group", keys_account, group),
	T("mode", keys_mode, mode),
	T("allow_symlink", keys_bool, allow_symlink),
	T("reload", keys_text, reload),
	T("config", keys_abs_path, config),
	{ NULL, NULL, 0, 0 },
};

/* keys_table - the key table of a section kind. */
static const struct cfg_key *
keys_table(enum cfg_kind kind)
{
	switch (kind) {
	case CFG_GLOBAL:
		return global_keys;
	case CFG_CERT:
		return cert_keys;
	case CFG_TARGET:
		return target_keys;
	}
	abort();
}

/* config_kind_name - "global", "cert", "target". */
const char *
config_kind_name(enum cfg_kind kind)
{
	switch (kind) {
	case CFG_GLOBAL:
		return "global";
	case CFG_CERT:
		return "cert";
	case CFG_TARGET:
		return "target";
	}
	abort();
}

/* config_key_find - the table row of key in sections of kind, or NULL. */
const struct cfg_key *
config_key_find(enum cfg_kind kind, const char *key)
{
	const struct cfg_key *k;

	for (k = keys_table(kind); k->name != NULL; k++)
		if (strcmp(k->name, key) == 0)
			return k;
	return NULL;
}

/* keys_distance - edit distance of a and b (both at most 64 bytes). */
static size_t
keys_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[66], cur[66], i, j, best;

	if (la > 64 || lb > 64)
		return 99;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			best = prev[j - 1] + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			cur[j] = best;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

/* config_key_hint - advice for an unknown key: where it belongs, or a close key. */
void
config_key_hint(enum cfg_kind kind, const char *key, char *buf, size_t size)
{
	static const enum cfg_kind kinds[] = { CFG_GLOBAL, CFG_CERT, CFG_TARGET };
	const struct cfg_key *k, *close = NULL;
	size_t i, d, best = 3;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (kinds[i] != kind && config_key_find(kinds[i], key) != NULL) {
			snprintf(buf, size, "; it belongs in a [%s%s] section",
			    config_kind_name(kinds[i]), kinds[i] == CFG_GLOBAL ? "" : " NAME");
			return;
		}
	}
	for (k = keys_table(kind); k->name != NULL; k++) {
		d = keys_distance(key, k->name);
		if (d < best) {
			best = d;
			close = k;
		}
	}
	if (close != NULL)
		snprintf(buf, size, "; did you mean %s?", close->name);
	else
		snprintf(buf, size, "; see mailcert.conf(5) for the keys of this section");
}

/* config_apply - parse every non-empty entry of sec into the struct at base. */
int
config_apply(const struct cfg_ctx *ctx, const struct cfg_section *sec, void *base)
{
	const struct cfg_key *k;
	size_t i;

	for (i = 0; i < sec->n_entries; i++) {
		const struct cfg_entry *e = &sec->entries[i];

		if (e->value[0] == '\0')
			continue; /* empty: keep the default */
		k = config_key_find(sec->kind, e->key);
		if (k == NULL)
			abort(); /* config_lex accepts known keys only */
		if (k->parse(ctx, e, k, base) == -1)
			return -1;
	}
	return 0;
}
