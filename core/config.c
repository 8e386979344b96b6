/*
 * config.c - load the configuration: defaults, [global], targets, certs.
 *
 * config_lex() (config_lex.c) turns the file into raw sections; this file
 * builds struct mc_config from them in a fixed order - [global] first,
 * wherever it stands in the file, then every [target], then the built-in
 * postfix/dovecot/exim targets that have no section, then every [cert] -
 * so a cert inherits the global timing and its target references can be
 * checked at once. Every error is MC_ERR_CONFIG "FILE:LINE: KEY: ...".
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mailcert/config.h"
#include "mailcert/pool.h"

#include "core/config_int.h"

#define DEFAULT_STATE_DIR "/var/lib/mailcert"
#define DEFAULT_DIRECTORY MC_CONFIG_DEFAULT_DIRECTORY
#define DEFAULT_HOOKS_DIR "/etc/mailcert/hooks"
#define DEFAULT_HOOK_TIMEOUT (5 * 60)
#define DEFAULT_VERIFY_TIMEOUT 30
#define DEFAULT_HTTP_LISTEN "0.0.0.0:80"
#define DEFAULT_TLS_ALPN_LISTEN "0.0.0.0:443"
#define DEFAULT_ORDER_TIMEOUT (5 * 60)
#define ORDER_TIMEOUT_MIN 10L
#define ORDER_TIMEOUT_MAX (24 * 3600L)
#define DNS_WAIT_MAX 3600L
#define DEFAULT_KEEP_VERSIONS 5
#define LE_STAGING_DIRECTORY "https://acme-staging-v02.api.letsencrypt.org/directory"

static const char *const builtin_targets[] = { "postfix", "dovecot", "exim" };

#define N_BUILTIN (sizeof(builtin_targets) / sizeof(builtin_targets[0]))

/* config_fail - MC_ERR_CONFIG "PATH:LINE: WHAT: message"; returns -1. */
int
config_fail(const struct cfg_ctx *ctx, int line, const char *what, const char *fmt, ...)
{
	char msg[MC_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return mc_err_set(ctx->err, MC_ERR_CONFIG, "%s:%d: %s: %s", ctx->path, line,
	    what, msg);
}

/* config_fail_sec - MC_ERR_CONFIG "PATH:LINE: [KIND NAME]: KEY: message". */
int
config_fail_sec(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    const char *key, const char *fmt, ...)
{
	char msg[MC_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return mc_err_set(ctx->err, MC_ERR_CONFIG, "%s:%d: [%s%s%s]: %s: %s",
	    sec->file != NULL ? sec->file : ctx->path, sec->line,
	    config_kind_name(sec->kind),
	    sec->name != NULL ? " " : "", sec->name != NULL ? sec->name : "", key, msg);
}

/* config_sec_ctx - ctx for errors in sec: its own file. */
struct cfg_ctx
config_sec_ctx(const struct cfg_ctx *ctx, const struct cfg_section *sec)
{
	struct cfg_ctx c = { sec->file != NULL ? sec->file : ctx->path,
		ctx->err };

	return c;
}

/* config_entry_find - the entry for key in sec, or NULL. Borrowed. */
const struct cfg_entry *
config_entry_find(const struct cfg_section *sec, const char *key)
{
	size_t i;

	for (i = 0; i < sec->n_entries; i++)
		if (strcmp(sec->entries[i].key, key) == 0)
			return &sec->entries[i];
	return NULL;
}

/* config_strdup_all - set each *slots[i] to a copy of values[i]; 0 or -1. */
static int
config_strdup_all(char **const slots[], const char *const values[], size_t n,
    struct mc_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		*slots[i] = strdup(values[i]);
		if (*slots[i] == NULL)
			return mc_err_set(err, MC_ERR_SYS, "out of memory");
	}
	return 0;
}

/* config_new - a config with the defaults of INTERFACE.md. */
static struct mc_config *
config_new(const char *path, struct mc_err *err)
{
	struct mc_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	char **const slots[] = { &cfg->path, &cfg->state_dir, &cfg->directory,
		&cfg->hooks_dir };
	const char *const values[] = { path, DEFAULT_STATE_DIR, DEFAULT_DIRECTORY,
		DEFAULT_HOOKS_DIR };

	if (config_strdup_all(slots, values, 4, err) == -1) {
		mc_config_free(cfg);
		return NULL;
	}
	cfg->log = MC_LOG_AUTO;
	cfg->timing.renew_before = -1;
	cfg->timing.hook_timeout = DEFAULT_HOOK_TIMEOUT;
	cfg->timing.verify_timeout = DEFAULT_VERIFY_TIMEOUT;
	cfg->timing.verify_without_sni = true;
	cfg->keep_versions = DEFAULT_KEEP_VERSIONS;
	return cfg;
}

/* config_build_global - apply [global] (if any) and check the EAB pair. */
static int
config_build_global(const struct cfg_ctx *ctx, const struct cfg_raw *raw,
    struct mc_config *cfg)
{
	const struct cfg_section *sec = NULL;
	const struct cfg_entry *kid, *hmac;
	size_t i;

	for (i = 0; i < raw->n_secs; i++)
		if (raw->secs[i].kind == CFG_GLOBAL)
			sec = &raw->secs[i];
	if (sec == NULL)
		return 0;
	if (config_apply(ctx, sec, cfg) == -1)
		return -1;
	kid = config_entry_find(sec, "eab_kid");
	hmac = config_entry_find(sec, "eab_hmac_key");
	if (cfg->eab_kid != NULL && cfg->eab_hmac_key == NULL)
		return config_fail(ctx, kid->line, "eab_kid",
		    "set without eab_hmac_key; set both (from the CA) or neither");
	if (cfg->eab_kid == NULL && cfg->eab_hmac_key != NULL)
		return config_fail(ctx, hmac->line, "eab_hmac_key",
		    "set without eab_kid; set both (from the CA) or neither");
	return config_check_store(ctx, sec, cfg);
}

/* config_is_builtin - whether name is postfix, dovecot or exim. */
static bool
config_is_builtin(const char *name)
{
	size_t i;

	for (i = 0; i < N_BUILTIN; i++)
		if (strcmp(name, builtin_targets[i]) == 0)
			return true;
	return false;
}

/* config_target_init - start target t called name; type from the name if built in. */
static int
config_target_init(struct mc_target *t, const char *name, int line, struct mc_err *err)
{
	memset(t, 0, sizeof(*t));
	t->name = strdup(name);
	if (t->name == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	t->declared = line != 0;
	t->line = line;
	if (config_is_builtin(name) && config_target_type_parse(name, &t->type) == -1)
		abort();
	return 0;
}

/* config_build_target - one [target NAME] section into t. */
static int
config_build_target(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    struct mc_target *t)
{
	const struct cfg_entry *type = config_entry_find(sec, "type");

	if (!config_is_builtin(sec->name) && (type == NULL || type->value[0] == '\0'))
		return config_fail_sec(ctx, sec, "type",
		    "missing; set type = postfix, dovecot, exim or files");
	if (config_apply(ctx, sec, t) == -1)
		return -1;
	return config_target_finish(ctx, sec, t);
}

/* config_count - how many sections of kind raw has. */
static size_t
config_count(const struct cfg_raw *raw, enum cfg_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < raw->n_secs; i++)
		n += raw->secs[i].kind == kind;
	return n;
}

/* config_build_targets - declared targets, then the built-ins without a section. */
static int
config_build_targets(const struct cfg_ctx *ctx, const struct cfg_raw *raw,
    struct mc_config *cfg)
{
	size_t i;

	cfg->targets = calloc(config_count(raw, CFG_TARGET) + N_BUILTIN,
	    sizeof(*cfg->targets));
	if (cfg->targets == NULL)
		return mc_err_set(ctx->err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < raw->n_secs; i++) {
		const struct cfg_section *sec = &raw->secs[i];
		struct mc_target *t = &cfg->targets[cfg->n_targets];
		struct cfg_ctx sctx = config_sec_ctx(ctx, sec);

		if (sec->kind != CFG_TARGET)
			continue;
		if (config_target_init(t, sec->name, sec->line, ctx->err) == -1)
			return -1;
		cfg->n_targets++;
		if (config_build_target(&sctx, sec, t) == -1)
			return -1;
	}
	for (i = 0; i < N_BUILTIN; i++) {
		struct mc_target *t = &cfg->targets[cfg->n_targets];

		if (mc_config_target(cfg, builtin_targets[i]) != NULL)
			continue;
		if (config_target_init(t, builtin_targets[i], 0, ctx->err) == -1)
			return -1;
		cfg->n_targets++;
		if (config_target_finish(ctx, NULL, t) == -1)
			return -1;
	}
	return 0;
}

/* The default listen addresses, shared by every cert that keeps them
 * (not a copy each: 10,000s of certs), never freed (config_shared). */
static char default_http_listen[] = DEFAULT_HTTP_LISTEN;
static char default_tls_alpn_listen[] = DEFAULT_TLS_ALPN_LISTEN;

/* config_shared - whether s is a shared default string (not to free). */
bool
config_shared(const char *s)
{
	return s == default_http_listen || s == default_tls_alpn_listen;
}

/* config_cert_init - start cert cc with the defaults and the global timing. */
static int
config_cert_init(struct mc_cert_conf *cc, const struct cfg_section *sec,
    const struct mc_config *cfg, struct mc_err *err)
{
	char **const slots[] = { &cc->name };
	const char *const values[] = { sec->name };

	memset(cc, 0, sizeof(*cc));
	cc->http_listen = default_http_listen;
	cc->tls_alpn_listen = default_tls_alpn_listen;
	cc->key_type = MC_KEY_EC_P256;
	cc->key_types[0] = MC_KEY_EC_P256;
	cc->n_key_types = 1;
	cc->reuse_key = false;
	cc->challenge = MC_CHALLENGE_HTTP01;
	cc->order_timeout = DEFAULT_ORDER_TIMEOUT;
	cc->timing = cfg->timing;
	cc->line = sec->line;
	return config_strdup_all(slots, values, 1, err);
}

/* config_cert_bounds - dns_wait and order_timeout within their bounds. */
static int
config_cert_bounds(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    const struct mc_cert_conf *cc)
{
	const struct cfg_entry *e;

	if (cc->dns_wait > DNS_WAIT_MAX) {
		e = config_entry_find(sec, "dns_wait");
		return config_fail(ctx, e->line, e->key,
		    "longer than 1h; no DNS needs that long to propagate, check "
		    "the dns_hook instead");
	}
	if (cc->order_timeout < ORDER_TIMEOUT_MIN ||
	    cc->order_timeout > ORDER_TIMEOUT_MAX) {
		e = config_entry_find(sec, "order_timeout");
		return config_fail(ctx, e->line, e->key,
		    "must be between 10s and 24h (default 5m); dns_wait is not "
		    "counted in it");
	}
	return 0;
}

#define BUILD_PAR_MIN 512 /* certs: below, one thread builds them */
#define BUILD_PARTS 8     /* runs of sections built apart */
#define BUILD_THREADS 4   /* at most */

/* config_build_cert - the [cert NAME] section sec into cc (zeroed), its
 * errors into err; the section is released once built. */
static int
config_build_cert(const struct cfg_ctx *ctx, struct cfg_section *sec,
    const struct mc_config *cfg, struct mc_cert_conf *cc, struct mc_err *err)
{
	struct cfg_ctx sctx = config_sec_ctx(ctx, sec);

	sctx.err = err;
	if (config_cert_init(cc, sec, cfg, err) == -1 ||
	    config_apply(&sctx, sec, cc) == -1)
		return -1;
	cc->key_type = cc->key_types[0];
	if (config_cert_bounds(&sctx, sec, cc) == -1 ||
	    config_cert_check(&sctx, sec, cfg, cc) == -1)
		return -1;
	config_section_release(sec);
	return 0;
}

/* A run of sections built on one thread. */
struct build_part {
	size_t from, to;   /* raw->secs */
	size_t first;      /* the cfg->certs index of its first cert */
	size_t failed;     /* the cfg->certs index of its failure, or SIZE_MAX */
	struct mc_err err; /* ... its error */
};

struct build_job {
	const struct cfg_ctx *ctx;
	struct cfg_raw *raw;
	struct mc_config *cfg;
	struct build_part *parts;
};

/* build_part_run - build the certs of part i (a pool item); each writes
 * only its own entries of cfg->certs and reads the rest of cfg. */
static int
build_part_run(void *arg, size_t i, struct mc_err *err)
{
	struct build_job *job = arg;
	struct build_part *part = &job->parts[i];
	size_t k, c = part->first;

	(void)err;
	for (k = part->from; k < part->to; k++) {
		if (job->raw->secs[k].kind != CFG_CERT)
			continue;
		if (config_build_cert(job->ctx, &job->raw->secs[k], job->cfg,
		    &job->cfg->certs[c], &part->err) == -1) {
			part->failed = c;
			return 0; /* the others go on: the first in order wins */
		}
		c++;
	}
	return 0;
}

/* config_build_parallel - build the n certs of raw in BUILD_PARTS runs on
 * up to one thread per CPU (cfg->certs allocated, cfg->n_certs = n): the
 * error, if any, is the one of the first failing cert in file order, as
 * when they are built one by one. */
static int
config_build_parallel(const struct cfg_ctx *ctx, struct cfg_raw *raw,
    struct mc_config *cfg, size_t n)
{
	struct build_part parts[BUILD_PARTS];
	struct build_job job = { ctx, raw, cfg, parts };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i, k, c = 0, best = SIZE_MAX, who = 0;
	size_t threads = cpus > 1 ? (size_t)cpus : 1;

	cfg->n_certs = n; /* every entry is zeroed, built or half built */
	for (i = 0; i < BUILD_PARTS; i++) {
		parts[i].from = raw->n_secs * i / BUILD_PARTS;
		parts[i].to = raw->n_secs * (i + 1) / BUILD_PARTS;
		parts[i].first = c;
		parts[i].failed = SIZE_MAX;
		mc_err_clear(&parts[i].err);
		for (k = parts[i].from; k < parts[i].to; k++)
			c += raw->secs[k].kind == CFG_CERT;
	}
	mallopt(M_ARENA_MAX, 1); /* see files_parallel (config_files.c) */
	(void)mc_pool_run(BUILD_PARTS, threads < BUILD_THREADS ? threads
	    : BUILD_THREADS, build_part_run, &job, NULL);
	for (i = 0; i < BUILD_PARTS; i++)
		if (parts[i].failed < best) {
			best = parts[i].failed;
			who = i;
		}
	if (best == SIZE_MAX)
		return 0;
	*ctx->err = parts[who].err;
	return -1;
}

/* config_build_certs - every [cert NAME] section, checked against the
 * targets; each raw section is released once built (10,000s of certs).
 * From BUILD_PAR_MIN certs on, on several threads (config_build_parallel). */
static int
config_build_certs(const struct cfg_ctx *ctx, struct cfg_raw *raw,
    struct mc_config *cfg)
{
	size_t i, n = config_count(raw, CFG_CERT);

	cfg->certs = calloc(n + 1, sizeof(*cfg->certs));
	if (cfg->certs == NULL)
		return mc_err_set(ctx->err, MC_ERR_SYS, "out of memory");
	if (n >= BUILD_PAR_MIN)
		return config_build_parallel(ctx, raw, cfg, n);
	for (i = 0; i < raw->n_secs; i++) {
		if (raw->secs[i].kind != CFG_CERT)
			continue;
		if (config_build_cert(ctx, &raw->secs[i], cfg,
		    &cfg->certs[cfg->n_certs++], ctx->err) == -1)
			return -1;
	}
	return 0;
}

/* mc_config_load - read and validate path into a new config (*out, caller frees). */
int
mc_config_load(const char *path, struct mc_config **out, struct mc_err *err)
{
	struct cfg_raw raw;
	struct cfg_ctx ctx = { path, err };
	struct mc_config *cfg = NULL;
	int ret = -1;

	memset(&raw, 0, sizeof(raw));
	if (config_lex(path, &raw, err) == -1)
		goto out;
	cfg = config_new(path, err);
	if (cfg == NULL)
		goto out;
	if (config_build_global(&ctx, &raw, cfg) == -1)
		goto out;
	if (config_build_targets(&ctx, &raw, cfg) == -1)
		goto out;
	if (config_build_certs(&ctx, &raw, cfg) == -1)
		goto out;
	*out = cfg;
	cfg = NULL;
	ret = 0;
out:
	config_raw_free(&raw);
	mc_config_free(cfg);
	malloc_trim(0); /* the raw sections' pages: to the system, not kept in RSS */
	return ret;
}

/* config_free_list - free n strings and the array. */
static void
config_free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* config_free_cert - free what a cert section owns. */
static void
config_free_cert(struct mc_cert_conf *cc)
{
	free(cc->name);
	config_free_list(cc->names, cc->n_names);
	if (!config_shared(cc->http_listen))
		free(cc->http_listen);
	free(cc->webroot);
	if (!config_shared(cc->tls_alpn_listen))
		free(cc->tls_alpn_listen);
	free(cc->dns_hook);
	free(cc->preferred_chain);
	free(cc->profile);
	free(cc->deploy_hook);
	config_free_list(cc->targets, cc->n_targets);
	config_free_list(cc->verify, cc->n_verify);
	free(cc->endpoints);
	config_free_list(cc->tlsa, cc->n_tlsa);
	free(cc->tlsa_hook);
}

/* config_free_target - free what a target owns. */
static void
config_free_target(struct mc_target *t)
{
	free(t->name);
	free(t->chain_file);
	free(t->cert_file);
	free(t->key_file);
	free(t->fullchain_file);
	free(t->combined_file);
	free(t->owner);
	free(t->group);
	free(t->reload);
	free(t->config);
}

/* mc_config_free - free a config; NULL is a no-op. The HMAC key is cleansed. */
void
mc_config_free(struct mc_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->n_certs; i++)
		config_free_cert(&cfg->certs[i]);
	free(cfg->certs);
	for (i = 0; i < cfg->n_targets; i++)
		config_free_target(&cfg->targets[i]);
	free(cfg->targets);
	if (cfg->eab_hmac_key != NULL)
		OPENSSL_clear_free(cfg->eab_hmac_key, strlen(cfg->eab_hmac_key));
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->directory);
	free(cfg->contact);
	free(cfg->ca_bundle);
	free(cfg->trust_bundle);
	free(cfg->eab_kid);
	free(cfg->hooks_dir);
	free(cfg->include);
	free(cfg->store);
	free(cfg->node);
	free(cfg->store_key_file);
	free(cfg->store_ca);
	free(cfg->store_cert);
	free(cfg->store_key);
	free(cfg->resolver);
	free(cfg->dnssec_anchor);
	free(cfg->nsupdate_server);
	free(cfg->nsupdate_key);
	free(cfg->staging_directory);
	free(cfg->metrics_file);
	free(cfg);
}

/* mc_config_cert - the [cert NAME] section, or NULL. Borrowed. */
const struct mc_cert_conf *
mc_config_cert(const struct mc_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_certs; i++)
		if (strcmp(cfg->certs[i].name, name) == 0)
			return &cfg->certs[i];
	return NULL;
}

/* mc_config_target - the target named name (declared or built in), or NULL. Borrowed. */
const struct mc_target *
mc_config_target(const struct mc_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_targets; i++)
		if (strcmp(cfg->targets[i].name, name) == 0)
			return &cfg->targets[i];
	return NULL;
}

/* mc_config_staging_directory - the --dry-run directory, or NULL. */
const char *
mc_config_staging_directory(const struct mc_config *cfg)
{
	if (cfg->staging_directory != NULL)
		return cfg->staging_directory;
	if (strcmp(cfg->directory, DEFAULT_DIRECTORY) == 0)
		return LE_STAGING_DIRECTORY;
	return NULL;
}
