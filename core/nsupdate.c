/*
 * nsupdate.c - RFC 2136 dynamic updates signed with TSIG (RFC 8945), built,
 * signed and sent with ldns (see mailcert/dns.h).
 *
 * ldns rather than a hand-written encoder: it already encodes names and
 * every record type from presentation form, signs with HMAC (OpenSSL) and
 * verifies the TSIG of the reply against the request MAC inside
 * ldns_resolver_send_pkt(); what is left here is the BIND key-file parser,
 * finding the zone (SOA at the server) and the error messages.
 *
 * Everything goes over TCP (no truncation, no off-path spoofed reply) with
 * a timeout. The secret is cleansed in our copy and in ldns's.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/dns_int.h"
#include "mailcert/config.h"
#include "mailcert/dns.h"
#include "mailcert/fsio.h"
#include "mailcert/log.h"

#define KEYFILE_MAX 16384
#define TOKEN_MAX 512
#define UPDATE_TTL_MAX 3600

struct tsig_key {
	char name[256];
	char alg[32];   /* ldns name, e.g. "hmac-sha256." */
	char *secret;   /* base64; cleansed on free */
};

struct key_lexer {
	const char *p, *end, *path;
	size_t line;
};

/* lex_skip - skip blanks and comments (# // and C style). */
static void
lex_skip(struct key_lexer *lx)
{
	while (lx->p < lx->end) {
		if (*lx->p == '\n')
			lx->line++;
		if (isspace((unsigned char)*lx->p)) {
			lx->p++;
		} else if (*lx->p == '#' || (*lx->p == '/' && lx->p + 1 < lx->end &&
					      lx->p[1] == '/')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (*lx->p == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
			for (lx->p += 2; lx->p + 1 < lx->end &&
					 !(lx->p[0] == '*' && lx->p[1] == '/');
			     lx->p++)
				lx->line += *lx->p == '\n';
			lx->p += 2;
		} else {
			return;
		}
	}
}

/* lex_next - the next token ({ } ; a word or a quoted string, unquoted) into
 * tok; 0 at the end of the file, 1 for a token, -1 if too long/unterminated. */
static int
lex_next(struct key_lexer *lx, char tok[TOKEN_MAX])
{
	size_t n = 0;

	lex_skip(lx);
	if (lx->p >= lx->end)
		return 0;
	if (strchr("{};", *lx->p) != NULL) {
		tok[0] = *lx->p++;
		tok[1] = '\0';
		return 1;
	}
	if (*lx->p == '"') {
		for (lx->p++; lx->p < lx->end && *lx->p != '"' && *lx->p != '\n'; lx->p++)
			if (n + 1 < TOKEN_MAX)
				tok[n++] = *lx->p;
		if (lx->p >= lx->end || *lx->p != '"' || n + 1 >= TOKEN_MAX)
			return -1;
		lx->p++;
	} else {
		for (; lx->p < lx->end && !isspace((unsigned char)*lx->p) &&
		       strchr("{};\"", *lx->p) == NULL; lx->p++)
			if (n + 1 < TOKEN_MAX)
				tok[n++] = *lx->p;
		if (n + 1 >= TOKEN_MAX)
			return -1;
	}
	tok[n] = '\0';
	return 1;
}

/* lex_expect - the next token must be want. */
static int
lex_expect(struct key_lexer *lx, const char *want, char tok[TOKEN_MAX],
	   struct mc_err *err)
{
	if (lex_next(lx, tok) != 1 || (want != NULL && strcmp(tok, want) != 0))
		return mc_err_set(err, MC_ERR_CONFIG,
				  "nsupdate_key %s:%zu: expected %s%s%s; write key "
				  "\"NAME\" { algorithm hmac-sha256; secret \"BASE64\"; };",
				  lx->path, lx->line, want ? "\"" : "a value",
				  want ? want : "", want ? "\"" : "");
	return 0;
}

/* key_alg - BIND algorithm name to ldns's ("hmac-sha256."); -1 unknown. */
static int
key_alg(const char *bind, char out[32])
{
	static const char *const algs[] = { "hmac-sha256", "hmac-sha384",
					    "hmac-sha512", "hmac-sha224" };
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (strcasecmp(bind, algs[i]) == 0) {
			snprintf(out, 32, "%s.", algs[i]);
			return 0;
		}
	}
	return -1;
}

