/*
 * test_text.c - the one sanitizer for untrusted text (core/text.c):
 * excerpts (blanks, line breaks, controls, terminal escapes, UTF-8 kept
 * or refused, quoting, cuts at the head or around the middle) and the
 * in-place scrub the error and log code use, plus the sinks themselves:
 * struct mc_err never holds a control character.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mailcert/err.h"
#include "mailcert/text.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define L(s) s, sizeof(s) - 1 /* a literal and its length (NULs count) */

struct excerpt_case {
	const char *label;
	const char *in;
	size_t len;
	size_t size; /* of the output buffer */
	unsigned flags;
	const char *want;
};

static const struct excerpt_case excerpt_cases[] = {
	{"plain", L("hook failed"), 64, 0, "hook failed"},
	{"empty", L(""), 64, 0, ""},
	{"only blanks", L(" \t\r\n "), 64, 0, ""},
	{"blanks trimmed and collapsed", L("  a \t\t b  "), 64, 0, "a b"},
	{"newline becomes a space", L("line one\nline two\n"), 64, 0,
	 "line one line two"},
	{"lines marked", L("line one\r\nline two\n\n\nthree\n"), 64,
	 MC_TEXT_LINES, "line one | line two | three"},
	{"lines: blank after break", L("a\n  b"), 64, MC_TEXT_LINES, "a | b"},
	{"terminal escape", L("\x1b[31mred\x1b[0m"), 64, 0, "?[31mred?[0m"},
	{"OSC title escape", L("\x1b]0;pwned\x07ok"), 64, 0, "?]0;pwned?ok"},
	{"NUL byte inside", L("a\0b"), 64, 0, "a?b"},
	{"DEL and BS", L("a\x7f\x08z"), 64, 0, "a??z"},
	{"UTF-8 kept", L("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7"), 64, 0,
	 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7"},
	{"C1 CSI refused", L("a\xc2\x9b" "31mb"), 64, 0, "a?31mb"},
	{"NEL refused", L("a\xc2\x85z"), 64, 0, "a?z"},
	{"bidi override refused", L("x\xe2\x80\xaeyz"), 64, 0, "x?yz"},
	{"bidi isolate refused", L("x\xe2\x81\xa6y"), 64, 0, "x?y"},
	{"line separator refused", L("x\xe2\x80\xa8y"), 64, 0, "x?y"},
	{"raw 8-bit byte", L("x\xe9y"), 64, 0, "x?y"},
	{"overlong slash", L("x\xc0\xafy"), 64, 0, "x??y"},
	{"overlong 3-byte", L("x\xe0\x80\xafy"), 64, 0, "x???y"},
	{"surrogate", L("x\xed\xa0\x80y"), 64, 0, "x???y"},
	{"above U+10FFFF", L("x\xf4\x90\x80\x80y"), 64, 0, "x????y"},
	{"cut sequence at the end", L("ab\xe2\x82"), 64, 0, "ab??"},
	{"lone continuation", L("\x80\x80z"), 64, 0, "??z"},
	{"quote", L("say \"hi\""), 64, MC_TEXT_QUOTE, "say 'hi'"},
	{"quote kept without the flag", L("say \"hi\""), 64, 0, "say \"hi\""},
	{"exact fit", L("abcdefghi"), 10, 0, "abcdefghi"},
	{"cut with dots", L("abcdefghijk"), 10, 0, "abcdef..."},
	{"cut never splits UTF-8", L("ab\xe2\x82\xac\xe2\x82\xac"), 8, 0,
	 "ab..."},
	{"tiny buffer", L("abcdef"), 3, 0, ""},
	{"size 1", L("abcdef"), 1, 0, ""},
	{"size 0", L("abcdef"), 0, 0, NULL},
	{"head and tail", L("first line of output\n....................\n"
	                    "last line: the reason\n"),
	 48, MC_TEXT_TAIL | MC_TEXT_LINES,
	 "first line of output ... last line: the reason"},
	{"tail too small: head only", L("abcdefghijklmnopqrstuvwxyz0123456789"),
	 20, MC_TEXT_TAIL, "abcdefghijklmnop..."},
	{"tail of many breaks", L("x\n\n\n\ny\nz\nw\nv\nu\nt\ns\nr\nq\np\no\nn"),
	 26, MC_TEXT_TAIL | MC_TEXT_LINES, "x | y | z ... p | o | n"},
	{"tail starts on a character", L("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xc3\xa9"
	                                 "BBBBBBBBBBBBBBBBBBBB"),
	 30, MC_TEXT_TAIL, "AAAAAAAAAAAA ... BBBBBBBBBBBB"},
};

/* test_excerpt - every row of excerpt_cases. */
static void
test_excerpt(void **state)
{
	char out[128];
	size_t i, n;

	(void)state;
	for (i = 0; i < N_OF(excerpt_cases); i++) {
		const struct excerpt_case *c = &excerpt_cases[i];

		memset(out, 'Z', sizeof(out));
		n = mc_text_excerpt(c->in, c->len, out, c->size, c->flags);
		if (c->want == NULL) {
			assert_int_equal(n, 0);
			assert_int_equal(out[0], 'Z'); /* size 0: untouched */
			continue;
		}
		if (strcmp(out, c->want) != 0 || n != strlen(c->want))
			fail_msg("%s: got \"%s\" (%zu), want \"%s\"", c->label,
			         out, n, c->want);
		assert_true(n < c->size);
	}
}

/* test_excerpt_bounds - for every output size, the result fits, holds no
 * control byte and is valid UTF-8 (no '?' where there was none). */
static void
test_excerpt_bounds(void **state)
{
	static const char in[] = "line one \xc3\xa9\xe2\x82\xac\n\x1b[2J"
	                         "second line, quite a bit longer\r\n"
	                         "\xf0\x9f\x93\xa7 end";
	char out[256];
	size_t size, n, i;
	unsigned flags;

	(void)state;
	for (flags = 0; flags < 8; flags++) {
		for (size = 1; size < sizeof(out); size++) {
			memset(out, 'Z', sizeof(out));
			n = mc_text_excerpt(in, sizeof(in) - 1, out, size, flags);
			assert_true(n < size);
			assert_int_equal(strlen(out), n);
			assert_int_equal(out[size], 'Z');
			for (i = 0; i < n; i++)
				if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
					fail_msg("size %zu flags %u: control byte",
					         size, flags);
		}
	}
}

struct scrub_case {
	const char *label;
	const char *in;
	const char *want;
};

static const struct scrub_case scrub_cases[] = {
	{"clean", "renew mail: HTTP 403", "renew mail: HTTP 403"},
	{"newline and tab", "a\nb\tc\r\n", "a b c  "},
	{"escape", "\x1b[1;31mred", "?[1;31mred"},
	{"bell", "ding\x07", "ding?"},
	{"UTF-8 kept", "\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"},
	{"C1 shortens", "a\xc2\x9b" "b", "a?b"},
	{"bidi shortens", "a\xe2\x80\xae" "b", "a?b"},
	{"invalid byte", "a\xffz", "a?z"},
	{"cut UTF-8 at the end", "ab\xf0\x9f\x93", "ab???"},
	{"empty", "", ""},
};

/* test_scrub - every row of scrub_cases; NULL is a no-op. */
static void
test_scrub(void **state)
{
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(scrub_cases); i++) {
		snprintf(buf, sizeof(buf), "%s", scrub_cases[i].in);
		mc_text_scrub(buf);
		if (strcmp(buf, scrub_cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"",
			         scrub_cases[i].label, buf, scrub_cases[i].want);
	}
	mc_text_scrub(NULL);
}

/* test_err_sink - struct mc_err never keeps a control character, however
 * it is set (set, errno, prefix). */
static void
test_err_sink(void **state)
{
	struct mc_err err;
	size_t i;

	(void)state;
	mc_err_set(&err, MC_ERR_HOOK, "hook said: %s", "bad\n\x1b[2Jthing\r");
	assert_string_equal(err.msg, "hook said: bad ?[2Jthing ");
	mc_err_prefix(&err, "renew %s", "m\x1b" "ail");
	assert_string_equal(err.msg, "renew m?ail: hook said: bad ?[2Jthing ");
	assert_int_equal(err.cat, MC_ERR_HOOK);
	errno = ENOENT;
	mc_err_errno(&err, MC_ERR_SYS, "open %s", "x\ny");
	assert_non_null(strstr(err.msg, "open x y: "));
	for (i = 0; err.msg[i] != '\0'; i++)
		assert_false((unsigned char)err.msg[i] < 0x20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_excerpt),
	    cmocka_unit_test(test_excerpt_bounds),
	    cmocka_unit_test(test_scrub),
	    cmocka_unit_test(test_err_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
