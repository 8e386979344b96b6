/*
 * test_pool.c - the one worker pool (core/pool.c): every item runs exactly
 * once, never more than k at once, items overlap when k > 1; the first
 * failure wins: no item starts after it (k = 1: exactly the items before
 * it ran; k > 1: only those under way finish), and its error comes back.
 *
 * The per-key limit (mc_limit_*): never more than max holders of one key
 * at once, and max reached when more threads want it; keys do not hold
 * each other up; a taker blocks while the slots are held and gets one
 * when a slot is given back; the pattern of `check` (a pool of endpoints,
 * each taking a slot, giving it back, then running a pool of its own
 * probes on the same key) ends and keeps the bound; a thread asking for
 * a second slot aborts.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailcert/err.h"
#include "mailcert/pool.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ITEMS 64
#define NONE ((size_t)-1)

struct pool_case {
	const char *label;
	size_t n, k;
	size_t fail_at;  /* the item that fails, or NONE */
	int rc;          /* of mc_pool_run */
	size_t want_ran; /* items run (NONE: do not check) */
};

static const struct pool_case pool_cases[] = {
    {"no items", 0, 4, NONE, 0, 0},
    {"one item, one thread", 1, 1, NONE, 0, 1},
    {"one item, many threads", 1, 8, NONE, 0, 1},
    {"more items than threads", 20, 4, NONE, 0, 20},
    {"more threads than items", 3, 16, NONE, 0, 3},
    {"k = 0 runs in the caller", 5, 0, NONE, 0, 5},
    {"many items, two threads", MAX_ITEMS, 2, NONE, 0, MAX_ITEMS},
    {"first item fails, one thread: nothing after", 10, 1, 0, -1, 1},
    {"middle item fails, one thread: nothing after", 10, 1, 4, -1, 5},
    {"last item fails, one thread", 10, 1, 9, -1, 10},
    {"an item fails, four threads", 30, 4, 6, -1, NONE},
    {"the last item fails, four threads", 8, 4, 7, -1, 8},
};

/* What the items of one run saw (guarded by lock). */
static struct {
	pthread_mutex_t lock;
	const struct pool_case *tc;
	int runs[MAX_ITEMS];
	size_t ran, now, peak;
	bool after_failure; /* an item started after the failing one ended */
	bool failed;
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* item - count, stay a little (so threads overlap), fail if told to. */
static int
item(void *arg, size_t i, struct mc_err *err)
{
	const struct timespec stay = {0, 10 * 1000 * 1000};
	bool fail;

	assert_ptr_equal(arg, &st);
	pthread_mutex_lock(&st.lock);
	st.after_failure |= st.failed;
	st.runs[i]++;
	st.ran++;
	if (++st.now > st.peak)
		st.peak = st.now;
	pthread_mutex_unlock(&st.lock);
	nanosleep(&stay, NULL);
	fail = i == st.tc->fail_at;
	pthread_mutex_lock(&st.lock);
	st.now--;
	st.failed |= fail;
	pthread_mutex_unlock(&st.lock);
	if (fail)
		return mc_err_set(err, MC_ERR_VERIFY, "item %zu failed", i);
	return 0;
}

/* run_case - one table row. */
static void
run_case(const struct pool_case *tc)
{
	struct mc_err err;
	size_t i, k = tc->k < 1 ? 1 : tc->k;
	int rc;

	memset(st.runs, 0, sizeof(st.runs));
	st.tc = tc;
	st.ran = st.now = st.peak = 0;
	st.after_failure = st.failed = false;
	mc_err_clear(&err);
	rc = mc_pool_run(tc->n, tc->k, item, &st, &err);
	print_message("%s: rc %d, ran %zu, peak %zu\n", tc->label, rc, st.ran,
	              st.peak);
	if (rc != tc->rc)
		fail_msg("%s: rc %d, want %d", tc->label, rc, tc->rc);
	for (i = 0; i < tc->n; i++)
		if (st.runs[i] > 1 || (tc->fail_at == NONE && st.runs[i] != 1))
			fail_msg("%s: item %zu ran %d times", tc->label, i,
			         st.runs[i]);
	if (tc->want_ran != NONE && st.ran != tc->want_ran)
		fail_msg("%s: %zu items ran, want %zu", tc->label, st.ran,
		         tc->want_ran);
	if (st.peak > k)
		fail_msg("%s: %zu at once, at most %zu allowed", tc->label,
		         st.peak, k);
	if (tc->fail_at == NONE && k > 1 && tc->n > 1 && st.peak < 2)
		fail_msg("%s: the items never overlapped", tc->label);
	if (k == 1 && st.after_failure)
		fail_msg("%s: an item started after the failure", tc->label);
	/* k > 1: the items under way finish, at most one more each may
	 * start while the failure is being recorded */
	if (tc->fail_at != NONE && st.ran > tc->fail_at + 2 * k)
		fail_msg("%s: %zu items ran after item %zu failed", tc->label,
		         st.ran, tc->fail_at);
	if (tc->rc == -1) {
		assert_int_equal(err.cat, MC_ERR_VERIFY);
		assert_non_null(strstr(err.msg, "failed"));
		assert_true(st.runs[tc->fail_at] == 1);
	} else
		assert_int_equal(err.cat, MC_ERR_NONE);
}

/* test_pool - the table. */
static void
test_pool(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(pool_cases); i++)
		run_case(&pool_cases[i]);
}

