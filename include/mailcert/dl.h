/*
 * dl.h - shared libraries loaded on first use (dlopen), not at start.
 *
 * A command that makes no request, resolves nothing and answers no
 * challenge (status, a renew with nothing due) does not load libcurl,
 * libunbound, libldns, libmicrohttpd or libidn2, nor the shared objects
 * they pull in (~30 together). Each user keeps one table of function pointers built from an
 * X-macro list of the library's names:
 *
 *	#define FOO_FUNCS(X) X(foo_open) X(foo_close)
 *	#define FOO_ADDR(f) &foo.f,
 *	static struct { FOO_FUNCS(MC_DL_FIELD) } foo;
 *	static const char *const foo_names[] = { FOO_FUNCS(MC_DL_NAME) };
 *	static void *const foo_slots[] = { FOO_FUNCS(FOO_ADDR) };
 *	static struct mc_dl foo_dl = MC_DL_INIT("libfoo.so.1", "libfoo1",
 *	                                        foo_names, foo_slots);
 *
 * so each pointer has the type of the function (or data object) that the
 * library's header declares, and calls are type-checked. The -dev package
 * gives the header; the runtime package stays a dependency.
 *
 * Errors: MC_ERR_SYS naming the library, why it could not be loaded and
 * the Debian package to install.
 */
#ifndef MAILCERT_DL_H
#define MAILCERT_DL_H

#include <stddef.h>

#include "mailcert/err.h"

struct mc_dl {
	const char *soname;       /* "libunbound.so.8" */
	const char *package;      /* the Debian package named in the error */
	const char *const *names; /* the symbols, in the order of slots */
	void *const *slots;       /* where each symbol's address is written */
	size_t n;
	/* written by mc_dl_load only */
	int state;     /* 0 not tried, 1 loaded, -1 failed */
	char why[256]; /* with state -1: what dlopen or dlsym said */
};

/* A member of a table: a pointer of the type of the library's f. */
#define MC_DL_FIELD(f) __typeof__(f) *f;
/* An entry of the names array. */
#define MC_DL_NAME(f) #f,
/* A struct mc_dl for names and slots (two arrays of the same length). */
#define MC_DL_INIT(soname, package, names, slots)                              \
	{(soname), (package), (names), (slots),                                \
	 sizeof(names) / sizeof((names)[0]), 0, ""}

/* mc_dl_load - load lib and fill its slots, once per process (thread-safe;
 * a later call returns the first one's result). The library stays loaded
 * for the life of the process. 0, or -1 with err. */
int mc_dl_load(struct mc_dl *lib, struct mc_err *err);

#endif
