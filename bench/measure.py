#!/usr/bin/env python3
"""measure.py - run one command, print "WALL_MS CPU_MS RSS_KB EXIT".

WALL_MS: from spawn to reap (time.perf_counter); CPU_MS: user + system
time of the command and every descendant it waited for (wait4's rusage,
microsecond resolution, unlike /usr/bin/time's 10 ms; it includes the
/usr/bin/time wrapper below, well under a millisecond: see the baseline
rows); RSS_KB: the peak resident set of the largest of them, from
/usr/bin/time %M - a child forked by this python would count python's
own ~10 MB, so the command is started by /usr/bin/time instead. stdout
and stderr of the command go to the files given (or /dev/null). Used by
bench/issue.sh and bench/renew.sh.

usage: measure.py [--out FILE] [--err FILE] [--timeout S] -- CMD [ARG...]
"""
import os
import signal
import sys
import tempfile
import time


def main(argv):
    out, err, timeout = os.devnull, os.devnull, 0.0
    while argv and argv[0] != "--":
        opt, val = argv[0], argv[1]
        argv = argv[2:]
        if opt == "--out":
            out = val
        elif opt == "--err":
            err = val
        elif opt == "--timeout":
            timeout = float(val)
        else:
            sys.exit("measure.py: unknown option " + opt)
    cmd = argv[1:]
    if not cmd:
        sys.exit("measure.py: no command")
    rss_file = None
    if os.access("/usr/bin/time", os.X_OK):
        fd, rss_file = tempfile.mkstemp(prefix="measure-rss.")
        os.close(fd)
        cmd = ["/usr/bin/time", "-q", "-f", "%M", "-o", rss_file] + cmd
    fo = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    fe = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    fi = os.open(os.devnull, os.O_RDONLY)
    # posix_spawn (vfork): no python work in the child before exec, so
    # the child's CPU is the command's (plus /usr/bin/time's, see above)
    actions = [(os.POSIX_SPAWN_DUP2, fi, 0), (os.POSIX_SPAWN_DUP2, fo, 1),
               (os.POSIX_SPAWN_DUP2, fe, 2)]
    t0 = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=actions,
                          setpgroup=0)
    timed_out = False
    if timeout > 0:
        def expire(signum, frame):
            nonlocal timed_out
            timed_out = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    while True:
        try:
            _, status, ru = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    wall = (time.perf_counter() - t0) * 1000.0
    signal.setitimer(signal.ITIMER_REAL, 0)
    code = 124 if timed_out else os.waitstatus_to_exitcode(status)
    cpu = (ru.ru_utime + ru.ru_stime) * 1000.0
    rss = ru.ru_maxrss
    if rss_file is not None:
        with open(rss_file) as f:
            words = f.read().split()
        os.unlink(rss_file)
        rss = int(words[-1]) if words and words[-1].isdigit() else -1
    print("%.1f %.1f %d %d" % (wall, cpu, rss, code))


if __name__ == "__main__":
    main(sys.argv[1:])
