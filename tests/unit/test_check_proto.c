/*
 * test_check_proto.c - mc_check_protocols() against real TLS servers.
 *
 * The servers are real: `openssl s_server` (TLS 1.0 only, TLS 1.1 only,
 * modern, anonymous and NULL suites at security level 0) and GnuTLS's
 * `gnutls-serv` (3DES and RC4, which Debian's OpenSSL cannot serve).
 * gnutls-serv has no listen-address option and binds every interface, so
 * the whole test runs in a fresh network namespace (unshare(CLONE_NEWNET),
 * needs root) where the only interface is lo, brought up here; servers
 * and probes all use 127.0.0.1 inside it. Without root the OpenSSL rows
 * run on the host's loopback and the GnuTLS rows are skipped.
 * Nothing in Debian serves SSLv3: the SSLv3 probe's "not accepted" path
 * runs against every server here; its "accepted" path is covered by
 * test_hello.c on byte tables.
 * Failure rows: a closed port, a server that never answers, and an SMTP
 * stand-in that refuses STARTTLS with 454 (a small forked process).
 * The questions run in parallel, at most CHECK_PER_SERVER connections at
 * once: a stand-in listener that holds every connection a while counts
 * how many it holds at once (no real server reports that); and every
 * row's findings must come in the order of the questions.
 * Every process started is stopped by its PID.
 */
#define _GNU_SOURCE /* unshare, CLONE_NEWNET */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/pem.h>

#include "mailcert/check.h"
#include "tests/unit/certgen.h"
#include "verify/check_int.h"

extern char **environ;

enum srv_kind { SRV_OPENSSL, SRV_GNUTLS, SRV_CLOSED, SRV_SILENT, SRV_SMTP454 };

struct want {
	const char *code;
	enum mc_severity sev;
	bool not_tested;
	const char *frag;
};

struct server_case {
	const char *label;
	enum srv_kind kind;
	const char *args[8]; /* server options after cert and port */
	int timeout_ms;
	int nfindings;       /* exact count, or -1: only the wants */
	struct want want[4];
	const char *forbid;  /* no finding may contain this */
};

static const struct server_case openssl_cases[] = {
    {"modern s_server (TLS 1.2 + 1.3): no finding", SRV_OPENSSL, {NULL},
     3000, 0, {{NULL, 0, false, NULL}}, NULL},
    {"s_server -tls1: TLS 1.0 accepted, no 1.2/1.3", SRV_OPENSSL,
     {"-tls1", "-cipher", "ALL:@SECLEVEL=0", NULL}, 3000, -1,
     {{"weak-protocol", MC_SEV_WARNING, false, "TLS 1.0 is accepted"},
      {"weak-protocol", MC_SEV_CRITICAL, false, "Neither TLS 1.2 nor"},
      {NULL, 0, false, NULL}},
     "TLS 1.1 is accepted"},
    {"s_server -tls1_1: TLS 1.1 accepted", SRV_OPENSSL,
     {"-tls1_1", "-cipher", "ALL:@SECLEVEL=0", NULL}, 3000, -1,
     {{"weak-protocol", MC_SEV_WARNING, false, "TLS 1.1 is accepted"},
      {"weak-protocol", MC_SEV_CRITICAL, false, "Neither TLS 1.2 nor"},
      {NULL, 0, false, NULL}},
     "TLS 1.0 is accepted"},
    /* security level 0 on the server also enables TLS 1.0 and 1.1 */
    {"s_server aNULL suites: anonymous accepted", SRV_OPENSSL,
     {"-cipher", "aNULL:@SECLEVEL=0", NULL}, 3000, -1,
     {{"weak-cipher", MC_SEV_WARNING, false,
       "_anon_WITH_AES_128_CBC_SHA is accepted (anonymous): disable "
       "anonymous (aNULL) suites"},
      {"weak-protocol", MC_SEV_WARNING, false, "TLS 1.0 is accepted"},
      {NULL, 0, false, NULL}},
     "Neither TLS 1.2"},
    {"s_server NULL-SHA256: NULL accepted", SRV_OPENSSL,
     {"-cipher", "NULL-SHA256:@SECLEVEL=0", "-no_tls1", "-no_tls1_1",
      NULL},
     3000, 1,
     {{"weak-cipher", MC_SEV_CRITICAL, false,
       "TLS_RSA_WITH_NULL_SHA256 is accepted (NULL): disable NULL"},
      {NULL, 0, false, NULL}},
     NULL},
    {"closed port: both not tested", SRV_CLOSED, {NULL}, 3000, 2,
     {{"weak-protocol", MC_SEV_WARNING, true, "ould not test"},
      {"weak-cipher", MC_SEV_WARNING, true, "ould not test"},
      {NULL, 0, false, NULL}},
     "is accepted"},
    {"silent server: both not tested", SRV_SILENT, {NULL}, 300, 2,
     {{"weak-protocol", MC_SEV_WARNING, true, "no answer"},
      {"weak-cipher", MC_SEV_WARNING, true, "ould not test"},
      {NULL, 0, false, NULL}},
     "is accepted"},
    {"SMTP 454 on STARTTLS: both not tested", SRV_SMTP454, {NULL}, 3000, 2,
     {{"weak-protocol", MC_SEV_WARNING, true, "454 4.7.0"},
      {"weak-cipher", MC_SEV_WARNING, true, "454 4.7.0"},
      {NULL, 0, false, NULL}},
     "is accepted"},
};

