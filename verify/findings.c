/*
 * findings.c - the list of findings of `check` (see check.h).
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
	x->severity = severity;
	x->not_tested = not_tested;
	va_start(ap, fmt);
	vsnprintf(x->text, sizeof(x->text), fmt, ap);
	va_end(ap);
	f->n++;
	return 0;
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
