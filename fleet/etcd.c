/*
 * etcd.c - the etcd v3 client over the JSON gateway (see fleet_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fleet/fleet_int.h"
#include "mailcert/crypto.h"
#include "mailcert/log.h"
#include "mailcert/text.h"
#include "mailcert/time.h"

#define ETCD_CODE_UNAVAILABLE 14
#define ETCD_CODE_DEADLINE 4
#define ETCD_RETRY_PAUSE_MS 200

/* etcd_init - the client for cfg's store URL (no request yet). */
int
etcd_init(struct fleet_etcd *e, const struct mc_config *cfg,
          struct mc_err *err)
{
	memset(e, 0, sizeof(*e));
	atomic_init(&e->cur, 0);
	if (pthread_mutex_init(&e->mu, NULL) != 0)
		return mc_err_set(err, MC_ERR_SYS, "pthread_mutex_init failed");
	e->mu_ready = true;
	if (mc_store_url_parse(cfg->store, &e->url, err) == -1)
		return mc_err_prefix(err, "%s: store", cfg->path);
	e->https = cfg->store_ca != NULL || cfg->store_cert != NULL;
	e->tls.ca_file = cfg->store_ca;
	e->tls.client_cert = cfg->store_cert;
	e->tls.client_key = cfg->store_key;
	e->timeout_ms = FLEET_TIMEOUT_MS;
	/* the first transport now: unusable key files are a config error */
	e->http[0] = mc_http_new_tls(&e->tls, err);
	if (e->http[0] == NULL)
		return mc_err_prefix(err, "%s: store_cert/store_key/store_ca",
		                     cfg->path);
	return 0;
}

/* etcd_free - free the transports. */
void
etcd_free(struct fleet_etcd *e)
{
	size_t i;

	for (i = 0; i < FLEET_HTTP_POOL; i++) {
		mc_http_free(e->http[i]);
		e->http[i] = NULL;
	}
	if (e->mu_ready)
		pthread_mutex_destroy(&e->mu);
	e->mu_ready = false;
}

/* etcd_http_take - a transport for this thread: a free one of the pool
 * (*slot its index), else a new one outside it (*slot -1). */
static struct mc_http *
etcd_http_take(struct fleet_etcd *e, int *slot, struct mc_err *err)
{
	struct mc_http *h = NULL;
	int i, empty = -1;

	pthread_mutex_lock(&e->mu);
	for (i = 0; i < FLEET_HTTP_POOL && h == NULL; i++) {
		if (e->http[i] == NULL && !e->busy[i] && empty == -1)
			empty = i;
		else if (e->http[i] != NULL && !e->busy[i])
			h = e->http[i];
	}
	*slot = h != NULL ? i - 1 : empty;
	if (*slot != -1)
		e->busy[*slot] = true;
	pthread_mutex_unlock(&e->mu);
	if (h == NULL)
		h = mc_http_new_tls(&e->tls, err);
	if (h == NULL && *slot != -1) {
		pthread_mutex_lock(&e->mu);
		e->busy[*slot] = false;
		pthread_mutex_unlock(&e->mu);
	}
	return h;
}

/* etcd_http_give - hand back what etcd_http_take gave. */
static void
etcd_http_give(struct fleet_etcd *e, struct mc_http *h, int slot)
{
	if (slot == -1) {
		mc_http_free(h);
		return;
	}
	pthread_mutex_lock(&e->mu);
	e->http[slot] = h;
	e->busy[slot] = false;
	pthread_mutex_unlock(&e->mu);
}

/* etcd_b64 - standard base64 of data as a new JSON string. */
static json_t *
etcd_b64(const void *data, size_t len)
{
	char *buf = malloc(4 * ((len + 2) / 3) + 1);
	json_t *s;

	if (buf == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)buf, data, (int)len);
	s = json_string(buf);
	free(buf);
	return s;
}

