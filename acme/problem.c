/*
 * problem.c - RFC 7807 problem documents and other CA error bodies as one
 * error line.
 */
#include <stdbool.h>
#include <string.h>

#include "acme/acme_int.h"
#include "mailcert/text.h"

#define PROBLEM_FIELD_MAX 400
#define EXCERPT_SCAN 4096 /* bytes of a body looked at for an excerpt */
#define SUBPROBLEMS_MAX 16

/* acme_excerpt - a short printable excerpt of body: HTML tags dropped,
 * then the one sanitizer (mailcert/text.h). */
void
acme_excerpt(const char *body, size_t len, char *out, size_t size)
{
	char text[EXCERPT_SCAN] = "";
	size_t i, o = 0;
	bool in_tag = false;

	for (i = 0; i < len && o < sizeof(text); i++) {
		if (body[i] == '<')
			in_tag = true;
		if (!in_tag)
			text[o++] = body[i];
		else if (body[i] == '>') {
			in_tag = false;
			text[o++] = ' '; /* a tag separates words */
		}
	}
	mc_text_excerpt(text, o, out, size, 0);
}

/* problem_str - a sanitized string member of obj, or dflt. */
static void
problem_str(const json_t *obj, const char *name, const char *dflt, char *out,
            size_t size)
{
	const json_t *v = json_object_get(obj, name);
	const char *s = json_is_string(v) ? json_string_value(v) : dflt;

	acme_excerpt(s, strlen(s), out, size);
	if (out[0] == '\0')
		acme_excerpt(dflt, strlen(dflt), out, size);
}

/* problem_one - append "type: detail" of one problem object. */
static int
problem_one(struct mc_buf *out, const json_t *prob, struct mc_err *err)
{
	char type[PROBLEM_FIELD_MAX], detail[PROBLEM_FIELD_MAX];

	problem_str(prob, "type", "(no type)", type, sizeof(type));
	problem_str(prob, "detail", "(no detail)", detail, sizeof(detail));
	return mc_buf_appendf(out, err, "%s: %s", type, detail);
}

/* acme_problem_append - append "type: detail; subproblems: id: type: detail,
 * ...". */
int
acme_problem_append(struct mc_buf *out, const json_t *prob, struct mc_err *err)
{
	const json_t *subs = json_object_get(prob, "subproblems"), *sub, *id;
	char ident[PROBLEM_FIELD_MAX];
	size_t i;

	if (problem_one(out, prob, err) == -1)
		return -1;
	if (!json_is_array(subs) || json_array_size(subs) == 0)
		return 0;
	if (mc_buf_appendf(out, err, "; subproblems: ") == -1)
		return -1;
	json_array_foreach(subs, i, sub)
	{
		if (i >= SUBPROBLEMS_MAX)
			return mc_buf_appendf(out, err, ", ...");
		id = json_object_get(sub, "identifier");
		problem_str(id, "value", "(no identifier)", ident,
		            sizeof(ident));
		if (mc_buf_appendf(out, err, "%s%s: ", i ? ", " : "", ident) ==
		        -1 ||
		    problem_one(out, sub, err) == -1)
			return -1;
	}
	return 0;
}

/* problem_is_json - whether a media type is JSON (problem+json or json). */
static bool
problem_is_json(const char *ctype)
{
	return ctype != NULL &&
	       (strcmp(ctype, "application/problem+json") == 0 ||
	        strcmp(ctype, "application/json") == 0);
}

/* problem_nonjson - the error for a body that is not a problem document. */
static int
problem_nonjson(const char *url, long status, const char *ctype,
                const char *body, size_t len, struct mc_err *err)
{
	char excerpt[160];

	if (len == 0)
		return mc_err_set(err, MC_ERR_CA,
		                  "HTTP %ld from %s: empty body", status, url);
	acme_excerpt(body, len, excerpt, sizeof(excerpt));
	return mc_err_set(err, MC_ERR_CA, "HTTP %ld from %s (%s): %s", status,
	                  url, ctype != NULL ? ctype : "no content type",
	                  excerpt);
}

/* acme_problem_error - set err from an error response; always returns -1. */
int
acme_problem_error(const char *url, long status, const char *ctype,
                   const char *body, size_t len, struct mc_err *err)
{
	json_error_t jerr;
	json_t *prob;
	struct mc_buf line;
	char excerpt[160];

	if (!problem_is_json(ctype) || len == 0)
		return problem_nonjson(url, status, ctype, body, len, err);
	prob = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (prob == NULL || !json_is_object(prob) ||
	    !json_is_string(json_object_get(prob, "type"))) {
		acme_excerpt(body, len, excerpt, sizeof(excerpt));
		json_decref(prob);
		return mc_err_set(
		    err, MC_ERR_INPUT,
		    "HTTP %ld from %s: malformed problem document "
		    "(%s): %s",
		    status, url, prob == NULL ? "JSON parse error" : "no type",
		    excerpt);
	}
	mc_buf_init(&line, MC_ERR_MSG_MAX);
	if (mc_buf_appendf(&line, NULL, "HTTP %ld: ", status) == 0)
		(void)acme_problem_append(&line, prob,
		                          NULL); /* truncated is fine */
	mc_err_set(err, MC_ERR_CA, "%s",
	           line.data != NULL ? line.data : "HTTP error");
	mc_buf_free(&line);
	json_decref(prob);
	return -1;
}

/* acme_problem_type - the "type" of a problem response (new string) or NULL. */
char *
acme_problem_type(const char *ctype, const char *body, size_t len)
{
	json_t *prob, *t;
	char *out = NULL;

	if (!problem_is_json(ctype) || len == 0)
		return NULL;
	prob = json_loadb(body, len, 0, NULL);
	t = json_object_get(prob, "type");
	if (json_is_string(t))
		out = strdup(json_string_value(t));
	json_decref(prob);
	return out;
}
