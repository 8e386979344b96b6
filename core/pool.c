/*
 * pool.c - the concurrency helpers (mailcert/pool.h).
 *
 * The worker pool: threads take the next item under one mutex until none
 * is left or one failed.
 *
 * The per-key limit: one mutex guards a small hash of the keys that have
 * holders or waiters; each key keeps its count of holders and a FIFO of
 * waiters, each waiting on its own condition variable (on its stack). A
 * freed slot goes straight to the first waiter (the count stays), so one
 * give wakes exactly one thread and a newcomer never overtakes a waiter.
 * Each thread counts the slots it holds: asking for a second one is the
 * caller's bug that can deadlock, and aborts at once instead.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailcert/pool.h"

#define POOL_MAX_THREADS 1024 /* beyond that, more threads do not help */

struct pool {
	mc_pool_fn fn;
	void *arg;
	size_t n;
	pthread_mutex_t lock;
	size_t next;       /* the next item to hand out */
	bool failed;       /* an item failed: hand out no more */
	struct mc_err err; /* the first failure */
};

/* pool_take - the next item to run, or n when none is left. */
static size_t
pool_take(struct pool *p)
{
	size_t i;

	pthread_mutex_lock(&p->lock);
	i = p->failed ? p->n : p->next;
	if (i < p->n)
		p->next++;
	pthread_mutex_unlock(&p->lock);
	return i;
}

/* pool_worker - run items until none is left (thread start routine). */
static void *
pool_worker(void *arg)
{
	struct pool *p = arg;
	struct mc_err err;
	size_t i;

	while ((i = pool_take(p)) < p->n) {
		mc_err_clear(&err);
		if (p->fn(p->arg, i, &err) == 0)
			continue;
		pthread_mutex_lock(&p->lock);
		if (!p->failed) {
			p->failed = true;
			p->err = err;
		}
		pthread_mutex_unlock(&p->lock);
		break;
	}
	return NULL;
}

/* mc_pool_run - fn(arg, i) for i in 0..n-1, at most k at once. */
int
mc_pool_run(size_t n, size_t k, mc_pool_fn fn, void *arg,
	    struct mc_err *err)
{
	struct pool p = {.fn = fn, .arg = arg, .n = n};
	pthread_t *tids = NULL;
	size_t i, started = 0;

	if (k > n)
		k = n;
	if (k > POOL_MAX_THREADS)
		k = POOL_MAX_THREADS;
	mc_err_clear(&p.err);
	if (pthread_mutex_init(&p.lock, NULL) != 0)
		return mc_err_set(err, MC_ERR_SYS, "worker pool: mutex");
	if (k > 1)
		tids = calloc(k, sizeof(*tids));
	for (i = 0; tids != NULL && i < k; i++) {
		if (pthread_create(&tids[i], NULL, pool_worker, &p) != 0)
			break; /* fewer threads, same items */
		started++;
	}
	if (started == 0)
		pool_worker(&p);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	pthread_mutex_destroy(&p.lock);
	if (!p.failed)
		return 0;
	if (err != NULL)
		*err = p.err;
	return -1;
}

#define LIMIT_BUCKETS 64 /* keys in use at once: about the threads */

/* One thread waiting for a slot of a key. */
struct limit_waiter {
	pthread_cond_t cond;
	bool granted; /* a giver handed its slot over */
	struct limit_waiter *next;
};

/* A key with holders or waiters (the handle of a slot of it). */
struct mc_limit_slot {
	struct mc_limit *l;
	struct mc_limit_slot *next; /* in its bucket */
	char key[MC_LIMIT_KEY_MAX];
	unsigned held;
	struct limit_waiter *head, *tail; /* first come, first served */
};

/* Slots this thread holds (of any limit): 0 or 1. */
static _Thread_local unsigned limit_held_here;

struct mc_limit {
	pthread_mutex_t lock;
	unsigned max;
	struct mc_limit_slot *buckets[LIMIT_BUCKETS];
};

