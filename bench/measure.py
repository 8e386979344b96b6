#!/usr/bin/env python3
"""measure.py - run one command, print "WALL_MS CPU_MS RSS_KB EXIT".

The figures are the command's own, with nothing of the measuring in
them: a small C launcher (bench/measure_exec.c, compiled here on first
use with cc into ~/.cache/mailcert-bench/, or $MEASURE_EXEC) forks and
execs the command and reaps it with wait4(). CPU_MS: user + system time
of the command and every descendant it waited for (wait4's rusage,
microsecond resolution); RSS_KB: the peak resident set of the largest
of them (ru_maxrss; the fork's copy of the ~1 MB launcher is the floor,
never python's ~10 MB); WALL_MS: from the fork to the reap. Before
2026-11, /usr/bin/time was the launcher and its own exec and fork (~3 ms
CPU) were inside every CPU figure. stdout and stderr of the command go
to the files given (or /dev/null). Used by bench/issue.sh and
bench/renew.sh.

usage: measure.py [--out FILE] [--err FILE] [--timeout S] -- CMD [ARG...]
"""
import hashlib
import os
import signal
import subprocess
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "measure_exec.c")


def launcher():
    """The compiled bench/measure_exec.c (built once per source text)."""
    if os.environ.get("MEASURE_EXEC"):
        return os.environ["MEASURE_EXEC"]
    with open(SRC, "rb") as f:
        tag = hashlib.sha256(f.read()).hexdigest()[:16]
    cache = os.path.join(os.path.expanduser("~"), ".cache", "mailcert-bench")
    exe = os.path.join(cache, "measure_exec-" + tag)
    if os.access(exe, os.X_OK):
        return exe
    os.makedirs(cache, mode=0o700, exist_ok=True)
    tmp = "%s.%d" % (exe, os.getpid())
    subprocess.run(["cc", "-O2", "-o", tmp, SRC], check=True)
    os.rename(tmp, exe)
    return exe


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
    fo = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    fe = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    fi = os.open(os.devnull, os.O_RDONLY)
    r, w = os.pipe()
    if w == 3:  # dup2(3, 3) would leave it close-on-exec
        w2 = os.dup(w)
        os.close(w)
        w = w2
    actions = [(os.POSIX_SPAWN_DUP2, fi, 0), (os.POSIX_SPAWN_DUP2, fo, 1),
               (os.POSIX_SPAWN_DUP2, fe, 2), (os.POSIX_SPAWN_DUP2, w, 3)]
    exe = launcher()
    pid = os.posix_spawn(exe, [exe] + cmd, os.environ, file_actions=actions,
                         setpgroup=0)
    os.close(w)
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
            os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    signal.setitimer(signal.ITIMER_REAL, 0)
    with os.fdopen(r) as f:
        words = f.read().split()
    if timed_out or len(words) != 4:
        print("%.1f %.2f %d %d" % (timeout * 1000.0, 0.0, -1,
                                   124 if timed_out else 125))
        return
    wall, cpu, rss, code = float(words[0]), float(words[1]), int(words[2]), int(words[3])
    print("%.1f %.2f %d %d" % (wall, cpu, rss, code))


if __name__ == "__main__":
    main(sys.argv[1:])
