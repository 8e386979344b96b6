/*
 * store_pending.c - certs/<name>/pending.json: the targets of the current
 * version whose daemon has not been shown to serve it (not yet configured
 * to read mailcert's files, or not running). The files of those targets
 * hold the version; every run finishes them (deploy.h, convergence).
 * Jansson stays in this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mailcert/fsio.h"
#include "mailcert/store.h"
#include "deploy/store_int.h"

#define PENDING_MAX (64 * 1024)

/* pending_path - "state_dir/certs/name/pending.json" into buf. */
static void
pending_path(const char *state_dir, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/certs/%s/pending.json", state_dir, name);
}

/* mc_store_pending_free - free the targets of p and zero it. */
void
mc_store_pending_free(struct mc_store_pending *p)
{
	if (p == NULL)
		return;
	free(p->targets);
	memset(p, 0, sizeof(*p));
}

/* pending_to_json - the JSON object of p (new reference), or NULL. */
static json_t *
pending_to_json(const struct mc_store_pending *p)
{
	json_t *o = json_object(), *a = json_array();
	int bad = o == NULL || a == NULL;
	size_t i;

	for (i = 0; !bad && i < p->n; i++)
		bad |= json_array_append_new(
			a, json_pack("{s:s, s:s, s:s}", "target",
				     p->targets[i].target, "reason",
				     p->targets[i].reason, "detail",
				     p->targets[i].detail));
	bad |= json_object_set_new(o, "targets", a);
	bad |= json_object_set_new(o, "version", json_integer(p->version));
	bad |= json_object_set_new(o, "since", json_integer(p->since));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* mc_store_pending_write - write pending.json atomically (0600). */
int
mc_store_pending_write(const char *state_dir, const char *name,
		       const struct mc_store_pending *p, struct mc_err *err)
{
	char path[4200];

	pending_path(state_dir, name, path, sizeof(path));
	return store_json_write(path, pending_to_json(p), 0600, err);
}

/* pending_copy - a string member of o into buf; false when missing. */
static bool
pending_copy(json_t *o, const char *key, char *buf, size_t size)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL)
		return false;
	snprintf(buf, size, "%s", s);
	return true;
}

/* pending_parse - the fields of text into *p (new targets array). */
static int
pending_parse(const char *text, size_t len, struct mc_store_pending *p)
{
	json_t *o = json_loadb(text, len, 0, NULL), *a, *t;
	json_int_t v = json_integer_value(json_object_get(o, "version"));
	time_t since = (time_t)json_integer_value(json_object_get(o, "since"));
	size_t i, n;
	bool ok;

	a = json_object_get(o, "targets");
	n = json_array_size(a);
	ok = json_is_array(a) && v > 0 && v <= 999999 && n <= 64;
	memset(p, 0, sizeof(*p));
	p->targets = ok ? calloc(n + 1, sizeof(*p->targets)) : NULL;
	ok = ok && p->targets != NULL;
	for (i = 0; ok && i < n; i++) {
		t = json_array_get(a, i);
		ok = pending_copy(t, "target", p->targets[i].target,
				  sizeof(p->targets[i].target)) &&
		     pending_copy(t, "reason", p->targets[i].reason,
				  sizeof(p->targets[i].reason));
		pending_copy(t, "detail", p->targets[i].detail,
			     sizeof(p->targets[i].detail));
	}
	json_decref(o);
	if (!ok) {
		mc_store_pending_free(p);
		return -1;
	}
	p->version = (unsigned)v;
	p->n = n;
	p->since = since;
	return 0;
}

/* mc_store_pending_read - the pending targets of name, if any. */
int
mc_store_pending_read(const char *state_dir, const char *name,
		      struct mc_store_pending *p, struct mc_err *err)
{
	char path[4200], *text = NULL;
	size_t len = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	pending_path(state_dir, name, path, sizeof(path));
	if (!mc_fsio_exists(path))
		return 0;
	if (mc_fsio_read(path, PENDING_MAX, &text, &len, err) == -1)
		return -1;
	rc = pending_parse(text, len, p);
	free(text);
	if (rc == -1)
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s is damaged; remove it (`mailcert deploy "
				  "%s` then checks every target again)",
				  path, name);
	return 1;
}

/* mc_store_pending_clear - remove pending.json (durably); 0 if absent. */
int
mc_store_pending_clear(const char *state_dir, const char *name,
		       struct mc_err *err)
{
	return store_state_remove(state_dir, name, "pending.json", err);
}
