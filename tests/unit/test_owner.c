/*
 * test_owner.c - which target's daemon serves a verify endpoint
 * (deploy/owner.c): the /proc/net/tcp line parser, and the whole lookup
 * against a real listening socket held by this process, and the count of
 * a process's listening sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "deploy/owner_int.h"

/* test_parse_line - LISTEN state, port, exact address or wildcard. */
static void
test_parse_line(void **state)
{
	static const struct {
		const char *label, *line, *want;
		unsigned port;
		bool match;
		unsigned long inode;
	} cases[] = {
		{"listener on the address",
		 "   0: 0100007F:0019 00000000:0000 0A 00000000:00000000 "
		 "00:00000000 00000000     0        0 4711 1 0000 100 0 0 10 0",
		 "0100007F", 25, true, 4711},
		{"wildcard listener",
		 "   1: 00000000:0019 00000000:0000 0A 00000000:00000000 "
		 "00:00000000 00000000     0        0 4712 1 0000 100 0 0 10 0",
		 "0100007F", 25, true, 4712},
		{"lower-case hex",
		 "   1: 0100007f:01d1 00000000:0000 0A 00000000:00000000 "
		 "00:00000000 00000000     0        0 9 1 0000 100 0 0 10 0",
		 "0100007F", 465, true, 9},
		{"IPv6 wildcard",
		 "   0: 00000000000000000000000000000000:03E1 "
		 "00000000000000000000000000000000:0000 0A 00000000:00000000 "
		 "00:00000000 00000000     0        0 77 1 0000 100 0 0 10 0",
		 "0000000000000000FFFF00000100007F", 993, true, 77},
		{"established, not listening",
		 "   2: 0100007F:0019 0100007F:C350 01 00000000:00000000 "
		 "00:00000000 00000000     0        0 4713 1 0000 20 4 30 10 -1",
		 "0100007F", 25, false, 0},
		{"another port",
		 "   3: 0100007F:0024 00000000:0000 0A 00000000:00000000 "
		 "00:00000000 00000000     0        0 4714 1 0000 100 0 0 10 0",
		 "0100007F", 25, false, 0},
		{"another address",
		 "   4: 0200007F:0019 00000000:0000 0A 00000000:00000000 "
		 "00:00000000 00000000     0        0 4715 1 0000 100 0 0 10 0",
		 "0100007F", 25, false, 0},
		{"the header line",
		 "  sl  local_address rem_address   st tx_queue rx_queue tr "
		 "tm->when retrnsmt   uid  timeout inode",
		 "0100007F", 25, false, 0},
		{"inode 0 (a socket in TIME_WAIT shape)",
		 "   5: 0100007F:0019 00000000:0000 0A 00000000:00000000 "
		 "00:00000000 00000000     0        0 0 1 0000 100 0 0 10 0",
		 "0100007F", 25, false, 0},
		{"truncated line", "   6: 0100007F:0019 00000000:0000 0A",
		 "0100007F", 25, false, 0},
		{"empty", "", "0100007F", 25, false, 0},
	};
	unsigned long inode;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].label);
		inode = 0;
		assert_int_equal(owner_parse_line(cases[i].line, cases[i].want,
						  cases[i].port, &inode),
				 cases[i].match);
		assert_int_equal(inode, cases[i].inode);
	}
}

/* test_hex - addresses as the kernel prints them (host-order words). */
static void
test_hex(void **state)
{
	unsigned char v4[4] = {127, 0, 0, 1};
	uint32_t w;
	char buf[40], want[16];

	(void)state;
	owner_hex(v4, 4, buf, sizeof(buf));
	memcpy(&w, v4, 4);
	snprintf(want, sizeof(want), "%08X", (unsigned)w);
	assert_string_equal(buf, want);
	assert_int_equal(strlen(buf), 8);
}

