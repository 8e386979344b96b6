/*
 * daemon_int.h - shared by deploy/daemon_conf.c and deploy/daemon_judge.c.
 */
#ifndef MAILCERT_DAEMON_INT_H
#define MAILCERT_DAEMON_INT_H

#include "mailcert/daemon.h"

/* daemon_conf_read_lname - Dovecot's settings inside local_name lname
 * (doveconf -f lname=NAME for 2.3, -f local_name=NAME for 2.4). */
int daemon_conf_read_lname(const struct mc_target *t, const char *lname,
			   int version, struct mc_daemon_conf *out,
			   struct mc_err *err);

#endif