/* limit_bucket - the bucket of key (FNV-1a). */
static struct mc_limit_slot **
limit_bucket(struct mc_limit *l, const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return &l->buckets[h % LIMIT_BUCKETS];
}

/* limit_entry - the entry of key, a new one if none (NULL: no memory);
 * under the lock. */
static struct mc_limit_slot *
limit_entry(struct mc_limit *l, const char *key)
{
	struct mc_limit_slot **b = limit_bucket(l, key), *e;

	for (e = *b; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->l = l;
	memcpy(e->key, key, strlen(key) + 1);
	e->next = *b;
	*b = e;
	return e;
}

/* limit_drop - unlink and free e, which has no holder and no waiter;
 * under the lock. */
static void
limit_drop(struct mc_limit_slot *e)
{
	struct mc_limit_slot **p = limit_bucket(e->l, e->key);

	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	free(e);
}

/* mc_limit_new - a limit of max holders per key. */
struct mc_limit *
mc_limit_new(unsigned max, struct mc_err *err)
{
	struct mc_limit *l = calloc(1, sizeof(*l));

	if (l == NULL || max == 0 || pthread_mutex_init(&l->lock, NULL) != 0) {
		free(l);
		mc_err_set(err, MC_ERR_SYS, "connection limit: %s",
		           max == 0 ? "no slot per key" : "out of memory");
		return NULL;
	}
	l->max = max;
	return l;
}

/* mc_limit_max - the holders allowed per key. */
unsigned
mc_limit_max(const struct mc_limit *l)
{
	return l->max;
}

/* mc_limit_free - free l; every slot was given back. */
void
mc_limit_free(struct mc_limit *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < LIMIT_BUCKETS; i++)
		if (l->buckets[i] != NULL)
			abort(); /* a slot still held: a caller's bug */
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* limit_wait - queue on e until a giver hands a slot over; under the
 * lock; -1 when no condition variable can be made. */
static int
limit_wait(struct mc_limit_slot *e)
{
	struct limit_waiter w = {.granted = false};

	if (pthread_cond_init(&w.cond, NULL) != 0)
		return -1;
	if (e->tail != NULL)
		e->tail->next = &w;
	else
		e->head = &w;
	e->tail = &w;
	while (!w.granted)
		pthread_cond_wait(&w.cond, &e->l->lock);
	pthread_cond_destroy(&w.cond); /* the giver is done with it */
	return 0;
}

/* mc_limit_take - wait for a slot of key. */
struct mc_limit_slot *
mc_limit_take(struct mc_limit *l, const char *key, struct mc_err *err)
{
	char k[MC_LIMIT_KEY_MAX];
	struct mc_limit_slot *e;
	int rc = 0;

	if (limit_held_here > 0)
		abort(); /* waiting with a slot held can deadlock (pool.h) */
	snprintf(k, sizeof(k), "%s", key);
	pthread_mutex_lock(&l->lock);
	e = limit_entry(l, k);
	if (e != NULL && e->held < l->max && e->head == NULL)
		e->held++;
	else if (e != NULL)
		rc = limit_wait(e); /* the giver counted us in */
	if (e != NULL && rc == -1 && e->held == 0 && e->head == NULL)
		limit_drop(e);
	pthread_mutex_unlock(&l->lock);
	if (e == NULL || rc == -1) {
		mc_err_set(err, MC_ERR_SYS, "connection limit for %s: out of "
		                            "memory", k);
		return NULL;
	}
	limit_held_here++;
	return e;
}

/* mc_limit_give - give the slot back: to the first waiter, if any. */
void
mc_limit_give(struct mc_limit_slot *e)
{
	struct mc_limit *l;
	struct limit_waiter *w;

	if (e == NULL)
		return;
	limit_held_here--;
	l = e->l;
	pthread_mutex_lock(&l->lock);
	w = e->head;
	if (w != NULL) {
		e->head = w->next;
		if (e->head == NULL)
			e->tail = NULL;
		w->granted = true;
		pthread_cond_signal(&w->cond);
	} else if (--e->held == 0)
		limit_drop(e);
	pthread_mutex_unlock(&l->lock);
}
