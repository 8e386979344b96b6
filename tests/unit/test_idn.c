/*
 * test_idn.c - the names `check` asks for: mc_name_to_alabel() (core,
 * shared with the config's names) turns U-labels into the lower-case
 * A-label form, and mc_name_check_host() refuses what no client may ask
 * for (bad LDH labels, lengths, xn-- labels that do not decode,
 * wildcards, IP addresses) with MC_ERR_CONFIG quoting the name; a single
 * label passes. mc_name_to_ulabel() for display and the round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailcert/config.h"

#define L63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"
#define L64 L63 "4"

struct idn_case {
	const char *in;
	const char *want; /* NULL: an error whose message has frag */
	const char *frag;
};

/* Conversions check relies on (the config's are in test_config.c). */
static const struct idn_case alabel_cases[] = {
    {"b\xc3\xbc"
     "cher.example",
     "xn--bcher-kva.example", NULL},
    {"B\xc3\x9c"
     "CHER.Example",
     "xn--bcher-kva.example", NULL},
    {"XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example", NULL},
    {"fa\xc3\x9f.de", "xn--fa-hia.de", NULL}, /* non-transitional */
    {"MAIL.Example.COM", "mail.example.com", NULL},
    {"\xff\xfe.example", NULL, "\\xff\\xfe.example"},
};

/* test_alabel - mc_name_to_alabel on the rows check depends on. */
static void
test_alabel(void **state)
{
	struct mc_err err;
	char *out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(alabel_cases) / sizeof(alabel_cases[0]); i++) {
		const struct idn_case *c = &alabel_cases[i];

		mc_err_clear(&err);
		out = mc_name_to_alabel(c->in, &err);
		if (c->want != NULL) {
			if (out == NULL)
				fail_msg("\"%s\": %s", c->in, err.msg);
			assert_string_equal(out, c->want);
			free(out);
			continue;
		}
		if (out != NULL)
			fail_msg("\"%s\": accepted as %s", c->in, out);
		assert_int_equal(err.cat, MC_ERR_CONFIG);
		if (strstr(err.msg, c->frag) == NULL)
			fail_msg("\"%s\": \"%s\" lacks \"%s\"", c->in, err.msg,
			         c->frag);
	}
}

/* want NULL: valid; else the fragment of the error. */
static const struct idn_case host_cases[] = {
    {"mail.example.com", NULL, NULL},
    {"localhost", NULL, NULL},
    {"xn--bcher-kva.example", NULL, NULL},
    {L63 ".example", NULL, NULL},
    {L63 "." L63 "." L63 ".abcdefghijabcdefghijabcdefghijabcdefghijabcdefghi12",
     NULL, NULL},
    {"", "", "the name is empty"},
    {"a..example", "", "empty label"},
    {".example", "", "empty label"},
    {"example.", "", "empty label"},
    {"a_b.example", "", "character other than"},
    {"a b.example", "", "\"a b.example\" is not a valid DNS name"},
    {"-a.example", "", "starts or ends with '-'"},
    {L64 ".example", "", "label of 64 characters"},
    {L63 "." L63 "." L63 "." L63, "", "at most 253"},
    {"xn--zz.example", "", "punycode"},
    {"*.example.com", "", "'*'"},
    {"192.0.2.1", NULL, NULL}, /* LDH; callers test for IPs first */
    {"2001:db8::1", "", "character other than"},
    {"a\n.example", "", "\\x0a"},
};

/* test_check_host - mc_name_check_host on its table. */
static void
test_check_host(void **state)
{
	struct mc_err err;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(host_cases) / sizeof(host_cases[0]); i++) {
		const struct idn_case *c = &host_cases[i];

		mc_err_clear(&err);
		rc = mc_name_check_host(c->in, &err);
		if (c->want == NULL) {
			if (rc != 0)
				fail_msg("\"%s\": %s", c->in, err.msg);
			continue;
		}
		if (rc == 0)
			fail_msg("\"%s\": accepted", c->in);
		assert_int_equal(err.cat, MC_ERR_CONFIG);
		if (strstr(err.msg, c->frag) == NULL)
			fail_msg("\"%s\": \"%s\" lacks \"%s\"", c->in, err.msg,
			         c->frag);
	}
}

static const struct idn_case ulabel_cases[] = {
    {"xn--bcher-kva.example",
     "b\xc3\xbc"
     "cher.example",
     NULL},
    {"mail.example.com", "mail.example.com", NULL},
    {"xn--r8jz45g.xn--zckzah",
     "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", NULL},
    {"xn--zz.example", NULL, "punycode"},
};

/* test_ulabel - mc_name_to_ulabel on its table, and the round trip. */
static void
test_ulabel(void **state)
{
	struct mc_err err;
	char *out, *back;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ulabel_cases) / sizeof(ulabel_cases[0]); i++) {
		const struct idn_case *c = &ulabel_cases[i];

		mc_err_clear(&err);
		out = mc_name_to_ulabel(c->in, &err);
		if (c->want == NULL) {
			assert_null(out);
			assert_int_equal(err.cat, MC_ERR_CONFIG);
			assert_non_null(strstr(err.msg, c->frag));
			continue;
		}
		assert_non_null(out);
		assert_string_equal(out, c->want);
		back = mc_name_to_alabel(out, &err);
		assert_non_null(back);
		assert_string_equal(back, c->in);
		free(back);
		free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alabel),
	    cmocka_unit_test(test_check_host),
	    cmocka_unit_test(test_ulabel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
