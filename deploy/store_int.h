/*
 * store_int.h - shared between the store's files (deploy-internal).
 */
#ifndef MAILCERT_DEPLOY_STORE_INT_H
#define MAILCERT_DEPLOY_STORE_INT_H

#include <sys/types.h>

#include <jansson.h>

#include "mailcert/store.h"

/* store_json_write - encode o (taken: released here, NULL allowed: an
 * encoding failure) and write it to path atomically with mode. */
int store_json_write(const char *path, json_t *o, mode_t mode,
		     struct mc_err *err);

/* store_state_remove - remove state_dir/certs/<name>/<file> and sync that
 * directory (durably gone); 0 also when it was absent. */
int store_state_remove(const char *state_dir, const char *name,
		       const char *file, struct mc_err *err);

/* store_meta_write - write dir/meta.json atomically. */
int store_meta_write(const char *dir, const struct mc_cert_meta *meta,
		     struct mc_err *err);

/* store_meta_create_at - create meta.json in the new directory dfd (at
 * path dir) that no reader knows yet; the caller fsyncs the directory. */
int store_meta_create_at(int dfd, const char *dir,
			 const struct mc_cert_meta *meta, struct mc_err *err);

/* store_meta_read - parse dir/meta.json. */
int store_meta_read(const char *dir, struct mc_cert_meta *meta,
		    struct mc_err *err);

/* store_remove_dir - remove a flat directory of files (best effort). */
void store_remove_dir(const char *dir);

#endif
