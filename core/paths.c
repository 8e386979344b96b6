/*
 * paths.c - the one parser of target path templates (%n the cert name, %k
 * the key algorithm, %% a percent sign), used at config load and at run
 * time, the dual-certificate form of the default paths, and the names of
 * a stored version's files per key type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailcert/config.h"

/* expand_len - the length of path after expansion, or -1 on a bad '%'. */
static long
expand_len(const char *path, size_t name_len, const char *alg,
    struct mc_err *err)
{
	size_t n = 0;
	const char *p;

	for (p = path; *p != '\0'; p++) {
		if (*p != '%') {
			n++;
			continue;
		}
		p++;
		if (*p == 'n')
			n += name_len;
		else if (*p == 'k' && alg != NULL)
			n += strlen(alg);
		else if (*p == '%')
			n++;
		else if (*p == 'k')
			return mc_err_set(err, MC_ERR_CONFIG,
			    "\"%s\": %%k (the key algorithm) has no value here",
			    path);
		else
			return mc_err_set(err, MC_ERR_CONFIG,
			    "\"%s\": only %%n (the cert name), %%k (the key "
			    "algorithm: ecdsa or rsa) and %%%% may follow '%%'",
			    path);
	}
	return (long)n;
}

/* mc_config_expand_key - path with %n, %k and %% expanded (new string). */
char *
mc_config_expand_key(const char *path, const char *cert_name, const char *alg,
    struct mc_err *err)
{
	size_t name_len = strlen(cert_name), o = 0;
	const char *p;
	long len;
	char *out;

	len = expand_len(path, name_len, alg, err);
	if (len < 0)
		return NULL;
	out = malloc((size_t)len + 1);
	if (out == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	for (p = path; *p != '\0'; p++) {
		if (*p != '%') {
			out[o++] = *p;
			continue;
		}
		p++;
		if (*p == 'n') {
			memcpy(out + o, cert_name, name_len);
			o += name_len;
		} else if (*p == 'k') {
			memcpy(out + o, alg, strlen(alg));
			o += strlen(alg);
		} else {
			out[o++] = '%';
		}
	}
	out[o] = '\0';
	return out;
}

/* mc_config_expand - path with %n and %% expanded (new string). */
char *
mc_config_expand(const char *path, const char *cert_name, struct mc_err *err)
{
	return mc_config_expand_key(path, cert_name, NULL, err);
}

/* paths_has_k - whether template tmpl uses %k. */
static bool
paths_has_k(const char *tmpl)
{
	const char *p;

	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		if (p[1] == 'k')
			return true;
		if (p[1] != '\0')
			p++;
	}
	return false;
}

/* paths_dual_default - tmpl with ".%k" before the extension of its last
 * component (at its end when it has none), new string. */
static char *
paths_dual_default(const char *tmpl, struct mc_err *err)
{
	const char *slash = strrchr(tmpl, '/'), *dot = strrchr(tmpl, '.');
	size_t cut = strlen(tmpl), len = cut + 4;
	char *out = malloc(len);

	if (out == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	if (dot != NULL && (slash == NULL || dot > slash + 1))
		cut = (size_t)(dot - tmpl);
	snprintf(out, len, "%.*s.%%k%s", (int)cut, tmpl, tmpl + cut);
	return out;
}

/* mc_target_expand - the path of template tmpl of t for a cert's key type. */
char *
mc_target_expand(const struct mc_target *t, const char *tmpl,
    const char *cert_name, enum mc_key_type kt, bool dual, struct mc_err *err)
{
	char *dtmpl = NULL, *out;

	if (dual && t->default_files && !paths_has_k(tmpl)) {
		dtmpl = paths_dual_default(tmpl, err);
		if (dtmpl == NULL)
			return NULL;
		tmpl = dtmpl;
	}
	out = mc_config_expand_key(tmpl, cert_name, mc_key_type_alg(kt), err);
	free(dtmpl);
	return out;
}

/* mc_cert_dual - whether cc has two key types. */
bool
mc_cert_dual(const struct mc_cert_conf *cc)
{
	return cc->n_key_types > 1;
}

/* mc_pair_file - base for slot 0, "STEM-ALG.pem" for slot 1. */
void
mc_pair_file(const char *base, size_t slot, enum mc_key_type type, char *buf,
    size_t size)
{
	const char *dot = strrchr(base, '.');
	size_t stem = dot != NULL ? (size_t)(dot - base) : strlen(base);

	if (slot == 0)
		snprintf(buf, size, "%s", base);
	else
		snprintf(buf, size, "%.*s-%s%s", (int)stem, base,
		    mc_key_type_alg(type), base + stem);
}
