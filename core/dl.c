/*
 * dl.c - shared libraries loaded on first use (see mailcert/dl.h). The
 * only file of mailcert that calls dlopen.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mailcert/dl.h"

/* One lock for every library: a load happens at most once per library and
 * process, and dlerror() is per thread but not per call. */
static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER;

/* dl_open - dlopen lib and resolve its names into its slots; 1 or -1 (why
 * in lib->why).
 *
 * RTLD_LAZY, not RTLD_NOW: the flag only decides when the function calls
 * (PLT slots) of the objects loaded are bound - at load, or at each
 * one's first call. It changes no protection: RELRO and a read-only GOT
 * are fixed when an object was linked (-z relro -z now sets DF_BIND_NOW /
 * DF_1_NOW, and ld.so then binds that object at load whatever dlopen
 * asks: libcurl, libssl, libcrypto, GnuTLS, OpenLDAP and most others
 * here); RTLD_NOW does not make a lazily linked object's .got.plt
 * read-only. What it saves: binding every PLT slot of the objects linked
 * without -z now (Kerberos, GSSAPI, gmp, brotli, rtmp, nghttp2, zlib,
 * libffi ...) that mailcert never calls: 2.7M of the 10.7M instructions
 * libcurl's dlopen costs (callgrind). The slots mailcert itself uses are
 * resolved below with dlsym, so a missing one is still an error here. */
static int
dl_open(struct mc_dl *lib)
{
	void *handle = dlopen(lib->soname, RTLD_LAZY | RTLD_LOCAL), *sym;
	const char *why;
	size_t i;

	if (handle == NULL) {
		why = dlerror();
		snprintf(lib->why, sizeof(lib->why), "%s",
		         why != NULL ? why : "dlopen failed");
		return -1;
	}
	for (i = 0; i < lib->n; i++) {
		dlerror();
		sym = dlsym(handle, lib->names[i]);
		if (sym == NULL) {
			snprintf(lib->why, sizeof(lib->why), "it has no %s",
			         lib->names[i]);
			dlclose(handle);
			return -1;
		}
		/* POSIX: the address of a function as void * (dlsym) */
		memcpy(lib->slots[i], &sym, sizeof(sym));
	}
	return 1; /* handle kept for the life of the process */
}

/* mc_dl_load - load lib and fill its slots, once per process. */
int
mc_dl_load(struct mc_dl *lib, struct mc_err *err)
{
	int state;

	pthread_mutex_lock(&dl_lock);
	if (lib->state == 0)
		lib->state = dl_open(lib);
	state = lib->state;
	pthread_mutex_unlock(&dl_lock);
	if (state == 1)
		return 0;
	return mc_err_set(err, MC_ERR_SYS,
	                  "cannot load %s (%s); install the package %s",
	                  lib->soname, lib->why, lib->package);
}