static const struct server_case gnutls_cases[] = {
    {"gnutls-serv TLS 1.2+1.3 only: no finding", SRV_GNUTLS,
     {"--priority", "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1", NULL}, 3000, 0,
     {{NULL, 0, false, NULL}}, NULL},
    {"gnutls-serv +3DES-CBC +TLS1.0: 3DES and TLS 1.0", SRV_GNUTLS,
     {"--priority", "NORMAL:+3DES-CBC:+VERS-TLS1.0", NULL}, 3000, -1,
     {{"weak-cipher", MC_SEV_WARNING, false,
       "_WITH_3DES_EDE_CBC_SHA is accepted (3DES)"},
      {"weak-protocol", MC_SEV_WARNING, false, "TLS 1.0 is accepted"},
      {NULL, 0, false, NULL}},
     "RC4_128"},
    /* GnuTLS 3.7's NORMAL still enables TLS 1.0 and 1.1 */
    {"gnutls-serv +ARCFOUR-128: RC4", SRV_GNUTLS,
     {"--priority", "NORMAL:+ARCFOUR-128", NULL}, 3000, 3,
     {{"weak-cipher", MC_SEV_CRITICAL, false,
       "_WITH_RC4_128_SHA is accepted (RC4)"},
      {"weak-protocol", MC_SEV_WARNING, false, "TLS 1.1 is accepted"},
      {"weak-protocol", MC_SEV_WARNING, false, "TLS 1.0 is accepted"},
      {NULL, 0, false, NULL}},
     "3DES_EDE"},
};

static struct {
	char dir[64];
	char cert[96];
	char key[96];
	bool netns;
	long clean_ms; /* time of the modern-server row */
	enum mc_check_profile profile; /* of run_case (default submission) */
	enum mc_server_kind server;    /* the daemon advice is for */
} fx;

/* free_port - a port on 127.0.0.1 that was free a moment ago. */
static unsigned short
free_port(int *keep)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	if (keep != NULL) {
		assert_int_equal(listen(fd, 16), 0);
		*keep = fd;
	} else
		close(fd);
	return ntohs(sa.sin_port);
}

/* wait_listening - until 127.0.0.1:port accepts a connection (5 s). */
static int
wait_listening(unsigned short port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int i, fd, rc;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	for (i = 0; i < 100; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (rc == 0)
			return 0;
		usleep(50000);
	}
	return -1;
}

