/*
 * http_ca.c - trust stores for the transport, read once per process.
 *
 * Why not X509_STORE_load_file(): OpenSSL 3 decodes every certificate of
 * the file with its public key, about 0.15 ms each, so a system bundle
 * (~150 roots) costs 20-40 ms of CPU per load - more than a whole ACME
 * issuance on loopback. Here the file is read once and each PEM block is
 * base64-decoded; of its DER only the place of the subject Name is noted.
 * The store gets a lookup method that, when a verification asks for a
 * subject, parses the matching certificates and adds them to the store
 * (as OpenSSL's own hashed-directory lookup does). A subject matches by
 * its DER bytes first (the usual case: an issuer name is a copy of its
 * issuer's subject); only when none does are the subjects parsed (once
 * per file, ~10 us each) and compared as X509_NAME_cmp compares them
 * (case and spaces folded). The result is the same trust decision as
 * loading the whole file, for the cost of the one or two roots a
 * handshake needs.
 *
 * Stores are cached by path for the life of the process and shared by all
 * threads: the index is read-only after it is built, X509_STORE locks
 * itself, and the cache list has a mutex. mc_http_ca_lookup gives another
 * store (check's trust store) a lookup in the same index.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/http_int.h"
#include "mailcert/fsio.h"
#include "mailcert/http.h"

#define CA_FILE_MAX ((size_t)64 * 1024 * 1024)
#define PEM_BEGIN "-----BEGIN "
#define PEM_CERT "CERTIFICATE-----"             /* after PEM_BEGIN */
#define PEM_TRUSTED "TRUSTED CERTIFICATE-----"  /* after PEM_BEGIN */
#define PEM_END "-----END "

struct ca_entry {
	unsigned char *der;
	size_t len;
	bool aux;          /* TRUSTED CERTIFICATE: X509 + trust settings */
	size_t subj_off, subj_len; /* the subject Name's DER in der */
	X509_NAME *subject; /* parsed by ca_names_parse, else NULL */
};

struct ca_file {
	char *path;
	struct ca_entry *ents;
	size_t n;
	X509_STORE *store;
	pthread_mutex_t names_lock; /* guards names_parsed */
	bool names_parsed;
	struct ca_file *next;
};

static pthread_mutex_t ca_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ca_file *ca_files;
static pthread_once_t ca_meth_once = PTHREAD_ONCE_INIT;
static X509_LOOKUP_METHOD *ca_meth;

/* ca_subject_span - where the subject Name (with its header) lies in a
 * DER certificate: 0 with *off and *slen, or -1. */
static int
ca_subject_span(const unsigned char *der, size_t len, size_t *off,
		size_t *slen)
{
	const unsigned char *p = der, *item = der;
	long l;
	int tag, cls, i;

	/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
	 * OPTIONAL, serial, signature, issuer, validity, subject, ... } } */
	if (ASN1_get_object(&p, &l, &tag, &cls, (long)len) & 0x80 ||
	    ASN1_get_object(&p, &l, &tag, &cls, (long)(der + len - p)) & 0x80)
		return -1;
	for (i = 0; i < 5; i++) {
		item = p;
		if (ASN1_get_object(&p, &l, &tag, &cls,
		                    (long)(der + len - p)) & 0x80)
			return -1;
		if (i == 0 && cls == V_ASN1_CONTEXT_SPECIFIC)
			i--; /* the version: not counted */
		p += l;
	}
	p = item;
	if (ASN1_get_object(&p, &l, &tag, &cls, (long)(der + len - p)) & 0x80)
		return -1;
	*off = (size_t)(item - der);
	*slen = (size_t)l + (size_t)(p - item); /* the Name with its header */
	return 0;
}

/* ca_decode - the DER of the base64 text [b, e) (new, *len), or NULL. */
static unsigned char *
ca_decode(const char *b, const char *e, size_t *len)
{
	size_t n = 0, pad = 0;
	unsigned char *txt = malloc((size_t)(e - b) + 1), *der;
	int dl;

	if (txt == NULL)
		return NULL;
	for (; b < e; b++)
		if (*b != '\n' && *b != '\r' && *b != ' ' && *b != '\t')
			txt[n++] = (unsigned char)*b;
	while (pad < n && pad < 2 && txt[n - 1 - pad] == '=')
		pad++;
	der = malloc(n / 4 * 3 + 3);
	dl = (n % 4 == 0 && der != NULL) ? EVP_DecodeBlock(der, txt, (int)n)
	                                 : -1;
	free(txt);
	if (dl < 0 || (size_t)dl < pad) {
		free(der);
		return NULL;
	}
	*len = (size_t)dl - pad;
	return der;
}

