/*
 * test_fsio.c - fd-based directories (creation, links, refusals), our temp
 * names and their cleanup, FIFOs refused by reads.
 */
#include "tests/unit/tmpdir.h"
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailcert/fsio.h"

/* setup - a fresh temp dir (0755, owned by us). */
static int
setup(void **state)
{
	char *dir = strdup("/tmp/mc-test-fsio-XXXXXX");

	if (dir == NULL || mkdtemp(dir) == NULL)
		return -1;
	chmod(dir, 0755);
	*state = dir;
	return 0;
}

/* teardown - remove it. */
static int
teardown(void **state)
{
	chmod(*state, 0755);
	td_remove(*state);
	free(*state);
	return 0;
}

static const struct {
	const char *name, *base;
	bool want;
} temp_cases[] = {
	{".mail.key.0123456789ab", "mail.key", true},
	{".mail.key.0123456789ab", NULL, true},
	{".mail.key.0123456789AB", "mail.key", false}, /* upper case */
	{".mail.key.0123456789a", "mail.key", false},   /* 11 digits */
	{".mail.key.0123456789abc", "mail.key", false}, /* 13 digits */
	{".mail.key.0123456789ab.bak", "mail.key", false},
	{".mail.key.notes", "mail.key", false},
	{".other.key.0123456789ab", "mail.key", false},
	{"mail.key.0123456789ab", "mail.key", false},   /* no dot first */
	{"..0123456789ab", NULL, false},                /* empty base */
	{".live.00000000ffff", "live", true},
};

/* test_is_temp - exactly our pattern, nothing that only looks like it. */
static void
test_is_temp(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(temp_cases) / sizeof(temp_cases[0]); i++) {
		print_message("case: %s (%s)\n", temp_cases[i].name,
			      temp_cases[i].base ? temp_cases[i].base : "any");
		assert_int_equal(mc_fsio_is_temp(temp_cases[i].name,
						 temp_cases[i].base),
				 temp_cases[i].want);
	}
}

/* test_remove_temps - only ours, never a directory. */
static void
test_remove_temps(void **state)
{
	static const char *const bases[] = {"mail.key", "mail.crt"};
	static const struct {
		const char *name;
		bool dir, gone;
	} files[] = {
		{".mail.key.0123456789ab", false, true},
		{".mail.crt.aaaaaaaaaaaa", false, true},
		{".mail.key.bbbbbbbbbbbb", true, false}, /* a directory */
		{".mail.pem.0123456789ab", false, false},
		{".mail.key.notes", false, false},
		{"mail.key", false, false},
	};
	const char *dir = *state;
	char path[512];
	unsigned removed = 0;
	size_t i;
	int dfd;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		if (files[i].dir)
			assert_int_equal(mkdir(path, 0700), 0);
		else
			assert_int_equal(mc_fsio_write(path, "k", 1, 0600,
						       MC_FSIO_KEEP_OWNER,
						       false, NULL), 0);
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(mc_fsio_remove_temps(dfd, dir, bases, 2, &removed,
					      NULL), 0);
	close(dfd);
	assert_int_equal(removed, 2);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		print_message("file: %s\n", files[i].name);
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		assert_int_equal(mc_fsio_exists(path), !files[i].gone);
	}
}

enum odpre { OD_NONE, OD_LINK_LAST, OD_TRUSTED_PARENT, OD_OPEN_PARENT, OD_FILE };

static const struct {
	const char *label;
	enum odpre pre;
	const char *path; /* below the temp dir */
	int ok;
	const char *fragment;
} dir_cases[] = {
	{"new, deep", OD_NONE, "a/b/c", 1, NULL},
	{"existing", OD_NONE, ".", 1, NULL},
	{"last component a link", OD_LINK_LAST, "link", 0, "symbolic link"},
	{"parent a link in a root-only dir", OD_TRUSTED_PARENT, "tlink/sub", 1, NULL},
	{"parent a link in a dir others write", OD_OPEN_PARENT, "open/olink/sub", 0,
	 "in a directory that others can write"},
	{"a file in the way", OD_FILE, "file/sub", 0, "not a directory"},
};

/* dir_prepare - the situation of a dir case under dir. */
static void
dir_prepare(const char *dir, enum odpre pre)
{
	char a[512], b[512];

	snprintf(a, sizeof(a), "%s/real", dir);
	mkdir(a, 0755);
	if (pre == OD_LINK_LAST) {
		snprintf(b, sizeof(b), "%s/link", dir);
		assert_int_equal(symlink(a, b), 0);
	} else if (pre == OD_TRUSTED_PARENT) {
		snprintf(b, sizeof(b), "%s/tlink", dir);
		assert_int_equal(symlink(a, b), 0);
	} else if (pre == OD_OPEN_PARENT) {
		snprintf(b, sizeof(b), "%s/open", dir);
		assert_int_equal(mkdir(b, 0777), 0);
		assert_int_equal(chmod(b, 0777), 0);
		snprintf(b, sizeof(b), "%s/open/olink", dir);
		assert_int_equal(symlink(a, b), 0);
	} else if (pre == OD_FILE) {
		snprintf(b, sizeof(b), "%s/file", dir);
		assert_int_equal(mc_fsio_write(b, "x", 1, 0600,
					       MC_FSIO_KEEP_OWNER, false, NULL),
				 0);
	}
}

/* test_open_dir - the walk: what it makes, follows and refuses. */
static void
test_open_dir(void **state)
{
	const char *dir = *state;
	struct mc_err err;
	char path[512];
	struct stat st;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(dir_cases) / sizeof(dir_cases[0]); i++) {
		print_message("case: %s\n", dir_cases[i].label);
		dir_prepare(dir, dir_cases[i].pre);
		snprintf(path, sizeof(path), "%s/%s", dir, dir_cases[i].path);
		mc_err_clear(&err);
		fd = mc_fsio_open_dir(path, true, 0750, MC_FSIO_KEEP_OWNER,
				      &err);
		if (!dir_cases[i].ok) {
			assert_int_equal(fd, -1);
			assert_non_null(strstr(err.msg, dir_cases[i].fragment));
			continue;
		}
		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		if (strcmp(dir_cases[i].path, ".") != 0) /* made here: 0750 */
			assert_int_equal(st.st_mode & 07777, 0750);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/a/b", dir); /* an intermediate: 0755 */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(path, sizeof(path), "%s/open", dir); /* never changed */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0777);
}

/* test_read_fifo - a FIFO is refused at once, not waited on. */
static void
test_read_fifo(void **state)
{
	const char *dir = *state;
	struct mc_err err;
	char path[512], *out = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/meta.json", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10); /* a hang fails the test instead of blocking it */
	assert_int_equal(mc_fsio_read(path, 4096, &out, &len, &err), -1);
	alarm(0);
	assert_int_equal(err.cat, MC_ERR_INPUT);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_null(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_temp),
		cmocka_unit_test_setup_teardown(test_remove_temps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_fifo, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