/* spawn_server - openssl s_server / gnutls-serv on port; its pid. */
static pid_t
spawn_server(const struct server_case *tc, unsigned short port, int stdin_fd)
{
	char accept[32], portstr[8];
	char *argv[24];
	posix_spawn_file_actions_t fa;
	pid_t pid = 0;
	int n = 0, i;

	snprintf(accept, sizeof(accept), "127.0.0.1:%u", port);
	snprintf(portstr, sizeof(portstr), "%u", port);
	argv[n++] = "timeout"; /* ends the server even if this test dies */
	argv[n++] = "120";
	if (tc->kind == SRV_OPENSSL) {
		char *a[] = {"openssl", "s_server", "-quiet", "-accept", accept,
		             "-cert", fx.cert, "-key", fx.key};
		for (i = 0; i < 9; i++)
			argv[n++] = a[i];
	} else {
		char *a[] = {"gnutls-serv", "--port", portstr, "--x509certfile",
		             fx.cert, "--x509keyfile", fx.key, "--quiet"};
		for (i = 0; i < 8; i++)
			argv[n++] = a[i];
	}
	for (i = 0; tc->args[i] != NULL; i++)
		argv[n++] = (char *)tc->args[i];
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "timeout", &fa, NULL, argv, environ) != 0)
		pid = 0;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* fake_line - read one line (2 s) from fd; -1 on close or timeout. */
static int
fake_line(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char ch;

	for (;;) {
		if (poll(&p, 1, 2000) != 1 || read(fd, &ch, 1) != 1)
			return -1;
		if (ch == '\n')
			return 0;
	}
}

/* fake_smtp454 - child: an SMTP stand-in that refuses STARTTLS. */
static void
fake_smtp454(int lfd)
{
	static const char greet[] = "220 fake.test ESMTP\r\n";
	static const char ehlo[] = "250-fake.test\r\n250 STARTTLS\r\n";
	static const char no[] = "454 4.7.0 TLS not available due to local "
	                         "problem\r\n";
	int fd;

	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(0);
		if (write(fd, greet, sizeof(greet) - 1) > 0 &&
		    fake_line(fd) == 0 &&
		    write(fd, ehlo, sizeof(ehlo) - 1) > 0 &&
		    fake_line(fd) == 0 && write(fd, no, sizeof(no) - 1) > 0)
			(void)fake_line(fd);
		close(fd);
	}
}

