/*
 * test_renew.c - the due decision table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mailcert/renew.h"

#define DAY 86400L
#define NOW 1800000000L
#define CONF_DIR "https://acme.example.test/directory"
#define OTHER_DIR "https://acme-staging.example.test/directory"

static const struct {
	const char *label;
	int have_meta;
	long lifetime;      /* not_after - not_before */
	long left;          /* not_after - now */
	long renew_before;  /* -1 auto */
	long ari_at;        /* relative to now; 0 none */
	int names_differ;
	int key_differs;
	const char *status;     /* meta.json status */
	const char *revoked;    /* revocation_reason, "" none */
	const char *directory;  /* of the version; NULL: not recorded */
	int due;
	const char *reason;
} cases[] = {
	{"no certificate", 0, 0, 0, -1, 0, 0, 0, "issued", "", CONF_DIR,
	 1, "no certificate yet"},
	{"names changed", 1, 90 * DAY, 80 * DAY, -1, 0, 1, 0, "issued", "", CONF_DIR,
	 1, "names changed"},
	{"key type changed", 1, 90 * DAY, 80 * DAY, -1, 0, 0, 1, "issued", "", CONF_DIR,
	 1, "key type changed"},
	{"auto, fresh", 1, 90 * DAY, 80 * DAY, -1, 0, 0, 0, "issued", "", CONF_DIR,
	 0, "1/3 of lifetime left"},
	{"auto, one third left", 1, 90 * DAY, 30 * DAY, -1, 0, 0, 0, "issued", "", CONF_DIR,
	 1, "1/3 of lifetime left"},
	{"auto, just before a third", 1, 90 * DAY, 30 * DAY + 1, -1, 0, 0, 0, "issued", "", CONF_DIR,
	 0, "1/3 of lifetime left"},
	{"auto, short-lived fresh", 1, 6 * DAY, 4 * DAY, -1, 0, 0, 0, "issued", "", CONF_DIR,
	 0, "1/2 of lifetime left"},
	{"auto, short-lived half", 1, 6 * DAY, 3 * DAY, -1, 0, 0, 0, "issued", "", CONF_DIR,
	 1, "1/2 of lifetime left"},
	{"fixed 30d, 31 left", 1, 90 * DAY, 31 * DAY, 30 * DAY, 0, 0, 0, "issued", "", CONF_DIR,
	 0, "renew_before"},
	{"fixed 30d, 29 left", 1, 90 * DAY, 29 * DAY, 30 * DAY, 0, 0, 0, "issued", "", CONF_DIR,
	 1, "renew_before"},
	{"ARI window reached", 1, 90 * DAY, 80 * DAY, -1, -10, 0, 0, "issued", "", CONF_DIR,
	 1, "ARI window"},
	{"ARI window ahead", 1, 90 * DAY, 20 * DAY, -1, 100, 0, 0, "issued", "", CONF_DIR,
	 0, "ARI window"},
	{"fixed beats ARI", 1, 90 * DAY, 80 * DAY, 30 * DAY, -10, 0, 0, "issued", "", CONF_DIR,
	 0, "renew_before"},
	{"expired", 1, 90 * DAY, -DAY, -1, 0, 0, 0, "issued", "", CONF_DIR,
	 1, "1/3 of lifetime left"},
	{"revoked, any reason", 1, 90 * DAY, 80 * DAY, -1, 0, 0, 0, "revoked", "",
	 CONF_DIR, 1, "revoked"},
	{"revoked for keyCompromise", 1, 90 * DAY, 80 * DAY, -1, 0, 0, 0, "revoked",
	 "keyCompromise", CONF_DIR, 1, "revoked (keyCompromise)"},
	{"revocation recorded, status not", 1, 90 * DAY, 80 * DAY, -1, 0, 0, 0,
	 "deployed", "superseded", CONF_DIR, 1, "revoked (superseded)"},
	{"revoked beats names changed", 1, 90 * DAY, 80 * DAY, -1, 0, 1, 0,
	 "revoked", "", CONF_DIR, 1, "revoked"},
	{"current version failed", 1, 90 * DAY, 80 * DAY, -1, 0, 0, 0, "failed", "",
	 CONF_DIR, 1, "current version failed"},
	{"directory changed (staging to production)", 1, 90 * DAY, 80 * DAY, -1, 0,
	 0, 0, "deployed", "", OTHER_DIR, 1, "directory changed"},
	{"directory not recorded", 1, 90 * DAY, 80 * DAY, -1, 0, 0, 0, "deployed",
	 "", NULL, 0, "1/3 of lifetime left"},
	{"deployed, same directory", 1, 90 * DAY, 80 * DAY, -1, 0, 0, 0, "deployed",
	 "", CONF_DIR, 0, "1/3 of lifetime left"},
};

/* test_due_table - every row of the table. */
static void
test_due_table(void **state)
{
	static char *conf_names[] = {"a.example.test", "b.example.test"};
	static char *other_names[] = {"a.example.test", "c.example.test"};
	struct mc_cert_conf cc;
	struct mc_cert_meta meta;
	struct mc_due due;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].label);
		memset(&cc, 0, sizeof(cc));
		memset(&meta, 0, sizeof(meta));
		cc.names = conf_names;
		cc.n_names = 2;
		cc.key_type = MC_KEY_EC_P256;
		cc.key_types[0] = MC_KEY_EC_P256;
		cc.n_key_types = 1;
		cc.timing.renew_before = cases[i].renew_before;
		meta.names = cases[i].names_differ ? other_names : conf_names;
		meta.n_names = 2;
		meta.key_type = cases[i].key_differs ? MC_KEY_RSA2048
						     : MC_KEY_EC_P256;
		meta.not_after = NOW + cases[i].left;
		meta.not_before = meta.not_after - cases[i].lifetime;
		meta.ari_renew_at = cases[i].ari_at ? NOW + cases[i].ari_at : 0;
		snprintf(meta.status, sizeof(meta.status), "%s", cases[i].status);
		snprintf(meta.revocation_reason, sizeof(meta.revocation_reason),
			 "%s", cases[i].revoked);
		meta.directory = (char *)cases[i].directory;
		mc_renew_due(&cc, cases[i].have_meta ? &meta : NULL, CONF_DIR, NOW,
			     &due);
		assert_int_equal(due.due, cases[i].due);
		assert_string_equal(due.reason, cases[i].reason);
	}
}

