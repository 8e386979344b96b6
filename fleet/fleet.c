/*
 * fleet.c - open and close the fleet, the shared current version, what
 * each node deployed, and the http-01 answers every host serves.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "fleet/fleet_int.h"
#include "mailcert/log.h"

#define NODE_JSON_MAX (16 * 1024)
#define KEYAUTH_MAX 1024

/* mc_fleet_open - the fleet of cfg (NULL when local only). */
int
mc_fleet_open(const struct mc_config *cfg, struct mc_fleet **out,
              struct mc_err *err)
{
	struct mc_fleet *f;

	*out = NULL;
	if (cfg->store == NULL)
		return 0;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	f->cfg = cfg;
	f->reachable = true;
	pthread_mutex_init(&f->lock.mu, NULL);
	pthread_cond_init(&f->lock.cv, NULL);
	atomic_init(&f->lock.lost, false);
	if (etcd_init(&f->etcd, cfg, err) == -1 ||
	    mc_fleet_key_load(cfg->store_key_file, f->seal_key, err) == -1) {
		mc_fleet_close(f);
		return -1;
	}
	if (cfg->node != NULL)
		snprintf(f->node, sizeof(f->node), "%s", cfg->node);
	else if (gethostname(f->node, sizeof(f->node) - 1) == -1 ||
	         !mc_cert_name_valid(f->node)) {
		mc_fleet_close(f);
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "%s: node: the hostname is not usable as a "
		                  "node name; set node = NAME in [global]",
		                  cfg->path);
	}
	*out = f;
	return 0;
}

/* mc_fleet_close - release the lock and free. */
void
mc_fleet_close(struct mc_fleet *f)
{
	if (f == NULL)
		return;
	mc_fleet_unlock(f);
	etcd_free(&f->etcd);
	pthread_mutex_destroy(&f->lock.mu);
	pthread_cond_destroy(&f->lock.cv);
	OPENSSL_cleanse(f->seal_key, sizeof(f->seal_key));
	free(f);
}

/* mc_fleet_node_name - this host's node name. */
const char *
mc_fleet_node_name(const struct mc_fleet *f)
{
	return f->node;
}

/* mc_fleet_down - why the store could not be reached, or NULL. */
const char *
mc_fleet_down(const struct mc_fleet *f)
{
	return f->reachable ? NULL : f->down;
}

/* mc_fleet_start_rev - the store's revision when this run began. */
long long
mc_fleet_start_rev(const struct mc_fleet *f)
{
	return f->start_rev;
}

/* fleet_note - remember whether the store answered; returns rc. */
int
fleet_note(struct mc_fleet *f, int rc, const struct mc_err *err)
{
	if (rc == -1 && err != NULL && err->cat == MC_ERR_NET) {
		f->reachable = false;
		snprintf(f->down, sizeof(f->down), "%s", err->msg);
	}
	return rc;
}

/* fleet_key - PREFIX/rel into buf. */
int
fleet_key(const struct mc_fleet *f, char *buf, size_t size, struct mc_err *err,
          const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(buf, size, "%s/", f->etcd.url.prefix), m;

	va_start(ap, fmt);
	m = n < 0 || (size_t)n >= size ? -1
	                                : vsnprintf(buf + n, size - (size_t)n,
	                                            fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= size || (size_t)(n + m) > FLEET_KEY_MAX)
		return mc_err_set(err, MC_ERR_INPUT, "etcd key too long: %.100s",
		                  buf);
	return 0;
}

/* fleet_parse_version - "0012" (an etcd value) into 12; 0 if malformed. */
static unsigned
fleet_parse_version(const unsigned char *v, size_t len)
{
	unsigned long n = 0;
	size_t i;

	if (len == 0 || len > 6)
		return 0;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 0;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	return (unsigned)n;
}

/* mc_fleet_current - the shared current version of cert. */
int
mc_fleet_current(struct mc_fleet *f, const char *cert,
                 struct mc_fleet_current *out, struct mc_err *err)
{
	struct fleet_kvs kvs = {0};
	char key[FLEET_KEY_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (fleet_key(f, key, sizeof(key), err, "certs/%s/current", cert) == -1)
		return -1;
	if (fleet_note(f, etcd_range(&f->etcd, key, false, false, &kvs, err),
	               err) == -1)
		return mc_err_prefix(err, "%s: shared current version", cert);
	if (f->start_rev == 0)
		f->start_rev = kvs.rev;
	if (kvs.n == 1) {
		out->version = fleet_parse_version(kvs.kv[0].value,
		                                   kvs.kv[0].value_len);
		out->mod_rev = kvs.kv[0].mod_rev;
		if (out->version == 0) {
			etcd_kvs_clear(&kvs);
			return mc_err_set(err, MC_ERR_INPUT,
			                  "%s: %s is not a version number; fix it "
			                  "with etcdctl",
			                  cert, key);
		}
	}
	etcd_kvs_clear(&kvs);
	return 0;
}

/* node_to_json - the JSON text of a node record (new string). */
static char *
node_to_json(const struct mc_fleet_node *st)
{
	json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:I}", "node",
	                      st->node, "cert", st->cert, "version",
	                      (int)st->version, "live", (int)st->live,
	                      "serial", st->serial, "result", st->result, "at",
	                      (json_int_t)st->at);
	char *text;

	if (o == NULL)
		return NULL;
	if (st->error[0] != '\0')
		json_object_set_new(o, "error", json_string(st->error));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

