/*
 * tls_cache.c - the client SSL_CTX of a run (struct mc_probe_cache, see
 * mailcert/verify.h), one per distinct set of the options that shape a
 * context, shared by the probes of every thread.
 *
 * A context is built under the cache's lock (so two threads never build
 * the same one) and is never changed after: creating an SSL from it is
 * safe from any thread, and its session cache is off. A context whose
 * options are rejected is not kept (each probe reports the same error).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "verify/verify_int.h"

#define CACHE_MAX 32 /* option sets kept; check uses 7, verify 2 */

/* The options a context depends on, and the context. */
struct cache_entry {
	int min_version, max_version, security_level;
	enum mc_key_alg key_alg;
	char *cipher_list, *ciphersuites, *alpn; /* copies; NULL: default */
	SSL_CTX *ctx;
};

struct mc_probe_cache {
	pthread_mutex_t lock;
	struct cache_entry v[CACHE_MAX];
	size_t n;
};

/* mc_probe_cache_new - an empty cache. */
struct mc_probe_cache *
mc_probe_cache_new(struct mc_err *err)
{
	struct mc_probe_cache *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		mc_err_set(err, MC_ERR_SYS, "TLS context cache: mutex");
		return NULL;
	}
	return c;
}

/* entry_clear - free one entry's copies and context. */
static void
entry_clear(struct cache_entry *e)
{
	free(e->cipher_list);
	free(e->ciphersuites);
	free(e->alpn);
	SSL_CTX_free(e->ctx);
	memset(e, 0, sizeof(*e));
}

/* mc_probe_cache_free - free the cache and its contexts. */
void
mc_probe_cache_free(struct mc_probe_cache *cache)
{
	size_t i;

	if (cache == NULL)
		return;
	for (i = 0; i < cache->n; i++)
		entry_clear(&cache->v[i]);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

/* same_str - two optional strings are equal. */
static bool
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* entry_matches - whether e was built from the same context options. */
static bool
entry_matches(const struct cache_entry *e, const struct mc_probe_opts *o)
{
	return e->min_version == o->min_version &&
	       e->max_version == o->max_version &&
	       e->security_level == o->security_level &&
	       e->key_alg == o->key_alg &&
	       same_str(e->cipher_list, o->cipher_list) &&
	       same_str(e->ciphersuites, o->ciphersuites) &&
	       same_str(e->alpn, o->alpn);
}

/* dup_opt - a copy of an optional string; false when out of memory. */
static bool
dup_opt(const char *s, char **out)
{
	*out = s != NULL ? strdup(s) : NULL;
	return s == NULL || *out != NULL;
}

/* cache_keep - remember ctx for o in a free slot (best effort: a context
 * that cannot be kept still serves its probe). */
static void
cache_keep(struct mc_probe_cache *c, const struct mc_probe_opts *o,
           SSL_CTX *ctx)
{
	struct cache_entry *e = &c->v[c->n];

	if (c->n == CACHE_MAX)
		return;
	e->min_version = o->min_version;
	e->max_version = o->max_version;
	e->security_level = o->security_level;
	e->key_alg = o->key_alg;
	if (!dup_opt(o->cipher_list, &e->cipher_list) ||
	    !dup_opt(o->ciphersuites, &e->ciphersuites) ||
	    !dup_opt(o->alpn, &e->alpn) || !SSL_CTX_up_ref(ctx)) {
		e->ctx = NULL;
		entry_clear(e);
		return;
	}
	e->ctx = ctx;
	c->n++;
}

/* verify_tls_ctx_get - the SSL_CTX for opts, shared or new. */
SSL_CTX *
verify_tls_ctx_get(const struct mc_probe_opts *opts, struct mc_err *err)
{
	struct mc_probe_cache *c = opts->cache;
	SSL_CTX *ctx = NULL;
	size_t i;

	if (c == NULL)
		return verify_tls_ctx(opts, err);
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n && ctx == NULL; i++)
		if (entry_matches(&c->v[i], opts) && SSL_CTX_up_ref(c->v[i].ctx))
			ctx = c->v[i].ctx;
	if (ctx == NULL) {
		ctx = verify_tls_ctx(opts, err);
		if (ctx != NULL)
			cache_keep(c, opts, ctx);
	}
	pthread_mutex_unlock(&c->lock);
	return ctx;
}
