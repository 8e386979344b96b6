/*
 * lock.c - the fleet lock: PREFIX/lock created under a lease in a txn
 * (create_revision == 0), kept alive by a thread while the run lasts, and
 * the fencing of every write of the holder (the lock key's create_revision
 * must still be ours). Waiting for another holder polls the lock key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleet/fleet_int.h"
#include "mailcert/interrupt.h"
#include "mailcert/log.h"
#include "mailcert/time.h"

#define LOCK_POLL_MS 250 /* while another host holds the lock */
#define LOCK_KEEPALIVE_MIN_MS 300

/* lock_keepalive_once - renew the lease; false when it is gone. */
static bool
lock_keepalive_once(struct mc_fleet *f, long long *last_ok)
{
	struct mc_err err;
	long ttl = 0;

	mc_err_clear(&err);
	if (etcd_lease_keepalive(&f->etcd, f->lock.lease, &ttl, &err) == 0) {
		if (ttl > 0) {
			*last_ok = mc_now_ms();
			return true;
		}
		mc_log_warn("the fleet lock's lease has expired (this run was "
		            "stopped or cut off for longer than store_lease); "
		            "nothing more is stored in the fleet by this run");
		return false;
	}
	if (mc_now_ms() - *last_ok > f->lock.ttl * 1000LL) {
		mc_log_warn("the fleet lock's lease could not be renewed for "
		            "%lds (%s); it is taken as lost",
		            f->lock.ttl, err.msg);
		return false;
	}
	mc_log_debug("lease keep-alive: %s; retrying", err.msg);
	return true;
}

/* lock_thread - keep the lease alive every ttl/3 until stopped or lost. */
static void *
lock_thread(void *arg)
{
	struct mc_fleet *f = arg;
	long ms = f->lock.ttl * 1000 / 3;
	long long last_ok = mc_now_ms();
	struct timespec until;
	bool stop = false;

	if (ms < LOCK_KEEPALIVE_MIN_MS)
		ms = LOCK_KEEPALIVE_MIN_MS;
	while (!stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ms / 1000;
		until.tv_nsec += (ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&f->lock.mu);
		while (!f->lock.stop &&
		       pthread_cond_timedwait(&f->lock.cv, &f->lock.mu, &until) !=
		           ETIMEDOUT)
			;
		stop = f->lock.stop;
		pthread_mutex_unlock(&f->lock.mu);
		if (!stop && !lock_keepalive_once(f, &last_ok)) {
			atomic_store(&f->lock.lost, true);
			stop = true;
		}
	}
	return NULL;
}