/* key_clause - one "algorithm X;" or "secret "Y";" inside the braces. */
static int
key_clause(struct key_lexer *lx, const char *word, struct tsig_key *key,
	   struct mc_err *err)
{
	char tok[TOKEN_MAX];
	int rc = -1;

	if (lex_expect(lx, NULL, tok, err) == -1)
		goto out;
	if (strcmp(word, "algorithm") == 0 && key_alg(tok, key->alg) == -1) {
		mc_err_set(err, MC_ERR_CONFIG,
			   "nsupdate_key %s:%zu: algorithm \"%.40s\" is not "
			   "supported; use hmac-sha256 (or hmac-sha384, hmac-sha512)",
			   lx->path, lx->line, tok);
		goto out;
	}
	if (strcmp(word, "secret") == 0) {
		OPENSSL_clear_free(key->secret, key->secret ? strlen(key->secret) : 0);
		key->secret = strdup(tok);
		if (key->secret == NULL) {
			mc_err_set(err, MC_ERR_SYS, "out of memory");
			goto out;
		}
	} else if (strcmp(word, "algorithm") != 0) {
		mc_err_set(err, MC_ERR_CONFIG,
			   "nsupdate_key %s:%zu: unknown clause \"%.40s\"; a key has "
			   "algorithm and secret", lx->path, lx->line, word);
		goto out;
	}
	rc = lex_expect(lx, ";", tok, err);
out:
	OPENSSL_cleanse(tok, sizeof(tok));
	return rc;
}

/* key_parse - the first key "NAME" { ... }; of text. */
static int
key_parse(struct key_lexer *lx, struct tsig_key *key, struct mc_err *err)
{
	char tok[TOKEN_MAX];
	int r;

	if (lex_expect(lx, "key", tok, err) == -1 ||
	    lex_expect(lx, NULL, tok, err) == -1)
		return -1;
	if (strlen(tok) >= sizeof(key->name) - 1 || tok[0] == '\0')
		return mc_err_set(err, MC_ERR_CONFIG, "nsupdate_key %s:%zu: bad key name",
				  lx->path, lx->line);
	{
		size_t n = strlen(tok);

		/* n < sizeof(key->name) - 1: room for a final dot and the NUL */
		memcpy(key->name, tok, n);
		if (tok[n - 1] != '.')
			key->name[n++] = '.';
		key->name[n] = '\0';
	}
	if (lex_expect(lx, "{", tok, err) == -1)
		return -1;
	for (;;) {
		r = lex_next(lx, tok);
		if (r == 1 && strcmp(tok, "}") == 0)
			break;
		if (r != 1 || strchr("{;", tok[0]) != NULL)
			return lex_expect(lx, "}", tok, err);
		if (key_clause(lx, tok, key, err) == -1)
			return -1;
	}
	if (lex_expect(lx, ";", tok, err) == -1)
		return -1;
	if (key->alg[0] == '\0' || key->secret == NULL)
		return mc_err_set(err, MC_ERR_CONFIG,
				  "nsupdate_key %s: key \"%s\" needs both algorithm "
				  "and secret", lx->path, key->name);
	return 0;
}

/* key_load - read and parse a BIND key file. */
static int
key_load(const char *path, struct tsig_key *key, struct mc_err *err)
{
	struct key_lexer lx;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (mc_fsio_read(path, KEYFILE_MAX, &text, &len, err) == -1)
		return mc_err_prefix(err, "nsupdate_key");
	lx.p = text;
	lx.end = text + len;
	lx.path = path;
	lx.line = 1;
	rc = key_parse(&lx, key, err);
	OPENSSL_clear_free(text, len);
	return rc;
}

/* key_clear - cleanse and free the secret. */
static void
key_clear(struct tsig_key *key)
{
	if (key->secret != NULL)
		OPENSSL_clear_free(key->secret, strlen(key->secret));
	key->secret = NULL;
}

