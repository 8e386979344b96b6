/*
 * test_hello.c - the hand-built ClientHello and the ServerHello/alert
 * reader of verify/hello.c, on byte tables.
 *
 * Nothing in Debian serves SSLv3, so the "SSLv3 accepted" path of
 * mc_check_protocols is proven here: an SSLv3 ServerHello row below.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "verify/hello.h"

/* Server replies as hex; spaces are ignored. */
struct parse_case {
	const char *label;
	const char *hex;
	enum verify_reply_kind kind;
	unsigned version; /* ServerHello */
	unsigned suite;
	unsigned alert;   /* alert description */
	const char *why;  /* GARBAGE reason fragment */
};

#define RANDOM32 "0101010101010101010101010101010101010101010101010101010101010101"

static const struct parse_case parse_cases[] = {
    /* success: a decision the caller can use */
    {"TLS 1.2 ServerHello, no session id", "160303002a" "02000026" "0303"
     RANDOM32 "00" "000a" "00", VERIFY_REPLY_SERVER_HELLO, 0x0303, 0x000a, 0,
     NULL},
    {"SSLv3 ServerHello with a 32-byte session id", "160300004a" "02000046"
     "0300" RANDOM32 "20" RANDOM32 "0005" "00", VERIFY_REPLY_SERVER_HELLO,
     0x0300, 0x0005, 0, NULL},
    {"TLS 1.0 ServerHello split over two records, extensions follow",
     "1603010006" "0200002d0301" "160301002b" RANDOM32 "00" "c012" "00"
     "0005" "ff01000100",
     VERIFY_REPLY_SERVER_HELLO, 0x0301, 0xc012, 0, NULL},
    {"ServerHello then Certificate in the same record", "1603030036"
     "02000026" "0303" RANDOM32 "00" "0004" "00" "0b000008" "0000050000020000",
     VERIFY_REPLY_SERVER_HELLO, 0x0303, 0x0004, 0, NULL},
    {"fatal alert handshake_failure", "15030300020228",
     VERIFY_REPLY_ALERT, 0, 0, 40, NULL},
    {"fatal alert protocol_version in an SSLv3 record", "15030000020246",
     VERIFY_REPLY_ALERT, 0, 0, 70, NULL},
    {"only part of a record header", "160303", VERIFY_REPLY_MORE, 0, 0, 0,
     NULL},
    {"truncated ServerHello (record says 42, 20 sent)", "160303002a"
     "02000026" "0303" "01010101010101010101010101010101",
     VERIFY_REPLY_MORE, 0, 0, 0, NULL},
    /* failure: never a ServerHello */
    {"oversized record length", "1603034001" "02000026",
     VERIFY_REPLY_GARBAGE, 0, 0, 0, "record length 16385 over 16384"},
    {"SMTP text instead of TLS", "323230206d61696c2045534d54500d0a",
     VERIFY_REPLY_GARBAGE, 0, 0, 0, "not TLS (first byte 0x32)"},
    {"SSLv2-style reply", "802e0400010002", VERIFY_REPLY_GARBAGE, 0, 0, 0,
     "SSLv2 record"},
    {"session id length 33", "160303004b" "02000047" "0303" RANDOM32 "21"
     RANDOM32 "01" "000a" "00", VERIFY_REPLY_GARBAGE, 0, 0, 0,
     "session id length 33"},
    {"Certificate before ServerHello", "1603030008" "0b000004" "00000000",
     VERIFY_REPLY_GARBAGE, 0, 0, 0, "handshake message type 11"},
    {"record version 0x0203", "1602030004" "02000026", VERIFY_REPLY_GARBAGE,
     0, 0, 0, "record version 0x0203"},
    {"empty handshake record", "1603030000", VERIFY_REPLY_GARBAGE, 0, 0, 0,
     "with length 0"},
    {"application data first", "1703030005" "0102030405",
     VERIFY_REPLY_GARBAGE, 0, 0, 0, "record type 23"},
    {"ServerHello shorter than its fields", "160303000e" "0200000a"
     "0303010101010101010101", VERIFY_REPLY_GARBAGE, 0, 0, 0,
     "ServerHello length 10 under 38"},
    {"alert record of one byte", "150303000102", VERIFY_REPLY_GARBAGE, 0, 0,
     0, "type 21 with length 1"},
    {"ServerHello with major version 2", "160303002a" "02000026" "0200"
     RANDOM32 "00" "000a" "00", VERIFY_REPLY_GARBAGE, 0, 0, 0,
     "ServerHello version 0x0200"},
    {"garbage after a complete first record", "1603030004" "02000026" "41",
     VERIFY_REPLY_GARBAGE, 0, 0, 0, "not TLS (first byte 0x41)"},
};

