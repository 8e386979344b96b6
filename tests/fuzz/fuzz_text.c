/*
 * fuzz_text.c - the one sanitizer (core/text.c): every excerpt of
 * arbitrary bytes, with every flag and a size taken from the input, fits
 * its buffer, holds no control byte and is valid UTF-8; so does a scrub.
 */
#include "mailcert/text.h"
#include "tests/fuzz/fuzz.h"

/* fuzz_clean - whether s (len bytes) is free of controls and valid UTF-8. */
static int
fuzz_clean(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;

	while (i < len) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		n = s[i] < 0x80 ? 1 : s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;
		if (s[i] >= 0x80 && (s[i] < 0xc2 || s[i] > 0xf4))
			return 0;
		if (i + n > len)
			return 0;
		for (k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		if (s[i] == 0xc2 && s[i + 1] < 0xa0)
			return 0; /* C1 */
		i += n;
	}
	return 1;
}

/* LLVMFuzzerTestOneInput - excerpt and scrub data. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[512];
	size_t osize, n;
	unsigned flags;
	char *s;

	if (size < 2)
		return 0;
	flags = data[0] & 7u;
	osize = 1 + data[1] % sizeof(out);
	memset(out, 'Z', sizeof(out));
	n = mc_text_excerpt((const char *)data + 2, size - 2, out, osize, flags);
	if (n >= osize || strlen(out) != n ||
	    (osize < sizeof(out) && out[osize] != 'Z') ||
	    !fuzz_clean((const unsigned char *)out, n))
		abort();
	s = fuzz_str(data + 2, size - 2);
	if (s == NULL)
		return 0;
	mc_text_scrub(s);
	if (!fuzz_clean((const unsigned char *)s, strlen(s)))
		abort();
	free(s);
	return 0;
}
