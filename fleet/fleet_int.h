/*
 * fleet_int.h - shared between the files of fleet/ (fleet-internal).
 *
 * etcd.c: the etcd v3 client over the JSON gateway (POST /v3/kv/range,
 * /v3/kv/put, /v3/kv/txn, /v3/kv/deleterange, /v3/lease/grant,
 * /v3/lease/keepalive, /v3/lease/revoke). Keys and values travel base64
 * encoded; 64-bit numbers travel as JSON strings. Every request goes
 * through etcd_post(), the only function that touches the HTTP transport
 * (core's, http.h): a fleet session keeps its transports (store_ca,
 * store_cert and store_key, read once) and so its connections to the
 * members alive for the whole run. A transport serves one thread at a
 * time; the run's thread, the lease keep-alive thread and the http-01
 * responder each take a free one from the session's small pool.
 * A request that cannot reach a member, or that a member answers with
 * "unavailable" (no leader, leader changed, timed out), moves on to the
 * next member of the endpoint list; the member that answered is tried
 * first next time, so a dead member or a lost leader costs at most one
 * retry. Other errors (a malformed request, a lease not found) are final.
 * json_t stays inside fleet/.
 *
 * seal.c: AES-256-GCM sealing of private keys with the store key.
 * tree.c: the fleet's tree in etcd (versions, current, accounts, nodes).
 * lock.c: the lease lock, its keep-alive thread, fencing.
 *
 * Errors: MC_ERR_NET when no member answers (the message names the store
 * and the last member's error), MC_ERR_INPUT for answers that make no
 * sense, MC_ERR_SYS for memory.
 */
#ifndef MAILCERT_FLEET_INT_H
#define MAILCERT_FLEET_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "mailcert/config.h"
#include "mailcert/err.h"
#include "mailcert/http.h"
#include "mailcert/fleet.h"
#include "mailcert/storeurl.h"

#define FLEET_KEY_MAX 1024
#define FLEET_TIMEOUT_MS 5000  /* one request */
#define FLEET_CONNECT_MS 1500  /* one connect */
#define FLEET_MAX_RESPONSE ((size_t)8 * 1024 * 1024)
#define FLEET_HTTP_POOL 4 /* kept transports; more threads get a fresh one */

struct fleet_etcd {
	struct mc_store_url url;
	bool https;
	struct mc_http_tls tls; /* file names borrowed from the config */
	pthread_mutex_t mu;     /* guards http[] and busy[] */
	bool mu_ready;
	struct mc_http *http[FLEET_HTTP_POOL];
	bool busy[FLEET_HTTP_POOL]; /* in use by a thread */
	atomic_int cur;    /* the member tried first */
	int timeout_ms;
};

struct fleet_kv {
	char *key;            /* NUL-terminated */
	unsigned char *value; /* NUL-terminated (not counted) */
	size_t value_len;
	long long create_rev;
	long long mod_rev;
	long long lease;
};

struct fleet_kvs {
	struct fleet_kv *kv;
	size_t n;
	long long rev; /* the store's revision when it answered */
};

struct fleet_lock {
	long long lease;      /* 0: not held */
	long long create_rev; /* of the lock key: the fencing token */
	long ttl;
	pthread_t thread;
	bool thread_running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	atomic_bool lost;    /* the keep-alive saw the lease end */
};

struct mc_fleet {
	const struct mc_config *cfg;
	struct fleet_etcd etcd;
	char node[256];
	unsigned char seal_key[MC_FLEET_KEY_LEN];
	struct fleet_lock lock;
	long long start_rev; /* the store's revision when this run began */
	bool reachable;      /* the last request reached a member */
	char down[MC_ERR_MSG_MAX]; /* why the store is unreachable */
};

/* --- etcd.c --- */

/* etcd_init - the client for cfg's store (no request yet; the client
 * certificate and key are read now). Free with etcd_free, also after a
 * failure. */
int etcd_init(struct fleet_etcd *e, const struct mc_config *cfg,
              struct mc_err *err);

/* etcd_free - close the connections and free the transports (no thread
 * may use e any more). */
void etcd_free(struct fleet_etcd *e);

/* etcd_call - POST req (stolen) to path, *resp the answer (new). */
int etcd_call(struct fleet_etcd *e, const char *path, json_t *req,
              json_t **resp, struct mc_err *err);

/* etcd_range - the key (prefix: every key under it), into *out. */
int etcd_range(struct fleet_etcd *e, const char *key, bool prefix,
               bool keys_only, struct fleet_kvs *out, struct mc_err *err);

/* etcd_get - one key: 1 found (*kv filled), 0 absent, -1 error. */
int etcd_get(struct fleet_etcd *e, const char *key, struct fleet_kv *kv,
             struct mc_err *err);

/* etcd_put - put key = value (lease 0: none). */
int etcd_put(struct fleet_etcd *e, const char *key, const void *value,
             size_t len, long long lease, struct mc_err *err);

/* etcd_delete - delete key (prefix: every key under it). */
int etcd_delete(struct fleet_etcd *e, const char *key, bool prefix,
                struct mc_err *err);

/* etcd_txn - if compare then success else failure (arrays, stolen);
 * *ok whether compare held; *resp the answer (new) when resp != NULL. */
int etcd_txn(struct fleet_etcd *e, json_t *compare, json_t *success,
             json_t *failure, bool *ok, json_t **resp, struct mc_err *err);

/* etcd_op_put / etcd_op_range / etcd_op_delete - txn operations (new). */
json_t *etcd_op_put(const char *key, const void *value, size_t len,
                    long long lease);
json_t *etcd_op_range(const char *key);
json_t *etcd_op_delete(const char *key);

/* etcd_cmp_create - compare: key's create_revision == rev (0: absent). */
json_t *etcd_cmp_create(const char *key, long long rev);

/* etcd_kvs_parse - the kvs of a range answer into *out. */
int etcd_kvs_parse(json_t *resp, struct fleet_kvs *out, struct mc_err *err);

/* etcd_lease_grant - a new lease of ttl seconds. */
int etcd_lease_grant(struct fleet_etcd *e, long ttl, long long *id,
                     struct mc_err *err);

/* etcd_lease_keepalive - renew lease id; *ttl 0 when it has expired. */
int etcd_lease_keepalive(struct fleet_etcd *e, long long id, long *ttl,
                         struct mc_err *err);

/* etcd_lease_revoke - end lease id (its keys go with it). */
int etcd_lease_revoke(struct fleet_etcd *e, long long id, struct mc_err *err);

/* etcd_kv_clear / etcd_kvs_clear - free the members. */
void etcd_kv_clear(struct fleet_kv *kv);
void etcd_kvs_clear(struct fleet_kvs *kvs);

/* etcd_num - a 64-bit number of an answer (JSON string or integer; 0 if absent). */
long long etcd_num(json_t *o, const char *name);

/* --- fleet.c --- */

/* fleet_key - PREFIX/rel into buf. */
int fleet_key(const struct mc_fleet *f, char *buf, size_t size,
              struct mc_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* fleet_note - remember whether the store answered (err: why not). */
int fleet_note(struct mc_fleet *f, int rc, const struct mc_err *err);

/* --- lock.c --- */

/* lock_fence - the compare array of a fenced txn (new): the lock is ours. */
json_t *lock_fence(struct mc_fleet *f);

/* lock_fenced_txn - a txn of ops (stolen) that applies only while we hold
 * the lock; MC_ERR_LOCKED when we do not (any more). */
int lock_fenced_txn(struct mc_fleet *f, json_t *ops, const char *what,
                    struct mc_err *err);

#endif