/* upd_resolver - an ldns resolver for server, over TCP, with the key. */
static ldns_resolver *
upd_resolver(const struct mc_dns_update_conf *conf, const struct tsig_key *key,
	     struct mc_err *err)
{
	char host[64];
	int port;
	ldns_resolver *res;
	ldns_rdf *addr;
	struct timeval tv = { conf->timeout > 0 ? conf->timeout : MC_DNS_TIMEOUT, 0 };

	if (mc_hostport_parse(conf->server, host, sizeof(host), &port, err) == -1) {
		mc_err_prefix(err, "nsupdate_server");
		return NULL;
	}
	addr = dns_ld.ldns_rdf_new_frm_str(
	    strchr(host, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, host);
	res = dns_ld.ldns_resolver_new();
	if (addr == NULL || res == NULL ||
	    dns_ld.ldns_resolver_push_nameserver(res, addr) != LDNS_STATUS_OK) {
		mc_err_set(err, MC_ERR_CONFIG, "nsupdate_server %s: not an IP address",
			   conf->server);
		dns_ld.ldns_rdf_deep_free(addr);
		dns_ld.ldns_resolver_deep_free(res);
		return NULL;
	}
	dns_ld.ldns_rdf_deep_free(addr);
	dns_ld.ldns_resolver_set_port(res, (uint16_t)(port ? port : 53));
	dns_ld.ldns_resolver_set_usevc(res, true);
	dns_ld.ldns_resolver_set_recursive(res, false);
	dns_ld.ldns_resolver_set_timeout(res, tv);
	dns_ld.ldns_resolver_set_retry(res, 1);
	if (key != NULL) {
		dns_ld.ldns_resolver_set_tsig_keyname(res, key->name);
		dns_ld.ldns_resolver_set_tsig_algorithm(res, key->alg);
		dns_ld.ldns_resolver_set_tsig_keydata(res, key->secret);
	}
	return res;
}

/* upd_resolver_free - cleanse ldns's copy of the secret, free res. */
static void
upd_resolver_free(ldns_resolver *res)
{
	char *secret;

	if (res == NULL)
		return;
	secret = (char *)(uintptr_t)dns_ld.ldns_resolver_tsig_keydata(res);
	if (secret != NULL)
		OPENSSL_cleanse(secret, strlen(secret));
	dns_ld.ldns_resolver_deep_free(res);
}

/* upd_rcode - the name of an RCODE ("REFUSED"). */
static const char *
upd_rcode(ldns_pkt_rcode rcode)
{
	const ldns_lookup_table *t =
	    dns_ld.ldns_lookup_by_id(*dns_ld.ldns_rcodes, (int)rcode);

	return t != NULL ? t->name : "unknown RCODE";
}

/* upd_soa - the SOA owning name (zone apex) from a reply; NULL if none. */
static const ldns_rr *
upd_soa(const ldns_pkt *pkt)
{
	ldns_rr_list *lists[2] = {dns_ld.ldns_pkt_answer(pkt),
	                          dns_ld.ldns_pkt_authority(pkt)};
	ldns_rr *rr;
	size_t i, j, n;

	for (j = 0; j < 2; j++) {
		n = lists[j] != NULL ? dns_ld.ldns_rr_list_rr_count(lists[j]) : 0;
		for (i = 0; i < n; i++) {
			rr = dns_ld.ldns_rr_list_rr(lists[j], i);
			if (dns_ld.ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA)
				return rr;
		}
	}
	return NULL;
}

/* upd_reply_check - a reply (or its absence), its RCODE and its TSIG:
 * 0 when usable; nxdomain_ok lets NXDOMAIN through (a SOA query). */
static int
upd_reply_check(const ldns_pkt *reply, ldns_status st, const char *server,
		const char *what, bool nxdomain_ok, struct mc_err *err)
{
	ldns_pkt_rcode rc;

	if (reply == NULL)
		return mc_err_set(
		    err, MC_ERR_NET, "nsupdate_server %s: %s: no reply: %s",
		    server, what, dns_ld.ldns_get_errorstr_by_id(st));
	rc = dns_ld.ldns_pkt_get_rcode(reply);
	if (rc != LDNS_RCODE_NOERROR && !(nxdomain_ok && rc == LDNS_RCODE_NXDOMAIN))
		return mc_err_set(err, MC_ERR_INPUT, "nsupdate_server %s refused the %s: "
				  "%s%s", server, what, upd_rcode(rc),
				  rc == LDNS_RCODE_NOTAUTH || rc == LDNS_RCODE_REFUSED
				      ? " (check nsupdate_key and the server's update "
					"policy for this name)"
				      : "");
	if (st != LDNS_STATUS_OK)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "nsupdate_server %s: %s: the reply "
		                  "does not verify: %s",
		                  server, what,
		                  dns_ld.ldns_get_errorstr_by_id(st));
	return 0;
}