/* ca_add - index one PEM block [b, e) (base64 text); skips a malformed one. */
static int
ca_add(struct ca_file *f, const char *b, const char *e, bool aux)
{
	struct ca_entry *n, ent = {NULL, 0, aux, 0, 0, NULL};

	ent.der = ca_decode(b, e, &ent.len);
	if (ent.der == NULL)
		return 0;
	if (ca_subject_span(ent.der, ent.len, &ent.subj_off, &ent.subj_len) ==
	    -1) {
		free(ent.der);
		return 0;
	}
	n = realloc(f->ents, (f->n + 1) * sizeof(*n));
	if (n == NULL) {
		free(ent.der);
		return -1;
	}
	f->ents = n;
	f->ents[f->n++] = ent;
	return 0;
}

/* ca_index - index every CERTIFICATE / TRUSTED CERTIFICATE block of text:
 * one pass over it (each "-----BEGIN " looked at once). */
static int
ca_index(struct ca_file *f, const char *text, struct mc_err *err)
{
	const char *p = text, *e;
	bool aux;

	while ((p = strstr(p, PEM_BEGIN)) != NULL) {
		p += strlen(PEM_BEGIN);
		aux = strncmp(p, PEM_TRUSTED, strlen(PEM_TRUSTED)) == 0;
		if (!aux && strncmp(p, PEM_CERT, strlen(PEM_CERT)) != 0)
			continue; /* another kind of block: not a certificate */
		p += aux ? strlen(PEM_TRUSTED) : strlen(PEM_CERT);
		e = strstr(p, PEM_END);
		if (e == NULL)
			break;
		if (ca_add(f, p, e, aux) == -1)
			return mc_err_set(err, MC_ERR_SYS, "out of memory");
		p = e + strlen(PEM_END);
	}
	if (f->n == 0)
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "%s: no PEM certificate in the CA file; "
		                  "point ca_bundle at a file of CERTIFICATE "
		                  "blocks",
		                  f->path);
	return 0;
}

/* ca_parse - the certificate of entry e (new), or NULL. */
static X509 *
ca_parse(const struct ca_entry *e)
{
	const unsigned char *p = e->der;

	return e->aux ? d2i_X509_AUX(NULL, &p, (long)e->len)
	              : d2i_X509(NULL, &p, (long)e->len);
}

/* ca_names_parse - every subject Name of f parsed, once per file (an
 * unreadable one stays NULL: it matches nothing). */
static void
ca_names_parse(struct ca_file *f)
{
	const unsigned char *p;
	size_t i;

	pthread_mutex_lock(&f->names_lock);
	for (i = 0; !f->names_parsed && i < f->n; i++) {
		p = f->ents[i].der + f->ents[i].subj_off;
		f->ents[i].subject =
		    d2i_X509_NAME(NULL, &p, (long)f->ents[i].subj_len);
	}
	f->names_parsed = true;
	pthread_mutex_unlock(&f->names_lock);
	ERR_clear_error();
}

/* ca_add_entry - parse entry e and add it to store; whether it is there. */
static bool
ca_add_entry(const struct ca_entry *e, X509_STORE *store)
{
	X509 *x = ca_parse(e);
	bool added;

	if (x == NULL)
		return false;
	added = X509_STORE_add_cert(store, x) == 1;
	X509_free(x);
	return added;
}

/* ca_borrow - point ret at the store's certificate with subject name,
 * WITHOUT a reference of its own: the caller (OpenSSL 3's
 * X509_STORE_CTX_get_by_subject) takes a reference from it and never
 * frees ret, as for OpenSSL's own hashed-directory lookup; the store
 * keeps the certificate alive. 1 found, 0 not. */
static int
ca_borrow(X509_STORE *store, const X509_NAME *name, X509_OBJECT *ret)
{
	X509_OBJECT *o;
	X509 *x = NULL;

	if (X509_STORE_lock(store) != 1)
		return 0;
	o = X509_OBJECT_retrieve_by_subject(X509_STORE_get0_objects(store),
	                                    X509_LU_X509, name);
	if (o != NULL)
		x = X509_OBJECT_get0_X509(o);
	X509_STORE_unlock(store);
	if (x == NULL || X509_OBJECT_set1_X509(ret, x) != 1)
		return 0;
	X509_free(x); /* the reference set1 took: ret borrows */
	return 1;
}

/* ca_by_subject - the lookup: add every certificate with subject name to
 * the store, return the first in ret (borrowed); 1 found, 0 not. Same
 * DER first; else the parsed names compared as X509_NAME_cmp does. */
static int
ca_by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, const X509_NAME *name,
              X509_OBJECT *ret)
{
	struct ca_file *f = X509_LOOKUP_get_method_data(lu);
	X509_STORE *store = X509_LOOKUP_get_store(lu);
	const unsigned char *want;
	size_t wlen, i;
	bool added = false;

	if (type != X509_LU_X509 || f == NULL || name == NULL ||
	    X509_NAME_get0_der(name, &want, &wlen) != 1)
		return 0;
	for (i = 0; i < f->n; i++)
		if (f->ents[i].subj_len == wlen &&
		    memcmp(f->ents[i].der + f->ents[i].subj_off, want, wlen) ==
		        0)
			added |= ca_add_entry(&f->ents[i], store);
	if (!added) {
		ca_names_parse(f);
		for (i = 0; i < f->n; i++)
			if (f->ents[i].subject != NULL &&
			    X509_NAME_cmp(f->ents[i].subject, name) == 0)
				added |= ca_add_entry(&f->ents[i], store);
	}
	return added ? ca_borrow(store, name, ret) : 0;
}