/* mc_fleet_record - write what this node deployed of st->cert. */
int
mc_fleet_record(struct mc_fleet *f, const struct mc_fleet_node *st,
                struct mc_err *err)
{
	char key[FLEET_KEY_MAX + 1], *text;
	int rc;

	if (fleet_key(f, key, sizeof(key), err, "nodes/%s/%s", f->node,
	              st->cert) == -1)
		return -1;
	text = node_to_json(st);
	if (text == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	rc = fleet_note(f, etcd_put(&f->etcd, key, text, strlen(text), 0, err),
	                err);
	free(text);
	return rc == -1 ? mc_err_prefix(err, "record %s of node %s", st->cert,
	                                f->node)
	                : 0;
}

/* node_from_kv - a node record from its etcd value; -1 if malformed. */
static int
node_from_kv(const struct fleet_kv *kv, struct mc_fleet_node *st)
{
	json_t *o = json_loadb((const char *)kv->value, kv->value_len, 0, NULL);
	const char *s;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (!json_is_object(o) || kv->value_len > NODE_JSON_MAX)
		goto out;
	s = json_string_value(json_object_get(o, "node"));
	snprintf(st->node, sizeof(st->node), "%s", s ? s : "?");
	s = json_string_value(json_object_get(o, "cert"));
	snprintf(st->cert, sizeof(st->cert), "%s", s ? s : "?");
	s = json_string_value(json_object_get(o, "serial"));
	snprintf(st->serial, sizeof(st->serial), "%s", s ? s : "");
	s = json_string_value(json_object_get(o, "result"));
	snprintf(st->result, sizeof(st->result), "%s", s ? s : "?");
	s = json_string_value(json_object_get(o, "error"));
	snprintf(st->error, sizeof(st->error), "%s", s ? s : "");
	st->version = (unsigned)json_integer_value(json_object_get(o, "version"));
	st->live = (unsigned)json_integer_value(json_object_get(o, "live"));
	st->at = (time_t)json_integer_value(json_object_get(o, "at"));
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* mc_fleet_nodes - every node's record of cert. */
int
mc_fleet_nodes(struct mc_fleet *f, const char *cert,
               struct mc_fleet_node **out, size_t *n, struct mc_err *err)
{
	struct fleet_kvs kvs = {0};
	struct mc_fleet_node *v = NULL;
	char key[FLEET_KEY_MAX + 1];
	size_t i, k = 0, plen, clen = strlen(cert);

	*out = NULL;
	*n = 0;
	if (fleet_key(f, key, sizeof(key), err, "nodes/") == -1 ||
	    fleet_note(f, etcd_range(&f->etcd, key, true, false, &kvs, err),
	               err) == -1)
		return -1;
	plen = strlen(key);
	v = calloc(kvs.n + 1, sizeof(*v));
	if (v == NULL) {
		etcd_kvs_clear(&kvs);
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	}
	for (i = 0; i < kvs.n; i++) {
		const char *rel = kvs.kv[i].key + plen, *slash = strchr(rel, '/');

		if (slash == NULL || strlen(slash + 1) != clen ||
		    strcmp(slash + 1, cert) != 0 ||
		    node_from_kv(&kvs.kv[i], &v[k]) == -1)
			continue;
		snprintf(v[k].node, sizeof(v[k].node), "%.*s", (int)(slash - rel),
		         rel);
		k++;
	}
	etcd_kvs_clear(&kvs);
	*out = v;
	*n = k;
	return 0;
}

/* mc_fleet_token_publish - an http-01 answer for every host (fenced). */
int
mc_fleet_token_publish(struct mc_fleet *f, const char *token,
                       const char *keyauth, struct mc_err *err)
{
	char key[FLEET_KEY_MAX + 1];
	json_t *ops = json_array();

	if (fleet_key(f, key, sizeof(key), err, "http01/%s", token) == -1) {
		json_decref(ops);
		return -1;
	}
	json_array_append_new(ops, etcd_op_put(key, keyauth, strlen(keyauth),
	                                       f->lock.lease));
	return lock_fenced_txn(f, ops, "http-01 answer", err);
}

/* mc_fleet_token_withdraw - remove a published answer (best effort). */
void
mc_fleet_token_withdraw(struct mc_fleet *f, const char *token)
{
	char key[FLEET_KEY_MAX + 1];
	struct mc_err err;

	mc_err_clear(&err);
	if (fleet_key(f, key, sizeof(key), &err, "http01/%s", token) == -1 ||
	    etcd_delete(&f->etcd, key, false, &err) == -1)
		mc_log_debug("http-01 answer not withdrawn (it expires with "
		             "the lock's lease): %s",
		             err.msg);
}

/* mc_fleet_token_lookup - the published answer for token, or NULL. */
char *
mc_fleet_token_lookup(struct mc_fleet *f, const char *token)
{
	char key[FLEET_KEY_MAX + 1], *ka = NULL;
	struct fleet_kv kv = {0};
	struct mc_err err;

	mc_err_clear(&err);
	if (fleet_key(f, key, sizeof(key), &err, "http01/%s", token) == -1)
		return NULL;
	if (etcd_get(&f->etcd, key, &kv, &err) == 1 && kv.value_len > 0 &&
	    kv.value_len <= KEYAUTH_MAX &&
	    strlen((const char *)kv.value) == kv.value_len)
		ka = strdup((const char *)kv.value);
	else if (err.msg[0] != '\0')
		mc_log_warn("http-01 answer from the store: %s", err.msg);
	etcd_kv_clear(&kv);
	return ka;
}
