/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz/ share.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput (and, where it needs
 * set-up, LLVMFuzzerInitialize) and feeds one parser of mailcert the
 * bytes libFuzzer makes; ASan and UBSan (and libFuzzer's leak check)
 * decide what is a finding. Seeds live in tests/fuzz/corpus/<name>/;
 * bench/fuzz.sh runs the targets (CI: briefly, by hand: longer).
 */
#ifndef MAILCERT_FUZZ_H
#define MAILCERT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* fuzz_str - a NUL-terminated copy of data (free it), or NULL. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

#endif
