/*
 * fuzz_acme.c - what the ACME client parses from a CA: JSON objects
 * (acme_parse_object, then the string fields it validates), problem
 * documents (acme_problem_error), Link and Retry-After header values and
 * RFC 3339 times. The first byte picks the parser, the rest is its input.
 */
#include <time.h>

#include "acme/acme_int.h"
#include "mailcert/http.h"
#include "mailcert/log.h"
#include "tests/fuzz/fuzz.h"

#define URL "https://ca.example/acme/x"

/* LLVMFuzzerInitialize - errors only: the parsers may log. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mc_log_init(MC_LOG_STDERR, MC_LOG_ERROR, "fuzz");
	return 0;
}

/* fuzz_object - parse a JSON object and read its usual string fields. */
static void
fuzz_object(const char *body, size_t len)
{
	static const char *const fields[] = {"status", "url", "token",
	                                     "finalize", "certificate", "type"};
	struct mc_err err;
	const char *s;
	json_t *o = acme_parse_object(URL, body, len, &err);
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		(void)acme_json_str(o, fields[i], URL, false, i == 1, &s, &err);
	json_decref(o);
}

/* fuzz_link - one Link header value into a response. */
static void
fuzz_link(const char *value)
{
	struct mc_http_resp r;
	struct mc_err err;

	memset(&r, 0, sizeof(r));
	(void)mc_http_parse_link(&r, value, &err);
	(void)mc_http_link(&r, "alternate");
	mc_http_resp_clear(&r);
}

/* LLVMFuzzerTestOneInput - dispatch on the first byte. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_err err;
	char *s, excerpt[160];
	time_t t;

	if (size < 1)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	if (s == NULL)
		return 0;
	switch (data[0] % 7) {
	case 0:
		fuzz_object(s, size - 1);
		break;
	case 1:
		acme_problem_error(URL, 403, "application/problem+json", s,
		                   size - 1, &err);
		break;
	case 2:
		acme_problem_error(URL, 502, "text/html", s, size - 1, &err);
		break;
	case 3:
		fuzz_link(s);
		break;
	case 4:
		(void)mc_http_parse_retry_after(s);
		break;
	case 5:
		(void)mc_acme_parse_time(s, &t);
		break;
	default:
		acme_excerpt(s, size - 1, excerpt, sizeof(excerpt));
		break;
	}
	free(s);
	return 0;
}
