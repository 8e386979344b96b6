/*
 * dns_lib.c - libunbound and libldns, loaded on first use (see
 * core/dns_int.h and mailcert/dl.h).
 */
#include "core/dns_int.h"

#define DNS_UB_SONAME "libunbound.so.8"
#define DNS_LD_SONAME "libldns.so.3"

#define DNS_UB_ADDR(f) &dns_ub.f,
#define DNS_LD_ADDR(f) &dns_ld.f,

struct dns_ub_fn dns_ub;
struct dns_ld_fn dns_ld;

static const char *const dns_ub_names[] = {DNS_UB_FUNCS(MC_DL_NAME)};
static void *const dns_ub_slots[] = {DNS_UB_FUNCS(DNS_UB_ADDR)};
static struct mc_dl dns_ub_dl =
    MC_DL_INIT(DNS_UB_SONAME, "libunbound8", dns_ub_names, dns_ub_slots);

static const char *const dns_ld_names[] = {DNS_LD_FUNCS(MC_DL_NAME)};
static void *const dns_ld_slots[] = {DNS_LD_FUNCS(DNS_LD_ADDR)};
static struct mc_dl dns_ld_dl =
    MC_DL_INIT(DNS_LD_SONAME, "libldns3", dns_ld_names, dns_ld_slots);

/* dns_ub_load - load libunbound into dns_ub once. */
int
dns_ub_load(struct mc_err *err)
{
	return mc_dl_load(&dns_ub_dl, err);
}

/* dns_ld_load - load libldns into dns_ld once. */
int
dns_ld_load(struct mc_err *err)
{
	return mc_dl_load(&dns_ld_dl, err);
}
