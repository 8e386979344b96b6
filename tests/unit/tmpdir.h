/*
 * tmpdir.h - temporary directory trees for unit tests (tests only).
 *
 * Include first (it defines _XOPEN_SOURCE for nftw).
 */
#ifndef MAILCERT_TESTS_TMPDIR_H
#define MAILCERT_TESTS_TMPDIR_H

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* td_rm_entry - nftw callback removing one entry. */
static int
td_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* td_remove - remove the tree at dir (symlinks are not followed). */
static int
td_remove(const char *dir)
{
	return nftw(dir, td_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
