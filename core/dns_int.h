/*
 * dns_int.h - libunbound and libldns for core/dns.c (validated lookups)
 * and core/nsupdate.c (RFC 2136), loaded on first use by core/dns_lib.c
 * (see mailcert/dl.h): a run that resolves nothing does not load them.
 * Call through the tables, e.g. dns_ub.ub_resolve_async(...) and
 * dns_ld.ldns_pkt_free(...), after dns_ub_load() / dns_ld_load().
 */
#ifndef MAILCERT_CORE_DNS_INT_H
#define MAILCERT_CORE_DNS_INT_H

#include <ldns/ldns.h>
#include <unbound.h>

#include "mailcert/dl.h"
#include "mailcert/err.h"

/* the functions of libunbound that mailcert calls */
#define DNS_UB_FUNCS(X)                                                        \
	X(ub_ctx_create)                                                       \
	X(ub_ctx_delete)                                                       \
	X(ub_ctx_set_fwd)                                                      \
	X(ub_ctx_resolvconf)                                                   \
	X(ub_ctx_set_option)                                                   \
	X(ub_ctx_async)                                                        \
	X(ub_ctx_add_ta_file)                                                  \
	X(ub_resolve_async)                                                    \
	X(ub_cancel)                                                           \
	X(ub_fd)                                                               \
	X(ub_process)                                                          \
	X(ub_resolve_free)                                                     \
	X(ub_strerror)

/* the functions (and one table, ldns_rcodes) of libldns that mailcert uses */
#define DNS_LD_FUNCS(X)                                                        \
	X(ldns_rcodes)                                                         \
	X(ldns_lookup_by_id)                                                   \
	X(ldns_get_errorstr_by_id)                                             \
	X(ldns_wire2pkt)                                                       \
	X(ldns_pkt_query_new)                                                  \
	X(ldns_pkt_set_random_id)                                              \
	X(ldns_pkt_aa)                                                         \
	X(ldns_pkt_get_rcode)                                                  \
	X(ldns_pkt_answer)                                                     \
	X(ldns_pkt_authority)                                                  \
	X(ldns_pkt_free)                                                       \
	X(ldns_update_pkt_new)                                                 \
	X(ldns_update_pkt_tsig_add)                                            \
	X(ldns_send)                                                           \
	X(ldns_dname_new_frm_str)                                              \
	X(ldns_rdf_new_frm_str)                                                \
	X(ldns_rdf2native_int32)                                               \
	X(ldns_rdf2rr_type)                                                    \
	X(ldns_rdf2str)                                                        \
	X(ldns_rdf_deep_free)                                                  \
	X(ldns_rr_new_frm_str)                                                 \
	X(ldns_rr_free)                                                        \
	X(ldns_rr_get_type)                                                    \
	X(ldns_rr_owner)                                                       \
	X(ldns_rr_ttl)                                                         \
	X(ldns_rr_set_class)                                                   \
	X(ldns_rr_set_ttl)                                                     \
	X(ldns_rr_rrsig_typecovered)                                           \
	X(ldns_rr_rrsig_origttl)                                               \
	X(ldns_rr_list_new)                                                    \
	X(ldns_rr_list_push_rr)                                                \
	X(ldns_rr_list_rr)                                                     \
	X(ldns_rr_list_rr_count)                                               \
	X(ldns_rr_list_deep_free)                                              \
	X(ldns_resolver_new)                                                   \
	X(ldns_resolver_deep_free)                                             \
	X(ldns_resolver_push_nameserver)                                       \
	X(ldns_resolver_set_port)                                              \
	X(ldns_resolver_set_usevc)                                             \
	X(ldns_resolver_set_recursive)                                         \
	X(ldns_resolver_set_timeout)                                           \
	X(ldns_resolver_set_retry)                                             \
	X(ldns_resolver_set_tsig_keyname)                                      \
	X(ldns_resolver_set_tsig_algorithm)                                    \
	X(ldns_resolver_set_tsig_keydata)                                      \
	X(ldns_resolver_tsig_keydata)

struct dns_ub_fn {
	DNS_UB_FUNCS(MC_DL_FIELD)
};
struct dns_ld_fn {
	DNS_LD_FUNCS(MC_DL_FIELD)
};

/* filled by dns_ub_load() and dns_ld_load(); read-only afterwards */
extern struct dns_ub_fn dns_ub;
extern struct dns_ld_fn dns_ld;

/* dns_ub_load - load libunbound into dns_ub once (thread-safe); 0 or -1
 * (MC_ERR_SYS naming the library and its package). */
int dns_ub_load(struct mc_err *err);

/* dns_ld_load - load libldns into dns_ld once, like dns_ub_load. */
int dns_ld_load(struct mc_err *err);

#endif
