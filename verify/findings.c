/*
 * findings.c - the list of findings of `check`, their labels, and the
 * check profiles (see check.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailcert/check.h"

/* findings_grow - room for one more finding. */
static int
findings_grow(struct mc_findings *f, struct mc_err *err)
{
	struct mc_finding *v;
	size_t cap;

	if (f->n < f->cap)
		return 0;
	cap = f->cap ? f->cap * 2 : 8;
	v = realloc(f->v, cap * sizeof(*v));
	if (v == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "findings: out of memory");
	f->v = v;
	f->cap = cap;
	return 0;
}

/* What each check looks at, for "<what> not tested" labels. */
static const struct {
	const char *code;
	const char *what;
} findings_subject[] = {
    {"revoked", "revocation"},
    {"weak-protocol", "protocols"},
    {"weak-cipher", "cipher suites"},
    {"expired", "validity"},
    {"not-yet-valid", "validity"},
    {"expires-soon", "validity"},
    {"name-mismatch", "names"},
    {"untrusted", "trust"},
    {"incomplete-chain", "chain"},
    {"chain-order", "chain order"},
    {"inactive", "served certificate"},
    {"unreachable", "endpoint"},
    {"dane-mismatch", "DANE"},
    {"dane-insecure", "DANE"},
};

/* findings_label - the code, or "<what> not tested". */
static void
findings_label(const char *code, bool not_tested, char *buf, size_t size)
{
	const char *what = code;
	size_t i;

	if (!not_tested) {
		snprintf(buf, size, "%s", code);
		return;
	}
	for (i = 0; i < sizeof(findings_subject) / sizeof(findings_subject[0]);
	     i++)
		if (strcmp(code, findings_subject[i].code) == 0)
			what = findings_subject[i].what;
	snprintf(buf, size, "%s not tested", what);
}

/* mc_findings_add - append a finding (text formatted); -1 on memory failure. */
int
mc_findings_add(struct mc_findings *f, const char *code,
                enum mc_severity severity, bool not_tested, struct mc_err *err,
                const char *fmt, ...)
{
	struct mc_finding *x;
	va_list ap;

	if (findings_grow(f, err) == -1)
		return -1;
	x = &f->v[f->n];
	memset(x, 0, sizeof(*x));
	snprintf(x->code, sizeof(x->code), "%s", code);
	findings_label(code, not_tested, x->label, sizeof(x->label));
	x->severity = severity;
	x->not_tested = not_tested;
	x->chain = -1;
	va_start(ap, fmt);
	vsnprintf(x->text, sizeof(x->text), fmt, ap);
	va_end(ap);
	f->n++;
	return 0;
}

/* mc_findings_relabel - give the last finding another label. */
void
mc_findings_relabel(struct mc_findings *f, const char *label)
{
	if (f != NULL && f->n > 0)
		snprintf(f->v[f->n - 1].label, sizeof(f->v[0].label), "%s",
		         label);
}

/* mc_findings_clear - free the findings. */
void
mc_findings_clear(struct mc_findings *f)
{
	if (f == NULL)
		return;
	free(f->v);
	f->v = NULL;
	f->n = 0;
	f->cap = 0;
}

/* mc_findings_worst - the highest severity in f (MC_SEV_OK if empty). */
enum mc_severity
mc_findings_worst(const struct mc_findings *f)
{
	enum mc_severity worst = MC_SEV_OK;
	size_t i;

	for (i = 0; f != NULL && i < f->n; i++)
		if (f->v[i].severity > worst)
			worst = f->v[i].severity;
	return worst;
}

/* mc_severity_name - "ok", "warning", "critical". */
const char *
mc_severity_name(enum mc_severity s)
{
	switch (s) {
	case MC_SEV_OK:
		return "ok";
	case MC_SEV_WARNING:
		return "warning";
	case MC_SEV_CRITICAL:
		return "critical";
	}
	return "unknown";
}

static const char *const profile_names[] = {
    [MC_PROFILE_MX] = "mx",
    [MC_PROFILE_SUBMISSION] = "submission",
    [MC_PROFILE_STRICT] = "strict",
};

/* mc_check_profile_parse - "mx", "submission", "strict"; 0 or -1. */
int
mc_check_profile_parse(const char *text, enum mc_check_profile *out)
{
	size_t i;

	for (i = 0; i < sizeof(profile_names) / sizeof(profile_names[0]); i++)
		if (strcmp(text, profile_names[i]) == 0) {
			*out = (enum mc_check_profile)i;
			return 0;
		}
	return -1;
}

/* mc_check_profile_name - "mx", "submission", "strict". */
const char *
mc_check_profile_name(enum mc_check_profile p)
{
	if ((size_t)p >= sizeof(profile_names) / sizeof(profile_names[0]))
		return "unknown";
	return profile_names[p];
}

/* mc_check_profile_default - mx for smtp:// on port 25, else submission. */
enum mc_check_profile
mc_check_profile_default(const struct mc_endpoint *ep)
{
	if (ep->scheme == MC_SCHEME_SMTP && ep->port == 25)
		return MC_PROFILE_MX;
	return MC_PROFILE_SUBMISSION;
}
