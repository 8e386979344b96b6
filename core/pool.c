/*
 * pool.c - the worker pool (mailcert/pool.h): threads take the next item
 * under one mutex until none is left or one failed.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

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
