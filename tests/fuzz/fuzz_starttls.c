/*
 * fuzz_starttls.c - the STARTTLS dialogs (verify/starttls.c) and the line
 * reader under them (verify/conn.c) against an arbitrary server: the
 * first byte picks SMTP, submission, IMAP, POP3 or ManageSieve, the rest
 * is everything the "server" says, written into a socketpair whose far end
 * then closes. Whatever mailcert sends lands unread in the far end.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mailcert/log.h"
#include "mailcert/time.h"
#include "tests/fuzz/fuzz.h"
#include "verify/verify_int.h"

/* LLVMFuzzerInitialize - no SIGPIPE, errors only. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	mc_log_init(MC_LOG_STDERR, MC_LOG_ERROR, "fuzz");
	return 0;
}

/* fuzz_feed - write all of data into fd (a socketpair end); 0 or -1. */
static int
fuzz_feed(int fd, const uint8_t *data, size_t size)
{
	ssize_t n;

	while (size > 0) {
		n = write(fd, data, size);
		if (n <= 0)
			return -1;
		data += n;
		size -= (size_t)n;
	}
	return 0;
}

/* LLVMFuzzerTestOneInput - one dialog against data. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum mc_scheme schemes[] = {
	    MC_SCHEME_SMTP, MC_SCHEME_SUBMISSION, MC_SCHEME_IMAP,
	    MC_SCHEME_POP3, MC_SCHEME_SIEVE};
	struct mc_probe_result res;
	struct mc_probe_opts opts;
	struct mc_endpoint ep;
	struct verify_conn c;
	int sv[2];

	if (size < 1 || size > 64 * 1024)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	if (fuzz_feed(sv[1], data + 1, size - 1) == -1)
		abort();
	shutdown(sv[1], SHUT_WR); /* the server has said all it will say */
	memset(&res, 0, sizeof(res));
	memset(&c, 0, sizeof(c));
	c.fd = sv[0];
	c.deadline = mc_now_ms() + 2000;
	c.io_timeout_ms = 200;
	c.stage = "fuzz";
	c.res = &res;
	memset(&ep, 0, sizeof(ep));
	ep.scheme = schemes[data[0] % 5];
	snprintf(ep.host, sizeof(ep.host), "fuzz.example");
	mc_probe_opts_init(&opts);
	opts.ehlo_name = "fuzz.example";
	opts.greeting_timeout_ms = 200;
	if (verify_starttls(&c, &ep, &opts) == -1 &&
	    res.reason[0] == '\0')
		abort(); /* a failed dialog must say why */
	close(sv[0]);
	close(sv[1]);
	return 0;
}