/* start_case - the server of tc; its pid (0: none) and port. */
static pid_t
start_case(const struct server_case *tc, unsigned short *port, int *lfd,
           int stdin_fd)
{
	pid_t pid = 0;
	int tries;

	*lfd = -1;
	if (tc->kind == SRV_CLOSED) {
		*port = free_port(NULL);
		return 0;
	}
	if (tc->kind == SRV_SILENT || tc->kind == SRV_SMTP454) {
		*port = free_port(lfd);
		if (tc->kind == SRV_SILENT)
			return 0;
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			fake_smtp454(*lfd);
		return pid;
	}
	for (tries = 0; tries < 5; tries++) {
		*port = free_port(NULL);
		pid = spawn_server(tc, *port, stdin_fd);
		assert_true(pid > 0);
		if (wait_listening(*port) == 0)
			return pid;
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	fail_msg("%s: the server did not start", tc->label);
	return 0;
}

/* finding_matches - whether f fits w. */
static bool
finding_matches(const struct mc_finding *f, const struct want *w)
{
	return strcmp(f->code, w->code) == 0 && f->severity == w->sev &&
	       f->not_tested == w->not_tested && strstr(f->text, w->frag);
}

/* question_rank - where a finding comes in the order of the questions
 * (TLS 1.1, 1.0, SSLv3, neither 1.2 nor 1.3, weak suites, then the
 * not-tested notes): the report must follow it whatever the timing. */
static int
question_rank(const struct mc_finding *f)
{
	static const char *const proto[] = {"TLS 1.1 ", "TLS 1.0 ", "SSLv3 ",
	                                    "Neither "};
	size_t i;

	if (f->not_tested)
		return strcmp(f->code, "weak-protocol") == 0 ? 10 : 11;
	if (strcmp(f->code, "weak-cipher") == 0)
		return 5;
	for (i = 0; i < sizeof(proto) / sizeof(proto[0]); i++)
		if (strncmp(f->text, proto[i], strlen(proto[i])) == 0)
			return (int)i + 1;
	return 0;
}

/* check_order - the findings come in question order. */
static void
check_order(const struct server_case *tc, const struct mc_findings *f)
{
	size_t i;

	for (i = 1; i < f->n; i++)
		if (question_rank(&f->v[i]) < question_rank(&f->v[i - 1]))
			fail_msg("%s: finding %zu (%s) out of question order",
			         tc->label, i, f->v[i].text);
}

/* check_findings - compare the findings of tc with its expectations. */
static void
check_findings(const struct server_case *tc, const struct mc_findings *f)
{
	size_t i, j;
	bool found;

	for (i = 0; i < f->n; i++)
		print_message("  %s: %s%s [%s] %s\n", tc->label,
		              f->v[i].not_tested ? "not-tested " : "",
		              f->v[i].code, mc_severity_name(f->v[i].severity),
		              f->v[i].text);
	if (tc->nfindings >= 0 && f->n != (size_t)tc->nfindings)
		fail_msg("%s: %zu findings, want %d", tc->label, f->n,
		         tc->nfindings);
	for (j = 0; tc->want[j].code != NULL; j++) {
		for (found = false, i = 0; i < f->n && !found; i++)
			found = finding_matches(&f->v[i], &tc->want[j]);
		if (!found)
			fail_msg("%s: no %s finding with \"%s\"", tc->label,
			         tc->want[j].code, tc->want[j].frag);
	}
	for (i = 0; tc->forbid != NULL && i < f->n; i++)
		if (strstr(f->v[i].text, tc->forbid) != NULL ||
		    strcmp(f->v[i].code, tc->forbid) == 0)
			fail_msg("%s: unexpected finding: %s", tc->label,
			         f->v[i].text);
	check_order(tc, f);
}

/* run_case - start the server, check it, stop it (by pid). */
static void
run_case(const struct server_case *tc)
{
	struct mc_check_opts opts = {.warn_days = -1, .crit_days = -1,
	                             .profile = fx.profile,
	                             .server = fx.server};
	struct mc_findings f = {0};
	struct mc_endpoint ep;
	struct mc_err err;
	struct timespec t0, t1;
	unsigned short port;
	char url[64];
	int lfd, pipefd[2], rc;
	pid_t pid;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0); /* stdin: never EOF */
	pid = start_case(tc, &port, &lfd, pipefd[0]);
	snprintf(url, sizeof(url), "%s://127.0.0.1:%u",
	         tc->kind == SRV_SMTP454 ? "smtp" : "tls", port);
	assert_int_equal(mc_addr_endpoint_parse(url, &ep, &err), 0);
	opts.timeout_ms = tc->timeout_ms;
	opts.now = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = mc_check_protocols(&ep, &opts, &f, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	if (lfd != -1)
		close(lfd);
	close(pipefd[0]);
	close(pipefd[1]);
	print_message("%s: %ld ms\n", tc->label,
	              (t1.tv_sec - t0.tv_sec) * 1000 +
	                  (t1.tv_nsec - t0.tv_nsec) / 1000000);
	if (tc->kind == SRV_OPENSSL && tc->args[0] == NULL)
		fx.clean_ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		              (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (rc != 0)
		fail_msg("%s: %s", tc->label, err.msg);
	check_findings(tc, &f);
	mc_findings_clear(&f);
}

/* test_openssl_servers - the openssl s_server and stand-in rows. */
static void
test_openssl_servers(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(openssl_cases) / sizeof(openssl_cases[0]); i++)
		run_case(&openssl_cases[i]);
	print_message("clean TLS 1.2+1.3 server probed in %ld ms\n",
	              fx.clean_ms);
	assert_true(fx.clean_ms < 1000); /* target: well under 150 ms */
}

/* The same server (TLS 1.0 to 1.3, anonymous suites) judged under each
 * profile, with the advice of the daemon the greeting would name. */
static const struct {
	enum mc_check_profile profile;
	enum mc_server_kind server;
	struct server_case tc;
} profile_cases[] = {
    {MC_PROFILE_MX, MC_SERVER_POSTFIX,
     {"mx, Postfix: warnings that quote Postfix's defaults", SRV_OPENSSL,
      {"-cipher", "aNULL:@SECLEVEL=0", NULL}, 3000, -1,
      {{"weak-cipher", MC_SEV_WARNING, false,
        "very unlikely that you need to exclude anonymous ciphers"},
       {"weak-protocol", MC_SEV_WARNING, false,
        "TLS 1.0 is accepted: Postfix allows it by default"},
       {"weak-protocol", MC_SEV_WARNING, false, "smtpd_tls_protocols = "},
       {NULL, 0, false, NULL}},
      "Dovecot"}},
    {MC_PROFILE_SUBMISSION, MC_SERVER_DOVECOT,
     {"submission, Dovecot: warnings with Dovecot's settings", SRV_OPENSSL,
      {"-cipher", "aNULL:@SECLEVEL=0", NULL}, 3000, -1,
      {{"weak-cipher", MC_SEV_WARNING, false,
        "append :!aNULL to ssl_cipher_list"},
       {"weak-protocol", MC_SEV_WARNING, false,
        "set ssl_min_protocol = TLSv1.2"},
       {NULL, 0, false, NULL}},
      "smtpd_"}},
    {MC_PROFILE_STRICT, MC_SERVER_EXIM,
     {"strict, Exim: every weakness critical", SRV_OPENSSL,
      {"-cipher", "aNULL:@SECLEVEL=0", NULL}, 3000, -1,
      {{"weak-cipher", MC_SEV_CRITICAL, false,
        "tls_require_ciphers = NORMAL:-ANON-DH:-ANON-ECDH"},
       {"weak-protocol", MC_SEV_CRITICAL, false, "+no_tlsv1_1"},
       {NULL, 0, false, NULL}},
      "Postfix"}},
    {MC_PROFILE_MX, MC_SERVER_UNKNOWN,
     {"mx, unknown daemon: no parameter lists", SRV_OPENSSL,
      {"-cipher", "aNULL:@SECLEVEL=0", NULL}, 3000, -1,
      {{"weak-protocol", MC_SEV_WARNING, false,
        "On port 25 TLS is opportunistic (RFC 7435)"},
       {NULL, 0, false, NULL}},
      "smtpd_"}},
    {MC_PROFILE_MX, MC_SERVER_POSTFIX,
     {"mx: NULL stays critical", SRV_OPENSSL,
      {"-cipher", "NULL-SHA256:@SECLEVEL=0", "-no_tls1", "-no_tls1_1",
       NULL},
      3000, 1,
      {{"weak-cipher", MC_SEV_CRITICAL, false,
        "add eNULL to smtpd_tls_exclude_ciphers"},
       {NULL, 0, false, NULL}},
      NULL}},
};

/* test_profiles - severities and advice per profile and daemon. */
static void
test_profiles(void **state)
{
	size_t i;

	(void)state;
	/* aNULL also brings ECDH_anon_WITH_NULL_SHA: counts are open */
	for (i = 0; i < sizeof(profile_cases) / sizeof(profile_cases[0]);
	     i++) {
		fx.profile = profile_cases[i].profile;
		fx.server = profile_cases[i].server;
		run_case(&profile_cases[i].tc);
	}
	fx.profile = MC_PROFILE_SUBMISSION;
	fx.server = MC_SERVER_UNKNOWN;
}

/* test_gnutls_servers - 3DES and RC4 via gnutls-serv (needs the netns). */
static void
test_gnutls_servers(void **state)
{
	size_t i;

	(void)state;
	if (!fx.netns || access("/usr/bin/gnutls-serv", X_OK) != 0) {
		print_message("no network namespace (not root?) or no "
		              "gnutls-serv: the GnuTLS rows are skipped\n");
		skip();
	}
	for (i = 0; i < sizeof(gnutls_cases) / sizeof(gnutls_cases[0]); i++)
		run_case(&gnutls_cases[i]);
}

/* The counting stand-in: accepts, holds each connection HOLD_MS (no
 * reply), closes it; counts the connections it holds at once. */
#define HOLD_MS 200
#define HOLD_MAX 64

struct holder {
	int lfd;
	atomic_bool stop;
	int peak, total; /* read after the join */
};

/* now_ms - CLOCK_MONOTONIC in ms. */
static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* holder_main - the stand-in's loop (thread). */
static void *
holder_main(void *arg)
{
	struct holder *h = arg;
	struct pollfd p = {.fd = h->lfd, .events = POLLIN};
	long long at[HOLD_MAX];
	int fds[HOLD_MAX], n = 0, i, fd;

	while (!atomic_load(&h->stop) || n > 0) {
		for (i = 0; i < n;)
			if (now_ms() - at[i] >= HOLD_MS) {
				close(fds[i]);
				fds[i] = fds[--n];
				at[i] = at[n];
			} else
				i++;
		if (poll(&p, 1, 5) != 1)
			continue;
		fd = accept(h->lfd, NULL, NULL);
		if (fd < 0 || n == HOLD_MAX) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		fds[n] = fd;
		at[n++] = now_ms();
		h->total++;
		h->peak = n > h->peak ? n : h->peak;
	}
	return NULL;
}

/* test_parallel_bounded - the questions overlap, never more than
 * CHECK_PER_SERVER connections at once, and the answers (every server
 * hangs up) are reported in order. */
static void
test_parallel_bounded(void **state)
{
	struct mc_check_opts opts = {.warn_days = -1, .crit_days = -1,
	                             .timeout_ms = 3000};
	struct server_case tc = {.label = "hang-up stand-in", .nfindings = -1};
	struct mc_findings f = {0};
	struct holder h = {.lfd = -1};
	struct mc_endpoint ep;
	struct mc_err err;
	pthread_t th;
	char url[64];
	int rc;

	(void)state;
	snprintf(url, sizeof(url), "tls://127.0.0.1:%u", free_port(&h.lfd));
	atomic_init(&h.stop, false);
	assert_int_equal(mc_addr_endpoint_parse(url, &ep, &err), 0);
	assert_int_equal(pthread_create(&th, NULL, holder_main, &h), 0);
	opts.now = time(NULL);
	rc = mc_check_protocols(&ep, &opts, &f, &err);
	atomic_store(&h.stop, true);
	pthread_join(th, NULL);
	close(h.lfd);
	print_message("%d connections, at most %d at once\n", h.total,
	              h.peak);
	if (rc != 0)
		fail_msg("%s", err.msg);
	check_findings(&tc, &f);
	mc_findings_clear(&f);
	assert_true(h.total >= 6); /* every question was asked */
	if (h.peak < 2)
		fail_msg("the questions ran one after the other");
	if (h.peak > CHECK_PER_SERVER)
		fail_msg("%d connections at once, at most %d allowed", h.peak,
		         CHECK_PER_SERVER);
}

/* lo_up - bring up lo in this (new) network namespace. */
static int
lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* write_pem - a certificate or a key into path. */
static void
write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	if (cert != NULL)
		assert_true(PEM_write_X509(fp, cert));
	else
		assert_true(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL,
		                                 NULL));
	fclose(fp);
}

/* setup - namespace, RSA key and self-signed certificate files. */
static int
setup(void **state)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *cert;

	(void)state;
	fx.profile = MC_PROFILE_SUBMISSION;
	fx.netns = unshare(CLONE_NEWNET) == 0 && lo_up() == 0;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/mc-check-proto.XXXXXX");
	if (key == NULL || mkdtemp(fx.dir) == NULL)
		return -1;
	cert = cg_make("mail.test", key, NULL, NULL, "DNS:mail.test", -60,
	               86400, 7);
	snprintf(fx.cert, sizeof(fx.cert), "%s/cert.pem", fx.dir);
	snprintf(fx.key, sizeof(fx.key), "%s/key.pem", fx.dir);
	write_pem(fx.cert, cert, NULL);
	write_pem(fx.key, NULL, key);
	X509_free(cert);
	EVP_PKEY_free(key);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* teardown - remove the files. */
static int
teardown(void **state)
{
	(void)state;
	unlink(fx.cert);
	unlink(fx.key);
	rmdir(fx.dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_openssl_servers),
	    cmocka_unit_test(test_profiles),
	    cmocka_unit_test(test_gnutls_servers),
	    cmocka_unit_test(test_parallel_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
