#!/usr/bin/env python3
"""verify_floor.py - where the time of `mailcert verify` goes: the CPU of
mailcert and of each mail daemon during the runs, and the serial start of
Dovecot's login processes. Used by bench/verify.sh.

  verify_floor.py cpu RUNS NAME=PID[,PID...]... -- CMD [ARG...]
      run CMD RUNS times one after the other; print one line per group:
      "NAME MS" - CPU (user + system) per run of the process trees under
      the PIDs - and "mailcert MS" for CMD itself (wait4's rusage, every
      thread). A tree's CPU is, for each of its processes, the time on a
      CPU of every thread (/proc/PID/task/TID/schedstat, nanoseconds) plus
      the children it reaped (cutime + cstime: clock ticks; a process that
      ended during the runs counts there, in its reaper). Taken before the
      first run and 0.3 s after the last (children exit and are reaped).

  verify_floor.py chain PORT N RUNS
      open N connections to 127.0.0.1:PORT at once and wait for the first
      line of each (a greeting); print the median over RUNS of the time to
      the last greeting, in ms. Dovecot forks a login service's process
      for the next connection only once the last one has accepted its
      own, so the N-th greeting comes after N process starts one after
      another: no client sees its N-th session of that service sooner.
"""
import os
import selectors
import socket
import statistics
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def proc_table():
    """pid -> (ppid, ns on CPU of its threads, reaped children's ns)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            run = 0
            for t in os.listdir(f"/proc/{d}/task"):
                with open(f"/proc/{d}/task/{t}/schedstat") as f:
                    run += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        f = s[s.rindex(")") + 2:].split()
        children = (int(f[13]) + int(f[14])) * 1_000_000_000 // HZ
        out[int(d)] = (int(f[1]), run, children)
    return out


def tree_ns(table, roots):
    """Total of run + children ns over the process trees under roots."""
    kids = {}
    for pid, v in table.items():
        kids.setdefault(v[0], []).append(pid)
    total, todo, seen = 0, list(roots), set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in table:
            continue
        seen.add(pid)
        total += table[pid][1] + table[pid][2]
        todo += kids.get(pid, [])
    return total


def cpu(argv):
    runs = int(argv[0])
    sep = argv.index("--")
    groups = []
    for g in argv[1:sep]:
        name, pids = g.split("=", 1)
        groups.append((name, [int(p) for p in pids.split(",") if p]))
    cmd = argv[sep + 1:]
    before = proc_table()
    self_ns = 0
    for _ in range(runs):
        pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=[
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
        _, status, ru = os.wait4(pid, 0)
        if status != 0:
            sys.exit(f"verify_floor.py: {' '.join(cmd)} failed")
        self_ns += int((ru.ru_utime + ru.ru_stime) * 1e9)
    time.sleep(0.3)
    after = proc_table()
    print(f"mailcert {self_ns / runs / 1e6:.1f}")
    for name, roots in groups:
        d = tree_ns(after, roots) - tree_ns(before, roots)
        print(f"{name} {d / runs / 1e6:.1f}")


def last_greeting_ms(port, n):
    sel = selectors.DefaultSelector()
    socks = []
    t0 = time.perf_counter()
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    last, waiting = 0.0, n
    while waiting > 0 and time.perf_counter() - t0 < 10:
        for key, _ in sel.select(1):
            last = (time.perf_counter() - t0) * 1000
            key.fileobj.recv(4096)
            sel.unregister(key.fileobj)
            waiting -= 1
    for s in socks:
        try:
            s.sendall(b"a LOGOUT\r\n")
        except OSError:
            pass
    time.sleep(0.05)
    for s in socks:
        s.close()
    if waiting > 0:
        sys.exit(f"verify_floor.py: {waiting} of {n} never greeted")
    return last


def chain(argv):
    port, n, runs = int(argv[0]), int(argv[1]), int(argv[2])
    ts = []
    for _ in range(runs):
        ts.append(last_greeting_ms(port, n))
        time.sleep(0.2)  # let the login processes end
    print(f"{statistics.median(ts):.1f}")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("cpu", "chain"):
        sys.exit(__doc__)
    (cpu if sys.argv[1] == "cpu" else chain)(sys.argv[2:])