/* upd_exchange - TSIG-sign pkt when signed_pkt, send it, verify the reply's
 * TSIG; ldns_send keeps the reply even when its TSIG fails, so the RCODE
 * (NOTAUTH for a wrong key) can be told. */
static ldns_status
upd_exchange(ldns_resolver *res, ldns_pkt *pkt, bool signed_pkt, ldns_pkt **reply)
{
	ldns_status st;

	*reply = NULL;
	dns_ld.ldns_pkt_set_random_id(pkt);
	if (signed_pkt) {
		st = dns_ld.ldns_update_pkt_tsig_add(pkt, res);
		if (st != LDNS_STATUS_OK)
			return st;
	}
	return dns_ld.ldns_send(reply, res, pkt);
}

/* upd_ask_soa - ask the server for the SOA of name; the reply in *out. */
static int
upd_ask_soa(ldns_resolver *res, bool signed_pkt, const char *server,
	    const char *name, ldns_pkt **out, struct mc_err *err)
{
	ldns_rdf *qname = dns_ld.ldns_dname_new_frm_str(name);
	ldns_pkt *q;
	ldns_status st;

	if (qname == NULL)
		return mc_err_set(err, MC_ERR_INPUT, "\"%.100s\" is not a DNS name", name);
	q = dns_ld.ldns_pkt_query_new(qname, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN,
	                              0);
	if (q == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	st = upd_exchange(res, q, signed_pkt, out);
	dns_ld.ldns_pkt_free(q);
	if (upd_reply_check(*out, st, server, "SOA query", true, err) == -1) {
		dns_ld.ldns_pkt_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* upd_zone - the zone holding name and its SOA TTL, asked of the server. */
static int
upd_zone(ldns_resolver *res, bool signed_pkt, const char *server,
	 const char *name, ldns_rdf **zone, long *ttl, struct mc_err *err)
{
	ldns_pkt *pkt = NULL;
	const ldns_rr *soa;
	char *apex = NULL;
	int rc = -1;

	if (upd_ask_soa(res, signed_pkt, server, name, &pkt, err) == -1)
		return -1;
	soa = upd_soa(pkt);
	if (soa == NULL || !dns_ld.ldns_pkt_aa(pkt)) {
		mc_err_set(err, MC_ERR_INPUT,
		           "nsupdate_server %s is not authoritative "
		           "for %s (%s, no SOA); point nsupdate_server at the "
		           "zone's primary",
		           server, name,
		           upd_rcode(dns_ld.ldns_pkt_get_rcode(pkt)));
		goto out;
	}
	apex = dns_ld.ldns_rdf2str(dns_ld.ldns_rr_owner(soa));
	dns_ld.ldns_pkt_free(pkt);
	pkt = NULL;
	if (apex == NULL ||
	    upd_ask_soa(res, signed_pkt, server, apex, &pkt, err) == -1)
		goto out;
	soa = upd_soa(pkt);
	*ttl = soa != NULL ? (long)dns_ld.ldns_rr_ttl(soa) : 300;
	if (*ttl > UPDATE_TTL_MAX)
		*ttl = UPDATE_TTL_MAX;
	*zone = dns_ld.ldns_dname_new_frm_str(apex);
	rc = *zone != NULL ? 0 : mc_err_set(err, MC_ERR_SYS, "out of memory");
out:
	free(apex);
	dns_ld.ldns_pkt_free(pkt);
	return rc;
}

/* upd_rr - the update record: add (IN, ttl) or delete this one (NONE, 0). */
static ldns_rr *
upd_rr(enum mc_dns_op op, const char *name, const char *type, const char *rdata,
       long ttl, struct mc_err *err)
{
	char text[2048];
	bool txt = strcmp(type, "TXT") == 0;
	ldns_rr *rr = NULL;

	if (strpbrk(rdata, "\"\\;\n()") != NULL || strpbrk(name, " \t\n;\"()") != NULL) {
		mc_err_set(err, MC_ERR_INPUT, "%.100s %s: bad characters in the record",
			   name, type);
		return NULL;
	}
	snprintf(text, sizeof(text), "%s. %ld IN %s %s%s%s", name, ttl, type,
		 txt ? "\"" : "", rdata, txt ? "\"" : "");
	if (dns_ld.ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) !=
	    LDNS_STATUS_OK) {
		mc_err_set(err, MC_ERR_INPUT, "%.100s %s %.100s: not a valid record",
			   name, type, rdata);
		return NULL;
	}
	if (op == MC_DNS_DEL) {
		dns_ld.ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
		dns_ld.ldns_rr_set_ttl(rr, 0);
	}
	return rr;
}

/* upd_send - build, sign, send the update; check the reply. */
static int
upd_send(ldns_resolver *res, const char *server, ldns_rdf *zone, ldns_rr *rr,
	 bool signed_update, struct mc_err *err)
{
	ldns_rr_list *list = dns_ld.ldns_rr_list_new();
	ldns_pkt *pkt = NULL, *reply = NULL;
	ldns_status st;
	int rc = -1;

	if (list == NULL || !dns_ld.ldns_rr_list_push_rr(list, rr)) {
		dns_ld.ldns_rr_free(rr);
		dns_ld.ldns_rdf_deep_free(zone);
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	pkt = dns_ld.ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, NULL, list,
	                                 NULL);
	if (pkt == NULL) {
		mc_err_set(err, MC_ERR_SYS, "ldns: cannot build the update");
		goto out;
	}
	st = upd_exchange(res, pkt, signed_update, &reply);
	rc = upd_reply_check(reply, st, server, "update", false, err);
out:
	dns_ld.ldns_rr_list_deep_free(list);
	dns_ld.ldns_pkt_free(pkt);
	dns_ld.ldns_pkt_free(reply);
	return rc;
}

/* mc_dns_update - add or delete one record through RFC 2136. */
int
mc_dns_update(const struct mc_dns_update_conf *conf, enum mc_dns_op op,
	      const char *name, const char *type, const char *rdata,
	      struct mc_err *err)
{
	struct tsig_key key = { "", "", NULL };
	ldns_resolver *res = NULL;
	ldns_rdf *zone = NULL;
	ldns_rr *rr;
	long ttl = 0;
	int rc = -1;

	if (dns_ld_load(err) == -1 ||
	    (conf->keyfile != NULL && key_load(conf->keyfile, &key, err) == -1))
		goto out;
	res = upd_resolver(conf, conf->keyfile ? &key : NULL, err);
	if (res == NULL || upd_zone(res, conf->keyfile != NULL, conf->server, name,
				    &zone, &ttl, err) == -1)
		goto out;
	rr = upd_rr(op, name, type, rdata, ttl, err);
	if (rr == NULL) {
		dns_ld.ldns_rdf_deep_free(zone);
		goto out;
	}
	mc_log_info("nsupdate %s: %s %s %s %s", conf->server,
		    op == MC_DNS_ADD ? "add" : "delete", name, type, rdata);
	rc = upd_send(res, conf->server, zone, rr, conf->keyfile != NULL, err);
out:
	if (rc == -1)
		mc_err_prefix(err, "%s %s %s", op == MC_DNS_ADD ? "add" : "delete",
			      name, type);
	key_clear(&key);
	upd_resolver_free(res);
	return rc;
}