/* --- the per-key limit */

struct limit_case {
	const char *label;
	unsigned max;
	size_t keys;    /* distinct keys, the threads round-robin on them */
	size_t threads; /* at once: flat, or the endpoints of the nested run */
	size_t iters;   /* takes per thread (flat) */
	size_t inner;   /* > 0: nested, this many probes per endpoint, 4 at
	                   once, after one probe of the endpoint's own */
};

static const struct limit_case limit_cases[] = {
    {"one holder, many threads", 1, 1, 8, 20, 0},
    {"four per key, sixteen threads", 4, 1, 16, 20, 0},
    {"four per key, three keys", 4, 3, 24, 10, 0},
    {"more slots than threads", 8, 1, 4, 20, 0},
    {"check: endpoints of one server, probes nested", 4, 1, 8, 0, 6},
    {"check: endpoints of two servers, probes nested", 4, 2, 16, 0, 6},
};

#define LIMIT_KEYS_MAX 4

/* What the holders of one run saw (guarded by lk.lock). */
static struct {
	pthread_mutex_t lock;
	const struct limit_case *tc;
	struct mc_limit *l;
	size_t now[LIMIT_KEYS_MAX], peak[LIMIT_KEYS_MAX];
	size_t taken;
	bool failed;
} lk = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char *const limit_keys[LIMIT_KEYS_MAX] = {
    "127.0.0.1", "::1", "192.0.2.25", "2001:db8::25"};

/* limit_hold - take a slot of key k, count it, stay a little, give it. */
static void
limit_hold(size_t k)
{
	const struct timespec stay = {0, 300 * 1000};
	struct mc_limit_slot *s;
	struct mc_err err;

	s = mc_limit_take(lk.l, limit_keys[k], &err);
	pthread_mutex_lock(&lk.lock);
	if (s == NULL)
		lk.failed = true;
	lk.taken++;
	if (++lk.now[k] > lk.peak[k])
		lk.peak[k] = lk.now[k];
	pthread_mutex_unlock(&lk.lock);
	nanosleep(&stay, NULL);
	pthread_mutex_lock(&lk.lock);
	lk.now[k]--; /* before the give: the count never runs ahead */
	pthread_mutex_unlock(&lk.lock);
	mc_limit_give(s);
}

/* limit_probe - one probe of an endpoint (inner pool item; arg: key). */
static int
limit_probe(void *arg, size_t i, struct mc_err *err)
{
	(void)i;
	(void)err;
	limit_hold(*(const size_t *)arg);
	return 0;
}

/* limit_item - thread i: its takes (flat), or one endpoint (nested). */
static int
limit_item(void *arg, size_t i, struct mc_err *err)
{
	size_t j, k = i % lk.tc->keys;

	(void)arg;
	if (lk.tc->inner == 0) {
		for (j = 0; j < lk.tc->iters; j++)
			limit_hold(k);
		return 0;
	}
	limit_hold(k); /* the default probe, then the rest at once */
	return mc_pool_run(lk.tc->inner, 4, limit_probe, &k, err);
}

/* limit_run_case - one table row. */
static void
limit_run_case(const struct limit_case *tc)
{
	size_t k, want;
	struct mc_err err;

	memset(lk.now, 0, sizeof(lk.now));
	memset(lk.peak, 0, sizeof(lk.peak));
	lk.taken = 0;
	lk.failed = false;
	lk.tc = tc;
	lk.l = mc_limit_new(tc->max, &err);
	assert_non_null(lk.l);
	assert_int_equal(mc_limit_max(lk.l), tc->max);
	assert_int_equal(mc_pool_run(tc->threads, tc->threads, limit_item,
	                             NULL, &err),
	                 0);
	mc_limit_free(lk.l); /* aborts if a key still had holders */
	lk.l = NULL;
	assert_false(lk.failed);
	want = tc->threads * (tc->inner > 0 ? 1 + tc->inner : tc->iters);
	if (lk.taken != want)
		fail_msg("%s: %zu slots taken, want %zu", tc->label, lk.taken,
		         want);
	for (k = 0; k < tc->keys; k++) {
		print_message("%s: key %s: peak %zu of %u\n", tc->label,
		              limit_keys[k], lk.peak[k], tc->max);
		if (lk.peak[k] > tc->max)
			fail_msg("%s: %zu holders of %s at once, at most %u",
			         tc->label, lk.peak[k], limit_keys[k], tc->max);
		/* threads that want the key, all started at once */
		want = (tc->threads + tc->keys - 1 - k) / tc->keys;
		if (tc->inner > 0)
			want *= 4;
		if (want > tc->max)
			want = tc->max;
		if (lk.peak[k] < want && lk.peak[k] < 2)
			fail_msg("%s: %s never had two holders at once",
			         tc->label, limit_keys[k]);
	}
}

