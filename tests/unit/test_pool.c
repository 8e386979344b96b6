/*
 * test_pool.c - the one worker pool (core/pool.c): every item runs exactly
 * once, never more than k at once, items overlap when k > 1; the first
 * failure wins: no item starts after it (k = 1: exactly the items before
 * it ran; k > 1: only those under way finish), and its error comes back.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
