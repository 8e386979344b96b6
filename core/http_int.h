/*
 * http_int.h - shared by the files of the transport (core/http*.c):
 * http.c (libcurl), http_hdr.c (header values), http_ca.c (trust stores).
 */
#ifndef MAILCERT_CORE_HTTP_INT_H
#define MAILCERT_CORE_HTTP_INT_H

#include <stddef.h>

#include <openssl/x509.h>

#include "mailcert/err.h"

/* http_trim_dup - a copy of [p, p+n) without surrounding blanks (new
 * string, NULL when out of memory). */
char *http_trim_dup(const char *p, size_t n);

/* http_media_type - the lower-case media type of a Content-Type value,
 * without parameters (new string or NULL). */
char *http_media_type(const char *value);

/* http_ca_store - the trust store of the CA file at path, shared by every
 * caller of the process (new reference: X509_STORE_free). The file is read
 * and indexed by subject on first use; a certificate is parsed when a
 * verification first asks for its subject. MC_ERR_CONFIG when the file
 * cannot be read or holds no certificate. */
X509_STORE *http_ca_store(const char *path, struct mc_err *err);

#endif
