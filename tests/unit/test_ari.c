/*
 * test_ari.c - the offline parts of ARI (RFC 9773): RFC 3339 timestamps,
 * the uniform pick inside the suggested window, the Retry-After clamp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mailcert/acme.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* 2030-01-01T00:00:00Z */
#define T2030 ((time_t)1893456000)

static const struct {
	const char *label;
	const char *text;
	int rc;
	time_t want;
} time_cases[] = {
    {"plain Z", "2030-01-01T00:00:00Z", 0, T2030},
    {"lower-case t and z", "2030-01-01t00:00:00z", 0, T2030},
    {"fraction", "2030-01-01T00:00:00.999999Z", 0, T2030},
    {"positive offset", "2030-01-01T02:00:00+02:00", 0, T2030},
    {"negative offset", "2029-12-31T19:30:00-04:30", 0, T2030},
    {"epoch", "1970-01-01T00:00:00Z", 0, 0},
    {"leap day", "2024-02-29T12:00:00Z", 0, (time_t)1709208000},
    {"end of day", "2030-01-01T23:59:59Z", 0, T2030 + 86399},
    {"leap second", "2016-12-31T23:59:60Z", 0, (time_t)1483228800},
    {"no zone", "2030-01-01T00:00:00", -1, 0},
    {"space separator", "2030-01-01 00:00:00Z", -1, 0},
    {"date only", "2030-01-01", -1, 0},
    {"empty", "", -1, 0},
    {"month 13", "2030-13-01T00:00:00Z", -1, 0},
    {"day 0", "2030-01-00T00:00:00Z", -1, 0},
    {"Feb 29 in a common year", "2030-02-29T00:00:00Z", -1, 0},
    {"Apr 31", "2030-04-31T00:00:00Z", -1, 0},
    {"hour 24", "2030-01-01T24:00:00Z", -1, 0},
    {"minute 60", "2030-01-01T00:60:00Z", -1, 0},
    {"second 61", "2030-01-01T00:00:61Z", -1, 0},
    {"empty fraction", "2030-01-01T00:00:00.Z", -1, 0},
    {"offset without colon", "2030-01-01T00:00:00+0200", -1, 0},
    {"offset hour 24", "2030-01-01T00:00:00+24:00", -1, 0},
    {"trailing garbage", "2030-01-01T00:00:00Zx", -1, 0},
    {"short year", "230-01-01T00:00:00Z", -1, 0},
    {"sign in digits", "2030-+1-01T00:00:00Z", -1, 0},
};

/* test_parse_time - every row of time_cases. */
static void
test_parse_time(void **state)
{
	size_t i;
	time_t t;

	(void)state;
	for (i = 0; i < N_OF(time_cases); i++) {
		t = (time_t)-12345;
		int rc = mc_acme_parse_time(time_cases[i].text, &t);

		if (rc != time_cases[i].rc)
			fail_msg("%s: rc %d, want %d", time_cases[i].label, rc,
				 time_cases[i].rc);
		if (rc == 0 && t != time_cases[i].want)
			fail_msg("%s: %lld, want %lld", time_cases[i].label,
				 (long long)t, (long long)time_cases[i].want);
		if (rc == -1 && t != (time_t)-12345)
			fail_msg("%s: *out written on failure",
				 time_cases[i].label);
	}
	assert_int_equal(mc_acme_parse_time(NULL, &t), -1);
}

static const struct {
	const char *label;
	long in;
	long want;
} clamp_cases[] = {
    {"absent: default 6 h", -1, 6 * 3600},
    {"zero: 1 min", 0, 60},
    {"5 s: 1 min", 5, 60},
    {"59 s: 1 min", 59, 60},
    {"exactly 1 min", 60, 60},
    {"1 h kept", 3600, 3600},
    {"exactly 1 day", 86400, 86400},
    {"1 day + 1 s: 1 day", 86401, 86400},
    {"a month: 1 day", 30L * 86400, 86400},
};

/* test_retry_clamp - every row of clamp_cases. */
static void
test_retry_clamp(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(clamp_cases); i++)
		if (mc_acme_ari_retry_clamp(clamp_cases[i].in) !=
		    clamp_cases[i].want)
			fail_msg("%s: %ld, want %ld", clamp_cases[i].label,
				 mc_acme_ari_retry_clamp(clamp_cases[i].in),
				 clamp_cases[i].want);
}

static unsigned char fixed_byte;

/* rand_fixed - every byte is fixed_byte. */
static int
rand_fixed(unsigned char *buf, int num)
{
	memset(buf, fixed_byte, (size_t)num);
	return 1;
}