/* ca_meth_init - the lookup method, made once. */
static void
ca_meth_init(void)
{
	X509_LOOKUP_METHOD *m = X509_LOOKUP_meth_new("mailcert ca index");

	if (m != NULL &&
	    X509_LOOKUP_meth_set_get_by_subject(m, ca_by_subject) != 1) {
		X509_LOOKUP_meth_free(m);
		m = NULL;
	}
	ca_meth = m;
}

/* ca_file_free - free an index and its store. */
static void
ca_file_free(struct ca_file *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		free(f->ents[i].der);
		X509_NAME_free(f->ents[i].subject);
	}
	free(f->ents);
	pthread_mutex_destroy(&f->names_lock);
	X509_STORE_free(f->store);
	free(f->path);
	free(f);
}

/* ca_store_new - a store that looks certificates up in f. */
static int
ca_store_new(struct ca_file *f, struct mc_err *err)
{
	X509_LOOKUP *lu;

	pthread_once(&ca_meth_once, ca_meth_init);
	f->store = X509_STORE_new();
	if (ca_meth == NULL || f->store == NULL ||
	    (lu = X509_STORE_add_lookup(f->store, ca_meth)) == NULL ||
	    X509_LOOKUP_set_method_data(lu, f) != 1)
		return mc_err_set(err, MC_ERR_SYS,
		                  "cannot set up a trust store");
	/* libcurl's defaults for a CA file: intermediates in it are anchors,
	 * and trusted certificates are preferred while building the chain */
	X509_STORE_set_flags(f->store, X509_V_FLAG_PARTIAL_CHAIN |
	                                   X509_V_FLAG_TRUSTED_FIRST);
	return 0;
}

/* ca_load - read and index path into a new cache entry. */
static struct ca_file *
ca_load(const char *path, struct mc_err *err)
{
	struct ca_file *f = calloc(1, sizeof(*f));
	char *text = NULL;
	size_t len = 0;

	if (f == NULL || (f->path = strdup(path)) == NULL ||
	    pthread_mutex_init(&f->names_lock, NULL) != 0) {
		if (f != NULL)
			free(f->path);
		free(f);
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	if (mc_fsio_read(path, CA_FILE_MAX, &text, &len, err) == -1) {
		if (err != NULL)
			err->cat = MC_ERR_CONFIG;
		mc_err_prefix(err, "CA file");
		goto fail;
	}
	if (ca_index(f, text, err) == -1 || ca_store_new(f, err) == -1)
		goto fail;
	free(text);
	return f;
fail:
	free(text);
	ca_file_free(f);
	return NULL;
}

/* ca_get - the cached index of path, read now if it is not yet (with
 * ca_lock held). */
static struct ca_file *
ca_get(const char *path, struct mc_err *err)
{
	struct ca_file *f;

	for (f = ca_files; f != NULL; f = f->next)
		if (strcmp(f->path, path) == 0)
			return f;
	f = ca_load(path, err);
	if (f != NULL) {
		f->next = ca_files;
		ca_files = f;
	}
	return f;
}

/* http_ca_store - the shared store of path (see http_int.h). */
X509_STORE *
http_ca_store(const char *path, struct mc_err *err)
{
	struct ca_file *f;
	X509_STORE *s = NULL;

	pthread_mutex_lock(&ca_lock);
	f = ca_get(path, err);
	if (f != NULL && X509_STORE_up_ref(f->store) == 1)
		s = f->store;
	else if (f != NULL)
		mc_err_set(err, MC_ERR_SYS, "cannot share the trust store");
	pthread_mutex_unlock(&ca_lock);
	return s;
}

/* mc_http_ca_lookup - give st a lookup in the index of path (http.h). */
int
mc_http_ca_lookup(X509_STORE *st, const char *path, struct mc_err *err)
{
	struct ca_file *f;
	X509_LOOKUP *lu;
	int rc = -1;

	pthread_once(&ca_meth_once, ca_meth_init);
	pthread_mutex_lock(&ca_lock);
	f = ca_get(path, err);
	if (f != NULL && ca_meth != NULL) {
		lu = X509_STORE_add_lookup(st, ca_meth);
		if (lu != NULL && X509_LOOKUP_set_method_data(lu, f) == 1)
			rc = 0;
		else
			mc_err_set(err, MC_ERR_SYS,
			           "cannot set up a trust store");
	}
	pthread_mutex_unlock(&ca_lock);
	return rc;
}