/* lock_value - the lock key's value: who holds it (new string). */
static char *
lock_value(const struct mc_fleet *f)
{
	json_t *o = json_pack("{s:s, s:i, s:I, s:I}", "node", f->node, "pid",
	                      (int)getpid(), "since", (json_int_t)time(NULL),
	                      "lease", (json_int_t)f->lock.lease);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

/* lock_holder - "NODE (pid P)" of a lock value into buf. */
static void
lock_holder(const struct fleet_kv *kv, char *buf, size_t size)
{
	json_t *o = json_loadb((const char *)kv->value, kv->value_len, 0, NULL);
	const char *node = json_string_value(json_object_get(o, "node"));

	snprintf(buf, size, "%.200s (pid %lld)", node ? node : "an unknown host",
	         (long long)json_integer_value(json_object_get(o, "pid")));
	json_decref(o);
}

/* lock_try - one attempt: 1 taken, 0 held by another (holder filled). */
static int
lock_try(struct mc_fleet *f, const char *key, const char *value, char *holder,
         size_t size, struct mc_err *err)
{
	json_t *resp = NULL, *rr;
	struct fleet_kvs kvs = {0};
	bool ok = false;
	int rc = -1;

	if (etcd_txn(&f->etcd, json_pack("[o]", etcd_cmp_create(key, 0)),
	             json_pack("[o]", etcd_op_put(key, value, strlen(value),
	                                          f->lock.lease)),
	             json_pack("[o]", etcd_op_range(key)), &ok, &resp,
	             err) == -1)
		return -1;
	if (ok) {
		f->lock.create_rev =
		    etcd_num(json_object_get(resp, "header"), "revision");
		rc = 1;
		goto out;
	}
	rr = json_object_get(json_array_get(json_object_get(resp, "responses"), 0),
	                     "response_range");
	if (etcd_kvs_parse(rr, &kvs, err) == -1)
		goto out;
	rc = 0;
	if (kvs.n == 1 && kvs.kv[0].lease == f->lock.lease) {
		/* our own put, whose answer was lost and retried */
		f->lock.create_rev = kvs.kv[0].create_rev;
		rc = 1;
	} else if (kvs.n == 1) {
		lock_holder(&kvs.kv[0], holder, size);
	} else {
		snprintf(holder, size, "a host that just released it");
	}
out:
	etcd_kvs_clear(&kvs);
	json_decref(resp);
	return rc;
}

/* lock_start - a lease and its keep-alive thread. */
static int
lock_start(struct mc_fleet *f, struct mc_err *err)
{
	f->lock.ttl = f->cfg->store_lease > 0 ? f->cfg->store_lease
	                                      : MC_FLEET_DEFAULT_LEASE;
	if (etcd_lease_grant(&f->etcd, f->lock.ttl, &f->lock.lease, err) == -1)
		return -1;
	atomic_store(&f->lock.lost, false);
	f->lock.stop = false;
	if (pthread_create(&f->lock.thread, NULL, lock_thread, f) != 0) {
		mc_err_set(err, MC_ERR_SYS, "cannot start the lease keep-alive");
		etcd_lease_revoke(&f->etcd, f->lock.lease, NULL);
		f->lock.lease = 0;
		return -1;
	}
	f->lock.thread_running = true;
	return 0;
}

/* lock_wait_step - one pause while another host holds the lock; -1 past
 * the deadline or when our own lease is gone. */
static int
lock_wait_step(struct mc_fleet *f, long long deadline, const char *holder,
               long wait, struct mc_err *err)
{
	if (atomic_load(&f->lock.lost))
		return mc_err_set(err, MC_ERR_NET,
		                  "the lease for the fleet lock was lost while "
		                  "waiting for %s",
		                  holder);
	if (mc_now_ms() >= deadline)
		return mc_err_set(err, MC_ERR_LOCKED,
		                  "the fleet lock is held by %s; waited %lds "
		                  "(store_wait) without getting it",
		                  holder, wait);
	if (mc_sleep_ms(LOCK_POLL_MS) == -1) /* SIGTERM: stop waiting */
		return mc_interrupt_check(err);
	return 0;
}

/* mc_fleet_lock - take the fleet lock, waiting up to wait seconds. */
int
mc_fleet_lock(struct mc_fleet *f, long wait,
              void (*waiting)(void *arg, const char *holder),
              void (*done)(void *arg), void *arg, struct mc_err *err)
{
	char key[FLEET_KEY_MAX + 1], holder[300] = "", *value = NULL;
	long long deadline = mc_now_ms() + wait * 1000LL;
	bool waited = false;
	int rc;

	if (mc_fleet_locked(f))
		return 0;
	mc_fleet_unlock(f); /* a lease seen lost earlier in this run */
	if (fleet_key(f, key, sizeof(key), err, "lock") == -1 ||
	    fleet_note(f, lock_start(f, err), err) == -1)
		return -1;
	value = lock_value(f);
	if (value == NULL) {
		rc = mc_err_set(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	while ((rc = lock_try(f, key, value, holder, sizeof(holder), err)) == 0) {
		if (!waited && waiting != NULL)
			waiting(arg, holder);
		if (!waited)
			mc_log_info("waiting for the fleet lock held by %s", holder);
		waited = true;
		if (lock_wait_step(f, deadline, holder, wait, err) == -1) {
			rc = -1;
			break;
		}
	}
	fleet_note(f, rc, err);
	if (waited && done != NULL)
		done(arg);
out:
	free(value);
	if (rc != 1) {
		mc_fleet_unlock(f);
		return mc_err_prefix(err, "fleet lock");
	}
	mc_log_debug("holding the fleet lock (lease %lld, revision %lld)",
	             f->lock.lease, f->lock.create_rev);
	return 0;
}

/* mc_fleet_locked - whether this run holds the lock (not known lost). */
bool
mc_fleet_locked(const struct mc_fleet *f)
{
	return f->lock.lease != 0 && f->lock.create_rev != 0 &&
	       !atomic_load(&f->lock.lost);
}

/* lock_fence - the compare of a fenced txn (new). */
json_t *
lock_fence(struct mc_fleet *f)
{
	char key[FLEET_KEY_MAX + 1];

	if (fleet_key(f, key, sizeof(key), NULL, "lock") == -1)
		return NULL;
	return json_pack("[o]", etcd_cmp_create(key, f->lock.create_rev));
}

/* lock_fenced_txn - ops (stolen) only while the lock is ours. */
int
lock_fenced_txn(struct mc_fleet *f, json_t *ops, const char *what,
                struct mc_err *err)
{
	bool ok = false;

	/* a lease the keep-alive thread saw end still goes to etcd: the
	 * compare of the lock's create_revision decides, not our guess */
	if (f->lock.lease == 0 || f->lock.create_rev == 0) {
		json_decref(ops);
		return mc_err_set(err, MC_ERR_LOCKED,
		                  "%s not stored: this run does not hold the "
		                  "fleet lock",
		                  what);
	}
	if (fleet_note(f, etcd_txn(&f->etcd, lock_fence(f), ops, NULL, &ok,
	                           NULL, err),
	               err) == -1)
		return mc_err_prefix(err, "%s", what);
	if (!ok) {
		atomic_store(&f->lock.lost, true);
		return mc_err_set(err, MC_ERR_LOCKED,
		                  "%s not stored: the fleet lock is no longer "
		                  "ours (its lease ended while this run was "
		                  "stopped or cut off; another host may have "
		                  "stored a newer version)",
		                  what);
	}
	return 0;
}

/* mc_fleet_lock_check - the lock is still ours (a fenced no-op). */
int
mc_fleet_lock_check(struct mc_fleet *f, struct mc_err *err)
{
	return lock_fenced_txn(f, json_array(), "the order", err);
}

/* mc_fleet_unlock - stop the keep-alive and revoke the lease. */
void
mc_fleet_unlock(struct mc_fleet *f)
{
	struct mc_err err;

	if (f->lock.thread_running) {
		pthread_mutex_lock(&f->lock.mu);
		f->lock.stop = true;
		pthread_cond_signal(&f->lock.cv);
		pthread_mutex_unlock(&f->lock.mu);
		pthread_join(f->lock.thread, NULL);
		f->lock.thread_running = false;
	}
	if (f->lock.lease != 0) {
		mc_err_clear(&err);
		if (etcd_lease_revoke(&f->etcd, f->lock.lease, &err) == -1)
			mc_log_debug("fleet lock: %s (the lease expires by "
			             "itself)",
			             err.msg);
	}
	f->lock.lease = 0;
	f->lock.create_rev = 0;
}
