/*
 * test_idn.c - mc_name_to_alabel() and mc_name_to_ulabel() (core/names.c)
 * on tables: U-labels and A-labels in any case become one lower-case
 * A-label form; invalid names (bad punycode, bad UTF-8, non-LDH, empty
 * labels, long labels and names) are MC_ERR_CONFIG errors that quote the
 * name.
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

static const struct idn_case alabel_cases[] = {
    {"mail.example.com", "mail.example.com", NULL},
    {"MAIL.Example.COM", "mail.example.com", NULL},
    {"mail.example.com.", "mail.example.com", NULL},
    {"localhost", "localhost", NULL},
    {"b\xc3\xbc"
     "cher.example",
     "xn--bcher-kva.example", NULL},
    {"B\xc3\x9c"
     "CHER.Example.",
     "xn--bcher-kva.example", NULL},
    {"xn--bcher-kva.example", "xn--bcher-kva.example", NULL},
    {"XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example", NULL},
    {"fa\xc3\x9f.de", "xn--fa-hia.de", NULL}, /* non-transitional */
    {"\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
     "xn--r8jz45g.xn--zckzah", NULL},
    {"*.b\xc3\xbc"
     "cher.example",
     "*.xn--bcher-kva.example", NULL},
    {L63 ".example", L63 ".example", NULL},
    {"", NULL, "the name is empty"},
    {".", NULL, "the name is empty"},
    {"xn--zz.example", NULL, "\"xn--zz.example\" is not a valid DNS name"},
    {"xn--.example", NULL, "punycode"},
    {"a..example", NULL, "empty label"},
    {".example", NULL, "empty label"},
    {"a_b.example", NULL, "character other than"},
    {"a b.example", NULL, "character other than"},
    {"-a.example", NULL, "hyphen"},
    {L64 ".example", NULL, "63"},
    {L63 "." L63 "." L63 "." L63, NULL, "longer than 255"},
    {L63 "." L63 "." L63 ".abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi123", NULL,
     "longer than 255"}, /* libidn2 counts the wire form: 254 is too long */
    {L63 "." L63 "." L63 ".abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi12",
     L63 "." L63 "." L63 ".abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi12",
     NULL},
    {"\xff\xfe.example", NULL, "\\xff\\xfe.example"},
    {"a\n.example", NULL, "\\x0a"},
    {"a.*.example", NULL, "'*'"},
};

/* test_alabel - mc_name_to_alabel on its table. */
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
	    cmocka_unit_test(test_ulabel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
