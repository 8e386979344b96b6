/*
 * config_check.c - checks that span keys or sections: target defaults and
 * completeness, and per cert the wildcard/dns-01 rule, the dns hook, the
 * target references and that no two target files of a cert collide.
 */
#include <stdlib.h>
#include <string.h>

#include "mailcert/config.h"

#include "core/config_int.h"

#define FILE_KEYS 5
#define EXIM_GROUP "Debian-exim"

static const char *const file_keys[FILE_KEYS] = { "chain_file", "cert_file",
	"key_file", "fullchain_file", "combined_file" };

/* check_file - the path of file key number i of t (see file_keys), or NULL. */
static const char *
check_file(const struct mc_target *t, size_t i)
{
	const char *const paths[FILE_KEYS] = { t->chain_file, t->cert_file,
		t->key_file, t->fullchain_file, t->combined_file };

	return paths[i];
}

/* check_set - copy value into *slot if it is NULL. */
static int
check_set(char **slot, const char *value, struct mc_err *err)
{
	if (*slot != NULL)
		return 0;
	*slot = strdup(value);
	if (*slot == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	return 0;
}

/* check_type_defaults - the default files of t's type, when it names none. */
static int
check_type_defaults(struct mc_target *t, struct mc_err *err)
{
	switch (t->type) {
	case MC_TARGET_POSTFIX:
		return check_set(&t->chain_file, "/etc/postfix/tls/%n.pem", err);
	case MC_TARGET_DOVECOT:
		if (check_set(&t->cert_file, "/etc/dovecot/tls/%n.crt", err) == -1)
			return -1;
		return check_set(&t->key_file, "/etc/dovecot/tls/%n.key", err);
	case MC_TARGET_EXIM:
		if (check_set(&t->cert_file, "/etc/exim4/tls/%n.crt", err) == -1)
			return -1;
		return check_set(&t->key_file, "/etc/exim4/tls/%n.key", err);
	case MC_TARGET_FILES:
		return 0;
	}
	abort();
}

/* config_target_finish - apply type defaults to t and check it is usable. */
int
config_target_finish(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    struct mc_target *t)
{
	bool any = false;
	size_t i;

	for (i = 0; i < FILE_KEYS; i++)
		any = any || check_file(t, i) != NULL;
	if (!any && check_type_defaults(t, ctx->err) == -1)
		return -1;
	t->default_files = !any && t->type != MC_TARGET_FILES;
	if (t->type == MC_TARGET_EXIM && check_set(&t->group, EXIM_GROUP, ctx->err) == -1)
		return -1;
	if (t->mode == 0)
		t->mode = t->group != NULL ? 0640 : 0600;
	if (sec == NULL)
		return 0;
	if (!any && t->type == MC_TARGET_FILES)
		return config_fail_sec(ctx, sec, "files",
		    "missing; set at least one of chain_file cert_file key_file "
		    "fullchain_file combined_file");
	if (t->type == MC_TARGET_FILES)
		return 0;
	if (t->key_file == NULL && t->chain_file == NULL && t->combined_file == NULL)
		return config_fail_sec(ctx, sec, "key_file",
		    "missing; the server needs the private key: set key_file, "
		    "chain_file or combined_file");
	if (t->cert_file == NULL && t->chain_file == NULL &&
	    t->fullchain_file == NULL && t->combined_file == NULL)
		return config_fail_sec(ctx, sec, "cert_file",
		    "missing; the server needs the certificate: set cert_file, "
		    "chain_file, fullchain_file or combined_file");
	return 0;
}

/* check_names - names present; wildcards only with dns-01, IP addresses
 * never with it; dns-01 has a hook or an nsupdate_server. */
static int
check_names(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    const struct mc_config *cfg, const struct mc_cert_conf *cc)
{
	const struct cfg_entry *e;
	size_t i;

	if (cc->n_names == 0)
		return config_fail_sec(ctx, sec, "names",
		    "missing; list the DNS names of this certificate");
	e = config_entry_find(sec, "names");
	for (i = 0; i < cc->n_names; i++) {
		if (cc->challenge == MC_CHALLENGE_DNS01 && mc_name_is_ip(cc->names[i]))
			return config_fail(ctx, e->line, "names",
			    "\"%s\" is an IP address, which dns-01 cannot prove (RFC "
			    "8738); use challenge = http-01 or tls-alpn-01, or put the "
			    "address in a cert of its own", cc->names[i]);
		if (strncmp(cc->names[i], "*.", 2) != 0 ||
		    cc->challenge == MC_CHALLENGE_DNS01)
			continue;
		return config_fail(ctx, e->line, "names",
		    "\"%s\" is a wildcard; wildcards need challenge = dns-01 (with "
		    "dns_hook)", cc->names[i]);
	}
	if (cc->challenge == MC_CHALLENGE_DNS01 && cc->dns_hook == NULL &&
	    cfg->nsupdate_server == NULL)
		return config_fail_sec(ctx, sec, "dns_hook",
		    "missing; challenge = dns-01 needs a hook that publishes the TXT "
		    "record (or nsupdate_server in [global])");
	return 0;
}

/* check_targets_exist - every listed target is declared or built in. */
static int
check_targets_exist(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    const struct mc_config *cfg, const struct mc_cert_conf *cc)
{
	const struct cfg_entry *e;
	size_t i;

	for (i = 0; i < cc->n_targets; i++) {
		if (mc_config_target(cfg, cc->targets[i]) != NULL)
			continue;
		e = config_entry_find(sec, "targets");
		return config_fail(ctx, e->line, "targets",
		    "\"%s\" is neither a [target] section nor postfix, dovecot or exim; "
		    "add [target %s] or remove it", cc->targets[i], cc->targets[i]);
	}
	return 0;
}

/* A file a target of the cert writes, after %n expansion. */
struct written {
	char *path;
	const char *target;
	const char *key;
};

/* check_collide - whether path is already in w[0..n); fail naming both. */
static int
check_collide(const struct cfg_ctx *ctx, int line, const struct written *w,
    size_t n, const struct written *cur)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(w[i].path, cur->path) != 0)
			continue;
		return config_fail(ctx, line, "targets",
		    "%s (%s) and %s (%s) both write %s; give each its own file",
		    w[i].target, w[i].key, cur->target, cur->key, cur->path);
	}
	return 0;
}