/* test_limit - the table. */
static void
test_limit(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(limit_cases); i++)
		limit_run_case(&limit_cases[i]);
}

/* One thread waiting for a slot (test_limit_blocks). */
struct limit_waiter_arg {
	struct mc_limit *l;
	const char *key;
	pthread_mutex_t lock;
	bool got;
};

/* limit_waiter - take a slot of key, say so, give it back. */
static void *
limit_waiter(void *arg)
{
	struct limit_waiter_arg *w = arg;
	struct mc_limit_slot *s = mc_limit_take(w->l, w->key, NULL);

	pthread_mutex_lock(&w->lock);
	w->got = s != NULL;
	pthread_mutex_unlock(&w->lock);
	mc_limit_give(s);
	return NULL;
}

/* limit_wait_got - whether the waiter got its slot within ms (looked
 * at every 10 ms). */
static bool
limit_wait_got(struct limit_waiter_arg *w, long ms)
{
	const struct timespec tick = {0, 10 * 1000 * 1000};
	long waited;
	bool got;

	for (waited = 0;; waited += 10) {
		pthread_mutex_lock(&w->lock);
		got = w->got;
		pthread_mutex_unlock(&w->lock);
		if (got || waited >= ms)
			return got;
		nanosleep(&tick, NULL);
	}
}

/* test_limit_blocks - with the slot of a key held, a second taker waits
 * until it is given back; another key is free meanwhile. */
static void
test_limit_blocks(void **state)
{
	struct limit_waiter_arg w = {.key = "192.0.2.25",
	                             .lock = PTHREAD_MUTEX_INITIALIZER};
	struct limit_waiter_arg other = {.key = "192.0.2.26",
	                                 .lock = PTHREAD_MUTEX_INITIALIZER};
	struct mc_limit_slot *a;
	pthread_t t, u;

	(void)state;
	w.l = other.l = mc_limit_new(1, NULL);
	assert_non_null(w.l);
	a = mc_limit_take(w.l, w.key, NULL);
	assert_non_null(a);
	assert_int_equal(pthread_create(&t, NULL, limit_waiter, &w), 0);
	assert_int_equal(pthread_create(&u, NULL, limit_waiter, &other), 0);
	if (!limit_wait_got(&other, 5000))
		fail_msg("another key waited for the slots of %s", w.key);
	if (limit_wait_got(&w, 100))
		fail_msg("a second slot of %s was handed out", w.key);
	mc_limit_give(a);
	if (!limit_wait_got(&w, 5000))
		fail_msg("the slot given back never reached the waiter");
	pthread_join(t, NULL);
	pthread_join(u, NULL);
	mc_limit_give(NULL); /* no-op */
	a = mc_limit_take(w.l, w.key, NULL); /* given back: free again */
	assert_non_null(a);
	mc_limit_give(a);
	mc_limit_free(w.l);
	mc_limit_free(NULL);
}

/* test_limit_second_slot - a thread that holds a slot and asks for
 * another (of any key) could wait for itself: the process aborts at once
 * (in a child). */
static void
test_limit_second_slot(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mc_limit *l = mc_limit_new(4, NULL);

		signal(SIGABRT, SIG_DFL);
		if (l != NULL && mc_limit_take(l, "192.0.2.25", NULL) != NULL)
			(void)mc_limit_take(l, "192.0.2.26", NULL);
		_exit(0); /* not reached when the guard holds */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		fail_msg("a second slot on one thread did not abort (status "
		         "0x%x)", status);
}

/* test_limit_bad - no slot per key is a local error, not a hang. */
static void
test_limit_bad(void **state)
{
	struct mc_err err;

	(void)state;
	mc_err_clear(&err);
	assert_null(mc_limit_new(0, &err));
	assert_int_equal(err.cat, MC_ERR_SYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pool),
	    cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_limit_blocks),
	    cmocka_unit_test(test_limit_second_slot),
	    cmocka_unit_test(test_limit_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
