/*
 * storeurl.c - the fleet's `store` URL (see storeurl.h).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mailcert/config.h"
#include "mailcert/storeurl.h"

#include "core/config_int.h"

#define QUOTE_MAX 120
#define SCHEME "etcd://"
#define DEFAULT_PREFIX "mailcert"

/* url_fail - MC_ERR_CONFIG naming the URL and the problem. */
static int
url_fail(struct mc_err *err, const char *text, const char *why)
{
	return mc_err_set(err, MC_ERR_CONFIG,
	                  "\"%.*s\": %s; write etcd://HOST:PORT[,HOST:PORT...]/"
	                  "PREFIX, e.g. etcd://10.0.0.1:2379,10.0.0.2:2379/"
	                  "mailcert",
	                  QUOTE_MAX, text, why);
}

/* url_endpoint - check one HOST[:PORT] of len bytes and store it. */
static int
url_endpoint(const char *text, const char *p, size_t len,
             struct mc_store_url *u, struct mc_err *err)
{
	char word[MC_STORE_ENDPOINT_MAX], host[MC_STORE_ENDPOINT_MAX];
	struct mc_err tmp;
	int port, n;

	if (len == 0)
		return url_fail(err, text, "an empty member address");
	if (len >= sizeof(word))
		return url_fail(err, text, "a member address is too long");
	if (u->n_endpoints == MC_STORE_MAX_ENDPOINTS)
		return url_fail(err, text, "more than 16 members");
	memcpy(word, p, len);
	word[len] = '\0';
	if (mc_hostport_parse(word, host, sizeof(host), &port, &tmp) == -1)
		return mc_err_set(err, MC_ERR_CONFIG, "store: %s", tmp.msg);
	n = snprintf(u->endpoints[u->n_endpoints], MC_STORE_ENDPOINT_MAX,
	             strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
	             port ? port : MC_STORE_DEFAULT_PORT);
	if (n < 0 || n >= MC_STORE_ENDPOINT_MAX)
		return url_fail(err, text, "a member address is too long");
	u->n_endpoints++;
	return 0;
}

/* url_prefix - check PREFIX (may be empty) and store "/PREFIX". */
static int
url_prefix(const char *text, const char *p, struct mc_store_url *u,
           struct mc_err *err)
{
	size_t i, len = strlen(p);
	bool slash = true; /* at the start of a segment */

	if (len == 0) {
		p = DEFAULT_PREFIX;
		len = strlen(p);
	}
	if (len > MC_STORE_PREFIX_MAX)
		return url_fail(err, text, "the prefix is too long");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '/') {
			if (slash)
				return url_fail(err, text,
				                "an empty segment in the prefix");
			slash = true;
		} else if (isascii(c) &&
		           (isalnum(c) || c == '.' || c == '-' || c == '_')) {
			if (slash && c == '.' && (p[i + 1] == '.' ||
			                          p[i + 1] == '/' ||
			                          p[i + 1] == '\0'))
				return url_fail(err, text,
				                "'.' or '..' in the prefix");
			slash = false;
		} else {
			return url_fail(err, text,
			                "the prefix may hold letters, digits, "
			                "'.', '-', '_' and '/' only");
		}
	}
	if (slash)
		return url_fail(err, text, "the prefix ends with '/'");
	snprintf(u->prefix, sizeof(u->prefix), "/%s", p);
	return 0;
}

/* mc_store_url_parse - parse text into *out (written only on success). */
int
mc_store_url_parse(const char *text, struct mc_store_url *out,
                   struct mc_err *err)
{
	struct mc_store_url u;
	const char *p, *end;
	size_t n;

	memset(&u, 0, sizeof(u));
	if (strncasecmp(text, SCHEME, strlen(SCHEME)) != 0)
		return url_fail(err, text, "not an etcd:// URL");
	p = text + strlen(SCHEME);
	end = p + strcspn(p, "/");
	while (p < end) {
		n = strcspn(p, ",/");
		if (url_endpoint(text, p, n, &u, err) == -1)
			return -1;
		p += n;
		if (*p == ',' && p + 1 == end)
			return url_fail(err, text, "a trailing ','");
		if (*p == ',')
			p++;
	}
	if (u.n_endpoints == 0)
		return url_fail(err, text, "no etcd member");
	if (url_prefix(text, *end == '/' ? end + 1 : end, &u, err) == -1)
		return -1;
	*out = u;
	return 0;
}

/* config_check_store - the fleet keys of [global] fit together. */
int
config_check_store(const struct cfg_ctx *ctx, const struct cfg_section *sec,
                   const struct mc_config *cfg)
{
	const struct cfg_entry *e;

	if (cfg->store == NULL) {
		e = config_entry_find(sec, "store_key_file");
		if (e == NULL || e->value[0] == '\0')
			e = config_entry_find(sec, "node");
		if (e != NULL && e->value[0] != '\0')
			return config_fail(ctx, e->line, e->key,
			                   "set without store; set store = "
			                   "etcd://... for fleet mode, or "
			                   "remove it");
		return 0;
	}
	e = config_entry_find(sec, "store");
	if (cfg->store_key_file == NULL)
		return config_fail(ctx, e->line, "store",
		                   "fleet mode needs store_key_file (a file of 32 "
		                   "random bytes, e.g. `openssl rand 32 > FILE`, "
		                   "mode 0600, the same on every host): private "
		                   "keys go to etcd only encrypted with it");
	if ((cfg->store_cert == NULL) != (cfg->store_key == NULL)) {
		e = config_entry_find(sec, cfg->store_cert ? "store_cert"
		                                           : "store_key");
		return config_fail(ctx, e->line, e->key,
		                   "set store_cert and store_key together (the "
		                   "client certificate for etcd and its key)");
	}
	return 0;
}
