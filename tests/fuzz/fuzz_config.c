/*
 * fuzz_config.c - the config loader (core/config*.c, mc_config_load) on
 * arbitrary file contents: the bytes are written to one (unlinked)
 * temporary file that is loaded (and freed) each time.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "mailcert/config.h"
#include "tests/fuzz/fuzz.h"

static char fuzz_path[64];
static int fuzz_fd = -1;

/* LLVMFuzzerInitialize - the temporary file the inputs go to. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/mc-fuzz-config.XXXXXX");
	fuzz_fd = mkstemp(fuzz_path);
	if (fuzz_fd == -1 || unlink(fuzz_path) == -1)
		abort();
	/* nothing left behind, whatever happens: load it through /proc */
	snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
	return 0;
}

/* LLVMFuzzerTestOneInput - load data as a config file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_config *cfg = NULL;
	struct mc_err err;

	if (ftruncate(fuzz_fd, 0) == -1 ||
	    pwrite(fuzz_fd, data, size, 0) != (ssize_t)size)
		abort();
	if (mc_config_load(fuzz_path, &cfg, &err) == 0)
		mc_config_free(cfg);
	else if (err.cat == MC_ERR_NONE)
		abort(); /* a failure must say why */
	return 0;
}
