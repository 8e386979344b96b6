/*
 * store_int.h - shared between the store's files (deploy-internal).
 */
#ifndef MAILCERT_DEPLOY_STORE_INT_H
#define MAILCERT_DEPLOY_STORE_INT_H

#include "mailcert/store.h"

/* store_meta_write - write dir/meta.json atomically. */
int store_meta_write(const char *dir, const struct mc_cert_meta *meta,
		     struct mc_err *err);

/* store_meta_read - parse dir/meta.json. */
int store_meta_read(const char *dir, struct mc_cert_meta *meta,
		    struct mc_err *err);

/* store_remove_dir - remove a flat directory of files (best effort). */
void store_remove_dir(const char *dir);

#endif