/* check_dual_k - with two key types, every file path of every target of
 * cc names %k (the defaults get it): each key type needs its own files. */
static int
check_dual_k(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    const struct mc_config *cfg, const struct mc_cert_conf *cc)
{
	const struct cfg_entry *e = config_entry_find(sec, "key_type");
	char *a, *b;
	bool same;
	size_t i, j;

	for (i = 0; mc_cert_dual(cc) && i < cc->n_targets; i++) {
		const struct mc_target *t = mc_config_target(cfg, cc->targets[i]);

		for (j = 0; j < FILE_KEYS; j++) {
			if (check_file(t, j) == NULL)
				continue;
			a = mc_target_expand(t, check_file(t, j), "n", cc->key_types[0],
			    true, ctx->err);
			b = a ? mc_target_expand(t, check_file(t, j), "n",
			    cc->key_types[1], true, ctx->err) : NULL;
			same = b != NULL && strcmp(a, b) == 0;
			free(a);
			free(b);
			if (b == NULL)
				return -1;
			if (same)
				return config_fail(ctx, e->line, "key_type",
				    "two key types need their own files, but target %s "
				    "has %s = %s without %%k; put %%k (ecdsa or rsa) in "
				    "it, e.g. %%n.%%k.pem", t->name, file_keys[j],
				    check_file(t, j));
		}
	}
	return 0;
}

/* check_add_paths - the files target t writes for cc's key type kt into
 * w (from *n on), each checked against those before. */
static int
check_add_paths(const struct cfg_ctx *ctx, int line,
    const struct mc_cert_conf *cc, const struct mc_target *t,
    enum mc_key_type kt, struct written *w, size_t *n)
{
	size_t j;

	for (j = 0; j < FILE_KEYS; j++) {
		if (check_file(t, j) == NULL)
			continue;
		w[*n].path = mc_target_expand(t, check_file(t, j), cc->name, kt,
		    mc_cert_dual(cc), ctx->err);
		if (w[*n].path == NULL)
			return -1;
		w[*n].target = t->name;
		w[*n].key = file_keys[j];
		(*n)++;
		if (check_collide(ctx, line, w, *n - 1, &w[*n - 1]) == -1)
			return -1;
	}
	return 0;
}

/* check_paths - no two target files of cc are the same path. */
static int
check_paths(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    const struct mc_config *cfg, const struct mc_cert_conf *cc)
{
	struct written *w;
	const struct cfg_entry *e = config_entry_find(sec, "targets");
	size_t i, k, n = 0;
	int ret = -1;

	if (e == NULL)
		return 0;
	w = calloc(cc->n_targets * FILE_KEYS * MC_KEY_TYPES_MAX + 1, sizeof(*w));
	if (w == NULL)
		return mc_err_set(ctx->err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < cc->n_targets; i++)
		for (k = 0; k < cc->n_key_types; k++)
			if (check_add_paths(ctx, e->line, cc,
			    mc_config_target(cfg, cc->targets[i]), cc->key_types[k],
			    w, &n) == -1)
				goto out;
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(w[i].path);
	free(w);
	return ret;
}

/* config_cert_check - cross-checks of one cert against cfg (targets, paths). */
int
config_cert_check(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    const struct mc_config *cfg, const struct mc_cert_conf *cc)
{
	if (check_names(ctx, sec, cfg, cc) == -1)
		return -1;
	if (check_targets_exist(ctx, sec, cfg, cc) == -1)
		return -1;
	if (check_dual_k(ctx, sec, cfg, cc) == -1)
		return -1;
	return check_paths(ctx, sec, cfg, cc);
}
