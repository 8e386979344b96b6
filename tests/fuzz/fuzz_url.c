/*
 * fuzz_url.c - the one parser of endpoint URLs and of listen addresses
 * (core/addr.c) on arbitrary text; a URL that parses must parse again,
 * from its canonical form, to the same endpoint.
 */
#include "mailcert/addr.h"
#include "tests/fuzz/fuzz.h"

/* LLVMFuzzerTestOneInput - parse data both ways. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_endpoint ep, again;
	struct mc_listen_addr la;
	struct mc_err err;
	char *s = fuzz_str(data, size);

	if (s == NULL)
		return 0;
	if (mc_addr_endpoint_parse(s, &ep, &err) == 0) {
		if (mc_addr_endpoint_parse(ep.url, &again, &err) != 0 ||
		    again.scheme != ep.scheme || again.port != ep.port ||
		    strcmp(again.host, ep.host) != 0 ||
		    strcmp(again.url, ep.url) != 0)
			abort(); /* the canonical form must round-trip */
	}
	(void)mc_addr_listen_parse(s, &la, &err);
	free(s);
	return 0;
}