/* Dual certificates: the unit is due when either certificate is; its key
 * types are compared in order. */
static const struct {
	const char *label;
	size_t conf_types;        /* 1: ecdsa-p256, 2: + rsa-2048 */
	int meta_second;          /* 0 none, 1 rsa-2048, 2 rsa-4096, 3 the
				     types swapped (rsa-2048 first) */
	long left, second_left;   /* not_after - now of each leaf */
	long second_ari;          /* ARI moment of the second, relative */
	long renew_before;
	int due;
	const char *reason;
} dual_cases[] = {
	{"both fresh", 2, 1, 80 * DAY, 80 * DAY, 0, -1, 0, "1/3 of lifetime left"},
	{"the RSA one is due", 2, 1, 80 * DAY, 20 * DAY, 0, -1, 1,
	 "1/3 of lifetime left (rsa-2048)"},
	{"the ECDSA one is due", 2, 1, 20 * DAY, 80 * DAY, 0, -1, 1,
	 "1/3 of lifetime left"},
	{"the RSA one's ARI window", 2, 1, 80 * DAY, 80 * DAY, -5, -1, 1,
	 "ARI window (rsa-2048)"},
	{"the RSA one's ARI window ahead", 2, 1, 80 * DAY, 80 * DAY, 5 * DAY, -1,
	 0, "ARI window (rsa-2048)"},
	{"renew_before on the RSA one", 2, 1, 80 * DAY, 10 * DAY, 0, 30 * DAY, 1,
	 "renew_before (rsa-2048)"},
	{"single version, dual configured", 2, 0, 80 * DAY, 0, 0, -1, 1,
	 "key type changed"},
	{"dual version, single configured", 1, 1, 80 * DAY, 80 * DAY, 0, -1, 1,
	 "key type changed"},
	{"the RSA size changed", 2, 2, 80 * DAY, 80 * DAY, 0, -1, 1,
	 "key type changed"},
	{"the order changed", 2, 3, 80 * DAY, 80 * DAY, 0, -1, 1,
	 "key type changed"},
};

/* test_due_dual - every row of the dual table. */
static void
test_due_dual(void **state)
{
	static char *names[] = {"a.example.test"};
	struct mc_cert_conf cc;
	struct mc_cert_meta meta, second;
	struct mc_due due;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dual_cases) / sizeof(dual_cases[0]); i++) {
		print_message("case: %s\n", dual_cases[i].label);
		memset(&cc, 0, sizeof(cc));
		memset(&meta, 0, sizeof(meta));
		memset(&second, 0, sizeof(second));
		cc.names = meta.names = names;
		cc.n_names = meta.n_names = 1;
		cc.key_type = cc.key_types[0] = MC_KEY_EC_P256;
		cc.key_types[1] = MC_KEY_RSA2048;
		cc.n_key_types = dual_cases[i].conf_types;
		cc.timing.renew_before = dual_cases[i].renew_before;
		meta.key_type = MC_KEY_EC_P256;
		meta.not_after = NOW + dual_cases[i].left;
		meta.not_before = meta.not_after - 90 * DAY;
		second.key_type = dual_cases[i].meta_second == 2 ? MC_KEY_RSA4096
								 : MC_KEY_RSA2048;
		second.not_after = NOW + dual_cases[i].second_left;
		second.not_before = second.not_after - 90 * DAY;
		second.ari_renew_at = dual_cases[i].second_ari
					      ? NOW + dual_cases[i].second_ari
					      : 0;
		if (dual_cases[i].meta_second == 3) {
			meta.key_type = MC_KEY_RSA2048;
			second.key_type = MC_KEY_EC_P256;
		}
		snprintf(meta.status, sizeof(meta.status), "deployed");
		meta.second = dual_cases[i].meta_second ? &second : NULL;
		mc_renew_due(&cc, &meta, NULL, NOW, &due);
		assert_string_equal(due.reason, dual_cases[i].reason);
		assert_int_equal(due.due, dual_cases[i].due);
	}
}

/* test_key_compromised - only keyCompromise forbids the key. */
static void
test_key_compromised(void **state)
{
	static const struct {
		const char *reason;
		bool compromised;
	} rows[] = {
		{"", false},
		{"keyCompromise", true},
		{"superseded", false},
		{"unspecified", false},
	};
	struct mc_cert_meta meta;
	size_t i;

	(void)state;
	assert_false(mc_renew_key_compromised(NULL));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&meta, 0, sizeof(meta));
		snprintf(meta.revocation_reason, sizeof(meta.revocation_reason),
			 "%s", rows[i].reason);
		assert_int_equal(mc_renew_key_compromised(&meta),
				 rows[i].compromised);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_due_table),
		cmocka_unit_test(test_due_dual),
		cmocka_unit_test(test_key_compromised),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