/* unhex - hex text (spaces ignored) into out; the byte count. */
static size_t
unhex(const char *hex, unsigned char *out, size_t size)
{
	size_t n = 0;
	unsigned v;

	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		assert_true(n < size);
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = (unsigned char)v;
	}
	return n;
}

/* test_parse - every row of parse_cases. */
static void
test_parse(void **state)
{
	unsigned char buf[512];
	struct verify_hello_reply r;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *tc = &parse_cases[i];

		n = unhex(tc->hex, buf, sizeof(buf));
		print_message("%s\n", tc->label);
		assert_int_equal(verify_hello_parse(buf, n, &r), tc->kind);
		assert_int_equal(r.kind, tc->kind);
		if (tc->kind == VERIFY_REPLY_SERVER_HELLO) {
			assert_int_equal(r.version, tc->version);
			assert_int_equal(r.suite, tc->suite);
		}
		if (tc->kind == VERIFY_REPLY_ALERT)
			assert_int_equal(r.alert_desc, tc->alert);
		if (tc->why != NULL && strstr(r.why, tc->why) == NULL)
			fail_msg("%s: why \"%s\" lacks \"%s\"", tc->label,
			         r.why, tc->why);
	}
}

/* test_parse_one_byte_records - a ServerHello one byte per record. */
static void
test_parse_one_byte_records(void **state)
{
	unsigned char sh[42], buf[42 * 6];
	struct verify_hello_reply r;
	size_t i, n = 0;

	(void)state;
	memset(sh, 1, sizeof(sh));
	memcpy(sh, "\x02\x00\x00\x26\x03\x01", 6);
	sh[38] = 0;                            /* session id length */
	memcpy(sh + 39, "\x00\x2f\x00", 3);    /* suite, compression */
	for (i = 0; i < sizeof(sh); i++) {
		memcpy(buf + n, "\x16\x03\x01\x00\x01", 5);
		buf[n + 5] = sh[i];
		n += 6;
		assert_int_equal(verify_hello_parse(buf, n - 1, &r),
		                 VERIFY_REPLY_MORE);
	}
	assert_int_equal(verify_hello_parse(buf, n, &r),
	                 VERIFY_REPLY_SERVER_HELLO);
	assert_int_equal(r.version, 0x0301);
	assert_int_equal(r.suite, 0x002f);
}

struct build_case {
	const char *label;
	unsigned record_version, client_version;
	size_t nsuites;
	const char *sni;
	bool extensions;
	size_t size; /* output buffer */
	int rc;
	bool sni_in; /* the SNI name appears in the bytes */
};

static const uint16_t suites[VERIFY_HELLO_SUITES_MAX + 1] = {
    0x000a, 0x0005, 0xc012, 0x002f};

static const struct build_case build_cases[] = {
    {"TLS 1.2 with SNI", 0x0303, 0x0303, 4, "mail.test", true,
     VERIFY_HELLO_MAX, 0, true},
    {"TLS 1.0 record and hello", 0x0301, 0x0301, 3, "mx.example.org", true,
     VERIFY_HELLO_MAX, 0, true},
    {"SSLv3, no extensions, SCSV", 0x0300, 0x0300, 4, "mail.test", false,
     VERIFY_HELLO_MAX, 0, false},
    {"IP literal: no SNI", 0x0303, 0x0303, 2, "127.0.0.1", true,
     VERIFY_HELLO_MAX, 0, false},
    {"buffer too small", 0x0303, 0x0303, 4, "mail.test", true, 40, -1,
     false},
    {"no suites", 0x0303, 0x0303, 0, NULL, true, VERIFY_HELLO_MAX, -1,
     false},
    {"too many suites", 0x0303, 0x0303, VERIFY_HELLO_SUITES_MAX + 1, NULL,
     true, VERIFY_HELLO_MAX, -1, false},
    {"one byte short of fitting", 0x0300, 0x0300, 1, NULL, false, 50, -1,
     false},
};