/* listen_local - a TCP listener on 127.0.0.1 (port into *port). */
static int
listen_local(unsigned *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* listen_local6 - a TCP listener on [::1], or -1 on a host without an
 * IPv6 loopback. */
static int
listen_local6(void)
{
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa6, sizeof(sa6)) == 0) {
		assert_int_equal(listen(fd, 1), 0);
		return fd;
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

/* test_skip - the process that holds the listener owns the endpoint; an
 * endpoint nothing listens on goes by its protocol. */
static void
test_skip(void **state)
{
	struct owner_daemon d[2] = {
		{"postfix", MC_TARGET_POSTFIX, 0, true, "not yet configured"},
		{"exim", MC_TARGET_EXIM, 0, false, ""},
	};
	struct mc_endpoint ep = {.scheme = MC_SCHEME_SMTP, .host = "127.0.0.1",
				 .host_is_ip = true};
	unsigned port;
	int fd = listen_local(&port);

	(void)state;
	ep.port = (unsigned short)port;
	print_message("case: this process (postfix, left out) listens\n");
	d[0].pid = (long)getpid();
	d[1].pid = 1;
	assert_ptr_equal(owner_skip(&ep, d, 2), &d[0]);
	print_message("case: this process (exim, checked) listens\n");
	d[0].pid = 1;
	d[1].pid = (long)getpid();
	assert_null(owner_skip(&ep, d, 2));
	print_message("case: a listener of none of them (running)\n");
	d[1].pid = 1;
	if (getppid() > 1)
		d[0].pid = (long)getppid();
	assert_null(owner_skip(&ep, d, 2));
	print_message("case: a listener, postfix down, exim unknown: not "
		      "postfix's\n");
	d[0].pid = 0;
	d[1].pid = -1;
	assert_null(owner_skip(&ep, d, 2));
	print_message("case: a listener, postfix unknown and left out: "
		      "postfix's\n");
	d[0].pid = -1;
	d[1].pid = 1;
	assert_ptr_equal(owner_skip(&ep, d, 2), &d[0]);
	close(fd);
	print_message("case: nothing listens, postfix down: postfix's\n");
	d[0].pid = 0;
	assert_ptr_equal(owner_skip(&ep, d, 2), &d[0]);
	print_message("case: nothing listens, postfix runs, exim checked\n");
	d[0].pid = 1;
	assert_null(owner_skip(&ep, d, 2));
	print_message("case: nothing listens, both left out\n");
	d[1].skip = true;
	assert_ptr_equal(owner_skip(&ep, d, 2), &d[0]);
	print_message("case: imaps is no daemon's here\n");
	ep.scheme = MC_SCHEME_IMAPS;
	assert_null(owner_skip(&ep, d, 2));
}

/* test_listen_count - the listening sockets this process holds: one
 * more while a listener is open (IPv4 and IPv6 both read), none for a
 * connected socket; -1 for a process that is gone. */
static void
test_listen_count(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	unsigned port;
	int before, fd, fd6, cli;

	(void)state;
	before = owner_listen_count((long)getpid());
	assert_true(before >= 0);
	fd = listen_local(&port);
	assert_int_equal(owner_listen_count((long)getpid()), before + 1);
	print_message("case: a client socket is no listener\n");
	cli = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)port);
	assert_int_equal(connect(cli, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(owner_listen_count((long)getpid()), before + 1);
	print_message("case: an IPv6 listener (/proc/net/tcp6)\n");
	fd6 = listen_local6();
	if (fd6 >= 0) {
		assert_int_equal(owner_listen_count((long)getpid()),
				 before + 2);
		close(fd6);
	} else {
		print_message("no IPv6 loopback here: IPv4 only\n");
	}
	close(cli);
	close(fd);
	assert_int_equal(owner_listen_count((long)getpid()), before);
	print_message("case: no such process\n");
	assert_int_equal(owner_listen_count(0x7ffffffeL), -1);
}

/* copy_table - the socket table src (a /proc/net file; none: an empty
 * file) into the new file dst, after the line prefix. */
static void
copy_table(const char *src, const char *dst, const char *prefix)
{
	FILE *in = fopen(src, "re"), *out = fopen(dst, "we");
	char buf[4096];
	size_t n;

	assert_non_null(out);
	assert_true(fputs(prefix, out) >= 0);
	while (in != NULL && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	if (in != NULL)
		fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* test_listen_files - the count from tables that exist or not: a host
 * without IPv6 has no /proc/net/tcp6 (its listeners are all in tcp),
 * only neither file is an error; a line that does not parse is passed
 * over, the lines after it are read. Snapshots of this process's own
 * tables while it holds one IPv4 (and one IPv6) listener; the sockets a
 * table names count only while the process holds them. */
static void
test_listen_files(void **state)
{
	char dir[] = "/tmp/test_owner.XXXXXX", t4[64], t6[64], junk[64],
	     empty[64], none[64];
	long me = (long)getpid();
	int before4, before6, fd, fd6, has6;
	unsigned port;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(t4, sizeof(t4), "%s/tcp", dir);
	snprintf(t6, sizeof(t6), "%s/tcp6", dir);
	snprintf(junk, sizeof(junk), "%s/junk", dir);
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	snprintf(none, sizeof(none), "%s/none", dir);
	copy_table(none, empty, "");
	before4 = owner_listen_count_in(me, "/proc/net/tcp", empty);
	before6 = owner_listen_count_in(me, empty, "/proc/net/tcp6");
	assert_true(before4 >= 0);
	assert_true(before6 >= 0);
	fd = listen_local(&port);
	fd6 = listen_local6();
	has6 = fd6 >= 0;
	copy_table("/proc/net/tcp", t4, "");
	copy_table("/proc/net/tcp6", t6, "");
	copy_table("/proc/net/tcp", junk,
		   "not a socket line\n   9: 0100007F:0019 00000000:0000 0A\n");
	print_message("case: both tables\n");
	assert_int_equal(owner_listen_count_in(me, t4, t6),
			 before4 + before6 + 1 + has6);
	print_message("case: no tcp6 (a host without IPv6)\n");
	assert_int_equal(owner_listen_count_in(me, t4, none), before4 + 1);
	print_message("case: no tcp, tcp6 read\n");
	assert_int_equal(owner_listen_count_in(me, none, t6), before6 + has6);
	print_message("case: neither table\n");
	assert_int_equal(owner_listen_count_in(me, none, none), -1);
	print_message("case: tables without a listener\n");
	assert_int_equal(owner_listen_count_in(me, empty, empty), 0);
	print_message("case: lines that do not parse, then the table\n");
	assert_int_equal(owner_listen_count_in(me, junk, none), before4 + 1);
	if (fd6 >= 0)
		close(fd6);
	close(fd);
	print_message("case: the listeners closed: none of the tables\n");
	assert_int_equal(owner_listen_count_in(me, t4, t6),
			 before4 + before6);
	assert_int_equal(unlink(t4), 0);
	assert_int_equal(unlink(t6), 0);
	assert_int_equal(unlink(junk), 0);
	assert_int_equal(unlink(empty), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_listen_count),
		cmocka_unit_test(test_listen_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
