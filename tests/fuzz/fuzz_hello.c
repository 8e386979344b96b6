/*
 * fuzz_hello.c - the hand-built ServerHello / alert reader of `check`
 * (verify/hello.c, verify_hello_parse) on arbitrary server bytes, whole
 * and cut at every 7th length (the reader decides on prefixes).
 */
#include "tests/fuzz/fuzz.h"
#include "verify/hello.h"

/* LLVMFuzzerTestOneInput - parse data and its prefixes. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verify_hello_reply out;
	enum verify_reply_kind k;
	size_t len;

	if (size > VERIFY_HELLO_REPLY_MAX)
		size = VERIFY_HELLO_REPLY_MAX;
	for (len = size % 7; len < size; len += 7)
		(void)verify_hello_parse(data, len, &out);
	k = verify_hello_parse(data, size, &out);
	if (k == VERIFY_REPLY_GARBAGE && out.why[0] == '\0')
		abort(); /* garbage always says why */
	return 0;
}
