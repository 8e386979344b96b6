/*
 * storeurl.h - the `store` URL of fleet mode (INTERFACE.md):
 *
 *   etcd://HOST[:PORT][,HOST[:PORT]...][/PREFIX]
 *
 * HOST is a DNS name, an IPv4 literal or a bracketed IPv6 literal (the one
 * HOST[:PORT] parser of core, mc_hostport_parse); PORT defaults to 2379,
 * etcd's client port. Up to MC_STORE_MAX_ENDPOINTS members, in the order
 * requests try them. PREFIX is the key prefix of the fleet's tree in etcd:
 * letters, digits, '.', '-', '_' and single '/' between segments; empty
 * means "mailcert". Whether requests use http or https is not part of the
 * URL: https when store_ca or store_cert is set.
 *
 * The parser is used by the config loader and by fleet/ at run time.
 * Errors: MC_ERR_CONFIG quoting the text and saying what to write.
 * Ownership: fixed-size copies; nothing to free.
 */
#ifndef MAILCERT_STOREURL_H
#define MAILCERT_STOREURL_H

#include <stddef.h>

#include "mailcert/err.h"

#define MC_STORE_MAX_ENDPOINTS 16
#define MC_STORE_ENDPOINT_MAX 272 /* "[v6]:port" or "name:port" + NUL */
#define MC_STORE_PREFIX_MAX 200
#define MC_STORE_DEFAULT_PORT 2379

struct mc_store_url {
	char endpoints[MC_STORE_MAX_ENDPOINTS][MC_STORE_ENDPOINT_MAX];
	size_t n_endpoints;
	char prefix[MC_STORE_PREFIX_MAX + 2]; /* "/PREFIX", no trailing '/' */
};

/* mc_store_url_parse - parse text into *out (written only on success). */
int mc_store_url_parse(const char *text, struct mc_store_url *out,
                       struct mc_err *err);

#endif
