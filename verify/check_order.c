/*
 * check_order.c - is the served chain in order, and does every served
 * certificate belong to it?
 *
 * TLS 1.2 requires each certificate to be followed by the one that
 * issued it (RFC 5246 section 7.4.2; TLS 1.3 asks for the same order and
 * lets clients cope); strict clients stop at the first gap. Certificates
 * that issue nothing in the chain are dead weight at best and confuse
 * path building at worst. Both are warnings (`chain-order`).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "chain_int.h"

/* order_issues - whether issuer issued cert (names, key ids, usage). */
static bool
order_issues(X509 *issuer, X509 *cert)
{
	return X509_check_issued(issuer, cert) == X509_V_OK;
}

/* order_walk - mark in used[] the issuance path from served[0] through
 * the served certificates (any order); the path's length. */
static int
order_walk(STACK_OF(X509) * served, bool *used, int *seq)
{
	int n = sk_X509_num(served), len = 1, j, cur = 0;
	bool found = true;

	memset(used, 0, (size_t)n * sizeof(*used));
	used[0] = true;
	seq[0] = 0;
	while (found && len < n) {
		found = false;
		for (j = 1; j < n; j++) {
			X509 *c = sk_X509_value(served, cur);

			if (used[j] || !order_issues(sk_X509_value(served, j), c))
				continue;
			if (X509_self_signed(c, 0) == 1)
				break; /* a root issues itself only */
			used[j] = true;
			seq[len++] = j;
			cur = j;
			found = true;
			break;
		}
	}
	return len;
}

/* chain_served_path - the leaf and its issuers found among the served
 * certificates, in issuance order (new stack, up-referenced). */
STACK_OF(X509) * chain_served_path(STACK_OF(X509) * served, struct mc_err *err)
{
	int n = sk_X509_num(served), seq[CHAIN_SERVED_MAX], len, i;
	bool used[CHAIN_SERVED_MAX];
	STACK_OF(X509) *path = sk_X509_new_null();

	if (path == NULL) {
		mc_err_openssl(err, "certificate stack");
		return NULL;
	}
	if (n > CHAIN_SERVED_MAX)
		n = CHAIN_SERVED_MAX;
	len = n > 0 ? order_walk(served, used, seq) : 0;
	for (i = 0; i < len && i < n; i++) {
		X509 *c = sk_X509_value(served, seq[i]);

		if (!sk_X509_push(path, c)) {
			sk_X509_pop_free(path, X509_free);
			mc_err_openssl(err, "certificate stack");
			return NULL;
		}
		X509_up_ref(c);
	}
	return path;
}

/* order_names - "\"CN\" (n), ..." of the served certificates in idx. */
static void
order_names(STACK_OF(X509) * served, const int *idx, int n, char *buf,
            size_t size)
{
	char cn[128];
	size_t len;
	int i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		chain_cn(sk_X509_value(served, idx[i]), cn, sizeof(cn));
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s\"%s\" (#%d)",
		         i ? ", " : "", cn, idx[i] + 1);
	}
}

/* chain_order - chain-order findings for the served chain. */
int
chain_order(STACK_OF(X509) * served, struct mc_findings *out,
            struct mc_err *err)
{
	int n = sk_X509_num(served), seq[CHAIN_SERVED_MAX], extra[CHAIN_SERVED_MAX];
	bool used[CHAIN_SERVED_MAX], inorder = true;
	int len, i, n_extra = 0;
	char names[600];

	if (n < 2 || n > CHAIN_SERVED_MAX)
		return 0;
	len = order_walk(served, used, seq);
	for (i = 1; i < len; i++)
		inorder = inorder && seq[i] == i;
	for (i = 1; i < n; i++)
		if (!used[i])
			extra[n_extra++] = i;
	if (!inorder) {
		order_names(served, seq, len, names, sizeof(names));
		if (mc_findings_add(out, "chain-order", MC_SEV_WARNING, false,
		                    err,
		                    "The chain is not in order: each certificate "
		                    "must be followed by its issuer (RFC 5246 "
		                    "7.4.2), here the path is %s: write the "
		                    "chain file leaf first, then each issuer.",
		                    names) == -1)
			return -1;
	}
	if (n_extra == 0)
		return 0;
	order_names(served, extra, n_extra, names, sizeof(names));
	return mc_findings_add(out, "chain-order", MC_SEV_WARNING, false, err,
	                       "The server also sends %s, which %s not part "
	                       "of this certificate's chain: remove %s from "
	                       "the chain file.",
	                       names, n_extra == 1 ? "is" : "are",
	                       n_extra == 1 ? "it" : "them");
}