/* check_built - structure of a built ClientHello. */
static void
check_built(const struct build_case *tc, const unsigned char *m, size_t len)
{
	size_t ns, off;
	struct verify_hello_reply r;

	assert_int_equal(m[0], 22);
	assert_int_equal((unsigned)(m[1] << 8 | m[2]), tc->record_version);
	assert_int_equal((size_t)(m[3] << 8 | m[4]), len - 5);
	assert_int_equal(m[5], 1);
	assert_int_equal((size_t)(m[6] << 16 | m[7] << 8 | m[8]), len - 9);
	assert_int_equal((unsigned)(m[9] << 8 | m[10]), tc->client_version);
	assert_int_equal(m[43], 0); /* no session id */
	ns = (size_t)(m[44] << 8 | m[45]);
	assert_int_equal(ns, 2 * (tc->nsuites + (tc->extensions ? 0 : 1)));
	assert_memory_equal(m + 46, "\x00\x0a", 2);
	off = 46 + ns;
	assert_memory_equal(m + off, "\x01\x00", 2);
	if (!tc->extensions) {
		assert_memory_equal(m + off - 2, "\x00\xff", 2);
		assert_int_equal(len, off + 2);
	} else
		assert_int_equal((size_t)(m[off + 2] << 8 | m[off + 3]),
		                 len - off - 4);
	if (tc->sni != NULL)
		assert_int_equal(memmem(m, len, tc->sni, strlen(tc->sni)) !=
		                     NULL,
		                 tc->sni_in);
	/* our own ClientHello is not a ServerHello */
	assert_int_equal(verify_hello_parse(m, len, &r), VERIFY_REPLY_GARBAGE);
}

/* test_build - every row of build_cases. */
static void
test_build(void **state)
{
	unsigned char m[VERIFY_HELLO_MAX];
	size_t i, len = 0;

	(void)state;
	for (i = 0; i < sizeof(build_cases) / sizeof(build_cases[0]); i++) {
		const struct build_case *tc = &build_cases[i];
		struct verify_hello h = {tc->record_version, tc->client_version,
		                         suites, tc->nsuites, tc->sni,
		                         tc->extensions};

		print_message("%s\n", tc->label);
		assert_int_equal(verify_hello_build(&h, m, tc->size, &len),
		                 tc->rc);
		if (tc->rc == 0)
			check_built(tc, m, len);
	}
}

/* test_exchange - the reader over a socket: reply, close, silence. */
static void
test_exchange(void **state)
{
	static const unsigned char alert[] = {0x15, 3, 3, 0, 2, 2, 40};
	unsigned char hello[] = {22, 3, 3, 0, 1, 1}, got[16];
	struct verify_hello_reply r;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], alert, sizeof(alert)), sizeof(alert));
	verify_hello_exchange(sv[0], hello, sizeof(hello), 1000, &r);
	assert_int_equal(r.kind, VERIFY_REPLY_ALERT);
	assert_int_equal(read(sv[1], got, sizeof(got)), sizeof(hello));
	verify_hello_exchange(sv[0], hello, sizeof(hello), 50, &r);
	assert_int_equal(r.kind, VERIFY_REPLY_TIMEOUT);
	assert_int_equal(write(sv[1], alert, 3), 3);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	verify_hello_exchange(sv[0], hello, sizeof(hello), 1000, &r);
	assert_true(r.kind == VERIFY_REPLY_CLOSED);
	assert_non_null(strstr(r.why, "after 3 bytes"));
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_one_byte_records),
	    cmocka_unit_test(test_build),
	    cmocka_unit_test(test_exchange),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