/* rand_broken - a random source that fails. */
static int
rand_broken(unsigned char *buf, int num)
{
	(void)buf;
	(void)num;
	return 0;
}

static const struct {
	const char *label;
	time_t start, end;
	int (*src)(unsigned char *, int);
	unsigned char byte;
	int rc;
	enum mc_err_cat cat;
	time_t want; /* (time_t)-1: anything inside [start, end) */
} pick_cases[] = {
    {"one-second window", T2030, T2030 + 1, NULL, 0, 0, MC_ERR_NONE, T2030},
    {"all-zero source, 1024 s", T2030, T2030 + 1024, rand_fixed, 0x00, 0,
     MC_ERR_NONE, T2030},
    /* 2^64 mod 1000 values at the bottom are rejected (bias); a source
     * stuck at zero never gets past them */
    {"all-zero source, 1000 s", T2030, T2030 + 1000, rand_fixed, 0x00, -1,
     MC_ERR_CRYPTO, 0},
    {"all-ones source", T2030, T2030 + 1024, rand_fixed, 0xff, 0,
     MC_ERR_NONE, T2030 + 1023},
    {"RAND_bytes, a day", T2030, T2030 + 86400, NULL, 0, 0, MC_ERR_NONE,
     (time_t)-1},
    {"RAND_bytes, in the past", 0, 3600, NULL, 0, 0, MC_ERR_NONE,
     (time_t)-1},
    {"empty window", T2030, T2030, NULL, 0, -1, MC_ERR_INPUT, 0},
    {"inverted window", T2030 + 10, T2030, NULL, 0, -1, MC_ERR_INPUT, 0},
    {"broken source", T2030, T2030 + 10, rand_broken, 0, -1, MC_ERR_CRYPTO,
     0},
};

/* test_pick_rows - every row of pick_cases. */
static void
test_pick_rows(void **state)
{
	struct mc_err err;
	time_t t;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < N_OF(pick_cases); i++) {
		mc_err_clear(&err);
		fixed_byte = pick_cases[i].byte;
		t = (time_t)-7;
		rc = mc_acme_ari_pick(pick_cases[i].start, pick_cases[i].end,
				      pick_cases[i].src, &t, &err);
		if (rc != pick_cases[i].rc || err.cat != pick_cases[i].cat)
			fail_msg("%s: rc %d cat %d (%s)", pick_cases[i].label,
				 rc, err.cat, err.msg);
		if (rc == -1 && t != (time_t)-7)
			fail_msg("%s: *out written on failure",
				 pick_cases[i].label);
		if (rc == 0 && pick_cases[i].want != (time_t)-1 &&
		    t != pick_cases[i].want)
			fail_msg("%s: %lld, want %lld", pick_cases[i].label,
				 (long long)t, (long long)pick_cases[i].want);
		if (rc == 0 &&
		    (t < pick_cases[i].start || t >= pick_cases[i].end))
			fail_msg("%s: %lld outside the window",
				 pick_cases[i].label, (long long)t);
	}
}

#define BUCKETS 10
#define DRAWS 20000

/* test_pick_uniform - many draws stay in [start, end) and fill every tenth
 * of the window about equally (expected 2000 each, sd ~42; allow +-400). */
static void
test_pick_uniform(void **state)
{
	const time_t start = T2030, span = 1000;
	unsigned counts[BUCKETS] = {0};
	bool seen_first = false, seen_last = false;
	time_t t;
	int i;

	(void)state;
	for (i = 0; i < DRAWS; i++) {
		assert_int_equal(
		    mc_acme_ari_pick(start, start + span, NULL, &t, NULL), 0);
		if (t < start || t >= start + span)
			fail_msg("draw %d: %lld outside the window", i,
				 (long long)t);
		seen_first |= t == start;
		seen_last |= t == start + span - 1;
		counts[(t - start) * BUCKETS / span]++;
	}
	for (i = 0; i < BUCKETS; i++)
		if (counts[i] < DRAWS / BUCKETS - 400 ||
		    counts[i] > DRAWS / BUCKETS + 400)
			fail_msg("bucket %d has %u draws of %d", i, counts[i],
				 DRAWS);
	assert_true(seen_first); /* P(miss) = (999/1000)^20000 ~ 2e-9 */
	assert_true(seen_last);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_time),
	    cmocka_unit_test(test_retry_clamp),
	    cmocka_unit_test(test_pick_rows),
	    cmocka_unit_test(test_pick_uniform),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
