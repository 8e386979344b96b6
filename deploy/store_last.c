/*
 * store_last.c - certs/<name>/last.json: the last attempt (time, command,
 * result, error, version, run id), the last live check and the files the
 * last deployment wrote. Jansson stays in this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/store.h"
#include "deploy/store_int.h"

#define LAST_MAX (256 * 1024)
#define LAST_FILES_MAX 256

/* mc_store_last_clear - free the members of last. */
void
mc_store_last_clear(struct mc_last *last)
{
	if (last == NULL)
		return;
	free(last->error);
	mc_strv_free(last->files, last->n_files);
	memset(last, 0, sizeof(*last));
}

/* last_path - "state_dir/certs/name/last.json" into buf. */
static int
last_path(const char *state_dir, const char *name, char *buf, size_t size,
	  struct mc_err *err)
{
	int n = snprintf(buf, size, "%s/certs/%s/last.json", state_dir, name);

	if (n < 0 || (size_t)n >= size)
		return mc_err_set(err, MC_ERR_INPUT, "path too long: %s",
				  state_dir);
	return 0;
}

/* last_to_json - the JSON object of last (new reference), or NULL. */
static json_t *
last_to_json(const struct mc_last *l)
{
	json_t *o = json_object(), *files = json_array();
	size_t i;
	int bad = o == NULL || files == NULL;

	for (i = 0; !bad && i < l->n_files; i++)
		bad |= json_array_append_new(files, json_string(l->files[i]));
	bad |= json_object_set_new(o, "files", files);
	bad |= json_object_set_new(o, "at", json_integer(l->at));
	bad |= json_object_set_new(o, "command", json_string(l->command));
	bad |= json_object_set_new(o, "result", json_string(l->result));
	bad |= json_object_set_new(o, "version", json_integer(l->version));
	bad |= json_object_set_new(o, "run_id", json_string(l->run_id));
	if (l->error != NULL)
		bad |= json_object_set_new(o, "error", json_string(l->error));
	bad |= json_object_set_new(o, "live_at", json_integer(l->live_at));
	bad |= json_object_set_new(o, "live", json_string(l->live));
	bad |= json_object_set_new(o, "live_serial",
				   json_string(l->live_serial));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* mc_store_save_last - write last.json atomically. */
int
mc_store_save_last(const char *state_dir, const char *name,
		   const struct mc_last *last, struct mc_err *err)
{
	char path[4200];

	if (last_path(state_dir, name, path, sizeof(path), err) == -1)
		return -1;
	*strrchr(path, '/') = '\0'; /* a failed first order has no dir yet */
	if (mc_fsio_mkdirs(path, 0700, err) == -1)
		return -1;
	path[strlen(path)] = '/';
	return store_json_write(path, last_to_json(last), 0600, err);
}

/* last_copy - a string member into a fixed buffer ("" when absent). */
static void
last_copy(json_t *o, const char *key, char *buf, size_t size)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(buf, size, "%s", s ? s : "");
}

/* last_files - the "files" array into l. */
static int
last_files(json_t *o, struct mc_last *l)
{
	json_t *a = json_object_get(o, "files"), *v;
	size_t i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > LAST_FILES_MAX)
		return -1;
	l->files = calloc(json_array_size(a) + 1, sizeof(char *));
	if (l->files == NULL)
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_value(v)[0] != '/')
			return -1;
		l->files[i] = strdup(json_string_value(v));
		if (l->files[i] == NULL)
			return -1;
		l->n_files = i + 1;
	}
	return 0;
}

/* last_from_json - the members of o into l. */
static int
last_from_json(json_t *o, struct mc_last *l)
{
	const char *e;

	if (!json_is_object(o) || !json_is_integer(json_object_get(o, "at")))
		return -1;
	l->at = (time_t)json_integer_value(json_object_get(o, "at"));
	l->live_at = (time_t)json_integer_value(json_object_get(o, "live_at"));
	l->version =
		(unsigned)json_integer_value(json_object_get(o, "version"));
	last_copy(o, "command", l->command, sizeof(l->command));
	last_copy(o, "result", l->result, sizeof(l->result));
	last_copy(o, "run_id", l->run_id, sizeof(l->run_id));
	last_copy(o, "live", l->live, sizeof(l->live));
	last_copy(o, "live_serial", l->live_serial, sizeof(l->live_serial));
	e = json_string_value(json_object_get(o, "error"));
	if (e != NULL && (l->error = strdup(e)) == NULL)
		return -1;
	return last_files(o, l);
}

/* mc_store_load_last - read last.json: 1 found, 0 none, -1 error. */
int
mc_store_load_last(const char *state_dir, const char *name,
		   struct mc_last *last, struct mc_err *err)
{
	char path[4200], *text = NULL;
	struct mc_last l;
	json_error_t jerr;
	size_t len = 0;
	json_t *o;

	memset(&l, 0, sizeof(l));
	if (last_path(state_dir, name, path, sizeof(path), err) == -1)
		return -1;
	if (!mc_fsio_exists(path))
		return 0;
	if (mc_fsio_read(path, LAST_MAX, &text, &len, err) == -1)
		return -1;
	o = json_loadb(text, len, 0, &jerr);
	free(text);
	if (o == NULL)
		return mc_err_set(err, MC_ERR_INPUT, "%s:%d: %s", path,
				  jerr.line, jerr.text);
	if (last_from_json(o, &l) == -1) {
		json_decref(o);
		mc_store_last_clear(&l);
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s: malformed; remove it (the next run "
				  "writes it again)",
				  path);
	}
	json_decref(o);
	*last = l;
	return 1;
}