/* etcd_num - a 64-bit number of an answer (a string, or an integer). */
long long
etcd_num(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

/* etcd_numstr - a 64-bit number as the JSON string etcd expects (new). */
static json_t *
etcd_numstr(long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	return json_string(buf);
}

/* etcd_post - the one request function: POST body to url, the status and
 * the answer's text in *res, through a kept-alive transport of the
 * session. A redirect is an answer, never followed. */
static int
etcd_post(struct fleet_etcd *e, const char *url, const char *body,
          struct mc_http_resp *res, struct mc_err *err)
{
	static const char *const hdrs[] = {"Content-Type: application/json",
	                                   NULL};
	struct mc_http_req req = {0};
	struct mc_http *h;
	int slot, rc;

	req.method = "POST";
	req.url = url;
	req.body = body;
	req.body_len = strlen(body);
	req.headers = hdrs;
	req.allow_http = !e->https; /* https: https only, no redirects */
	req.no_redirects = true;
	req.connect_timeout_ms = FLEET_CONNECT_MS;
	req.timeout_ms = e->timeout_ms;
	req.max_body = FLEET_MAX_RESPONSE;
	h = etcd_http_take(e, &slot, err);
	if (h == NULL)
		return -1;
	rc = mc_http_request(h, &req, res, err);
	etcd_http_give(e, h, slot);
	return rc;
}

/* etcd_error - the error of a non-200 answer; whether another member
 * might do better (unavailable: no leader, leader changed, timed out). */
static bool
etcd_error(const char *member, const struct mc_http_resp *res,
           struct mc_err *err)
{
	json_t *o = json_loadb(res->body, res->body_len, 0, NULL);
	const char *msg = json_string_value(json_object_get(o, "message"));
	long long code = etcd_num(o, "code");
	bool retry = res->status >= 500 || code == ETCD_CODE_UNAVAILABLE ||
	             code == ETCD_CODE_DEADLINE;
	char text[200];

	if (msg == NULL)
		msg = "(no message)";
	mc_text_excerpt(msg, strlen(msg), text, sizeof(text), 0);
	mc_err_set(err, retry ? MC_ERR_NET : MC_ERR_INPUT,
	           "etcd member %s: HTTP %ld: %s", member, res->status, text);
	json_decref(o);
	return retry;
}

/* etcd_try - one request to member i: 0 answered (*resp), 1 try another
 * member, -1 final error. */
static int
etcd_try(struct fleet_etcd *e, size_t i, const char *path, const char *body,
         json_t **resp, struct mc_err *err)
{
	const char *member = e->url.endpoints[i];
	struct mc_http_resp res = {0};
	json_error_t jerr;
	char url[MC_STORE_ENDPOINT_MAX + 64];
	int rc = -1;

	snprintf(url, sizeof(url), "%s://%s%s", e->https ? "https" : "http",
	         member, path);
	if (etcd_post(e, url, body, &res, err) == -1)
		return 1; /* transport: another member */
	if (res.status != 200) {
		rc = etcd_error(member, &res, err) ? 1 : -1;
		goto out;
	}
	*resp = json_loadb(res.body, res.body_len, 0, &jerr);
	if (*resp == NULL || !json_is_object(*resp)) {
		json_decref(*resp);
		*resp = NULL;
		mc_err_set(err, MC_ERR_INPUT,
		           "etcd member %s: %s: not a JSON object (%s)", member,
		           path, jerr.text);
		goto out;
	}
	rc = 0;
out:
	mc_http_resp_clear(&res);
	return rc;
}

/* etcd_call - POST req (stolen) to path on the first member that answers. */
int
etcd_call(struct fleet_etcd *e, const char *path, json_t *req, json_t **resp,
          struct mc_err *err)
{
	size_t n = e->url.n_endpoints, start, k;
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	int rc = 1;

	json_decref(req);
	if (body == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	start = (size_t)atomic_load(&e->cur) % n;
	/* every member once, then the first one again after a pause: a lost
	 * leader is replaced within an election timeout */
	for (k = 0; k <= n && rc == 1; k++) {
		if (k == n)
			mc_sleep_ms_full(ETCD_RETRY_PAUSE_MS);
		rc = etcd_try(e, (start + k) % n, path, body, resp, err);
		if (rc == 0)
			atomic_store(&e->cur, (int)((start + k) % n));
		else if (rc == 1)
			mc_log_debug("%s; trying the next etcd member", err->msg);
	}
	free(body);
	if (rc == 0)
		return 0;
	return mc_err_prefix(err, "store etcd://%s%s%s",
	                     e->url.endpoints[0], n > 1 ? ",..." : "",
	                     e->url.prefix);
}

/* etcd_key_end - the range_end of a prefix: the key with its last byte + 1. */
static json_t *
etcd_key_end(const char *key)
{
	size_t n = strlen(key);
	char buf[FLEET_KEY_MAX + 1];

	if (n == 0 || n > FLEET_KEY_MAX)
		return NULL;
	memcpy(buf, key, n);
	buf[n - 1] = (char)(buf[n - 1] + 1); /* keys end in '/': no overflow */
	return etcd_b64(buf, n);
}

/* etcd_kv_parse - one kv of an answer. */
static int
etcd_kv_parse(json_t *o, struct fleet_kv *kv, struct mc_err *err)
{
	const char *k = json_string_value(json_object_get(o, "key"));
	const char *v = json_string_value(json_object_get(o, "value"));
	unsigned char *raw = NULL;
	size_t len = 0;

	memset(kv, 0, sizeof(*kv));
	if (k == NULL || mc_b64url_decode(k, &raw, &len, err) == -1)
		return mc_err_set(err, MC_ERR_INPUT, "etcd: a key is not base64");
	kv->key = malloc(len + 1);
	if (kv->key == NULL) {
		free(raw);
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	}
	memcpy(kv->key, raw, len);
	kv->key[len] = '\0';
	free(raw);
	raw = NULL;
	len = 0;
	if (v != NULL && mc_b64url_decode(v, &raw, &len, err) == -1)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "etcd: the value of %.200s is not base64", kv->key);
	kv->value = calloc(1, len + 1);
	if (kv->value == NULL) {
		free(raw);
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	}
	if (raw != NULL)
		memcpy(kv->value, raw, len);
	OPENSSL_clear_free(raw, len);
	kv->value_len = len;
	kv->create_rev = etcd_num(o, "create_revision");
	kv->mod_rev = etcd_num(o, "mod_revision");
	kv->lease = etcd_num(o, "lease");
	return 0;
}

/* etcd_kvs_parse - the kvs of a range answer into *out. */
int
etcd_kvs_parse(json_t *resp, struct fleet_kvs *out, struct mc_err *err)
{
	json_t *arr = json_object_get(resp, "kvs");
	size_t i, n = json_array_size(arr);

	memset(out, 0, sizeof(*out));
	out->rev = etcd_num(json_object_get(resp, "header"), "revision");
	if (n == 0)
		return 0;
	out->kv = calloc(n, sizeof(*out->kv));
	if (out->kv == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < n; i++) {
		out->n = i + 1;
		if (etcd_kv_parse(json_array_get(arr, i), &out->kv[i], err) == -1) {
			etcd_kvs_clear(out);
			return -1;
		}
	}
	return 0;
}

/* etcd_range - the key (or every key under the prefix key) into *out. */
int
etcd_range(struct fleet_etcd *e, const char *key, bool prefix, bool keys_only,
           struct fleet_kvs *out, struct mc_err *err)
{
	json_t *req = json_object(), *resp = NULL;
	int rc;

	if (req == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	json_object_set_new(req, "key", etcd_b64(key, strlen(key)));
	if (prefix)
		json_object_set_new(req, "range_end", etcd_key_end(key));
	if (keys_only)
		json_object_set_new(req, "keys_only", json_true());
	if (etcd_call(e, "/v3/kv/range", req, &resp, err) == -1)
		return -1;
	rc = etcd_kvs_parse(resp, out, err);
	json_decref(resp);
	return rc;
}

/* etcd_get - one key: 1 found, 0 absent, -1 error. */
int
etcd_get(struct fleet_etcd *e, const char *key, struct fleet_kv *kv,
         struct mc_err *err)
{
	struct fleet_kvs kvs;

	if (etcd_range(e, key, false, false, &kvs, err) == -1)
		return -1;
	if (kvs.n == 0) {
		etcd_kvs_clear(&kvs);
		return 0;
	}
	*kv = kvs.kv[0];
	memset(&kvs.kv[0], 0, sizeof(kvs.kv[0]));
	etcd_kvs_clear(&kvs);
	return 1;
}

/* etcd_op_put - a put operation of a txn (new). */
json_t *
etcd_op_put(const char *key, const void *value, size_t len, long long lease)
{
	json_t *put = json_object();

	json_object_set_new(put, "key", etcd_b64(key, strlen(key)));
	json_object_set_new(put, "value", etcd_b64(value, len));
	if (lease != 0)
		json_object_set_new(put, "lease", etcd_numstr(lease));
	return json_pack("{s:o}", "request_put", put);
}

/* etcd_op_range - a range operation of a txn (new). */
json_t *
etcd_op_range(const char *key)
{
	return json_pack("{s:{s:o}}", "request_range", "key",
	                 etcd_b64(key, strlen(key)));
}

/* etcd_op_delete - a delete operation of a txn (new). */
json_t *
etcd_op_delete(const char *key)
{
	return json_pack("{s:{s:o}}", "request_delete_range", "key",
	                 etcd_b64(key, strlen(key)));
}

/* etcd_cmp_create - compare key's create_revision with rev (new). */
json_t *
etcd_cmp_create(const char *key, long long rev)
{
	return json_pack("{s:s, s:s, s:o, s:o}", "target", "CREATE", "result",
	                 "EQUAL", "key", etcd_b64(key, strlen(key)),
	                 "create_revision", etcd_numstr(rev));
}

/* etcd_put - put key = value. */
int
etcd_put(struct fleet_etcd *e, const char *key, const void *value,
         size_t len, long long lease, struct mc_err *err)
{
	json_t *req = json_object(), *resp = NULL;

	json_object_set_new(req, "key", etcd_b64(key, strlen(key)));
	json_object_set_new(req, "value", etcd_b64(value, len));
	if (lease != 0)
		json_object_set_new(req, "lease", etcd_numstr(lease));
	if (etcd_call(e, "/v3/kv/put", req, &resp, err) == -1)
		return -1;
	json_decref(resp);
	return 0;
}

/* etcd_delete - delete key (or every key under the prefix key). */
int
etcd_delete(struct fleet_etcd *e, const char *key, bool prefix,
            struct mc_err *err)
{
	json_t *req = json_object(), *resp = NULL;

	json_object_set_new(req, "key", etcd_b64(key, strlen(key)));
	if (prefix)
		json_object_set_new(req, "range_end", etcd_key_end(key));
	if (etcd_call(e, "/v3/kv/deleterange", req, &resp, err) == -1)
		return -1;
	json_decref(resp);
	return 0;
}

/* etcd_txn - if compare then success else failure. */
int
etcd_txn(struct fleet_etcd *e, json_t *compare, json_t *success,
         json_t *failure, bool *ok, json_t **resp, struct mc_err *err)
{
	json_t *req = json_object(), *r = NULL;

	json_object_set_new(req, "compare", compare);
	json_object_set_new(req, "success", success ? success : json_array());
	json_object_set_new(req, "failure", failure ? failure : json_array());
	if (etcd_call(e, "/v3/kv/txn", req, &r, err) == -1)
		return -1;
	*ok = json_is_true(json_object_get(r, "succeeded"));
	if (resp != NULL)
		*resp = r;
	else
		json_decref(r);
	return 0;
}

/* etcd_lease_grant - a new lease of ttl seconds. */
int
etcd_lease_grant(struct fleet_etcd *e, long ttl, long long *id,
                 struct mc_err *err)
{
	json_t *resp = NULL;
	long long v;

	if (etcd_call(e, "/v3/lease/grant",
	              json_pack("{s:o}", "TTL", etcd_numstr(ttl)), &resp,
	              err) == -1)
		return -1;
	v = etcd_num(resp, "ID");
	json_decref(resp);
	if (v == 0)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "etcd: lease grant answered no lease ID");
	*id = v;
	return 0;
}

/* etcd_lease_keepalive - renew lease id; *ttl 0 when it has expired. */
int
etcd_lease_keepalive(struct fleet_etcd *e, long long id, long *ttl,
                     struct mc_err *err)
{
	json_t *resp = NULL;

	if (etcd_call(e, "/v3/lease/keepalive",
	              json_pack("{s:o}", "ID", etcd_numstr(id)), &resp,
	              err) == -1)
		return -1;
	*ttl = (long)etcd_num(json_object_get(resp, "result"), "TTL");
	json_decref(resp);
	return 0;
}

/* etcd_lease_revoke - end lease id (its keys go with it). */
int
etcd_lease_revoke(struct fleet_etcd *e, long long id, struct mc_err *err)
{
	json_t *resp = NULL;

	if (etcd_call(e, "/v3/lease/revoke",
	              json_pack("{s:o}", "ID", etcd_numstr(id)), &resp,
	              err) == -1)
		return -1;
	json_decref(resp);
	return 0;
}

/* etcd_kv_clear - free the members of kv. */
void
etcd_kv_clear(struct fleet_kv *kv)
{
	if (kv == NULL)
		return;
	free(kv->key);
	if (kv->value != NULL)
		OPENSSL_clear_free(kv->value, kv->value_len + 1);
	memset(kv, 0, sizeof(*kv));
}

/* etcd_kvs_clear - free every kv. */
void
etcd_kvs_clear(struct fleet_kvs *kvs)
{
	size_t i;

	if (kvs == NULL)
		return;
	for (i = 0; i < kvs->n; i++)
		etcd_kv_clear(&kvs->kv[i]);
	free(kvs->kv);
	memset(kvs, 0, sizeof(*kvs));
}
