#!/usr/bin/env python3
"""slowclient.py - hold connections to a challenge responder open, slowly.

The attacker of t_responder_flood: for each --from address (127.0.0.x, all
loopback, so each stands for another host) it keeps --per connections to
127.0.0.1:--port open, reconnecting whatever the server closes, and either
says nothing (--mode idle) or sends one byte every --every seconds
(--mode trickle: a request that never ends, which an idle timeout never
catches). It starts before the responder listens and keeps knocking, so
its connections are in place before the CA's validator arrives.

Every 100 ms it writes "held=N peak=N connects=N closed=N" to --stats.
Runs until killed (SIGTERM).
"""

import argparse
import errno
import os
import select
import signal
import socket
import sys
import time


def main():
    """main - keep the connections open until SIGTERM."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--from", dest="sources", action="append", required=True)
    ap.add_argument("--per", type=int, default=20)
    ap.add_argument("--mode", choices=["idle", "trickle"], default="idle")
    ap.add_argument("--every", type=float, default=4.0)
    ap.add_argument("--stats", required=True)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    conns = {}  # socket -> (source, connected, next byte time)
    peak = connects = closed = 0
    next_stats = 0.0
    while True:
        now = time.monotonic()
        for src in args.sources:
            have = sum(1 for s in conns.values() if s[0] == src)
            for _ in range(args.per - have):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.bind((src, 0))
                rc = s.connect_ex(("127.0.0.1", args.port))
                if rc in (0, errno.EINPROGRESS):
                    conns[s] = (src, False, now)
                else:
                    s.close()
                    break  # not listening yet: try again soon
        # finish connects, notice closes, trickle
        rd = [s for s, v in conns.items() if v[1]]
        wr = [s for s, v in conns.items() if not v[1]]
        r, w, _ = select.select(rd, wr, [], 0.001)
        for s in w:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                src = conns[s][0]
                conns[s] = (src, True, now)
                connects += 1
            else:
                del conns[s]
                s.close()
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                del conns[s]
                s.close()
                closed += 1
        if args.mode == "trickle":
            for s, (src, up, due) in list(conns.items()):
                if up and now >= due:
                    try:
                        s.send(b"G")
                    except OSError:
                        pass
                    conns[s] = (src, True, now + args.every)
        held = sum(1 for v in conns.values() if v[1])
        peak = max(peak, held)
        if now >= next_stats:
            with open(args.stats + ".tmp", "w", encoding="ascii") as f:
                f.write("held=%d peak=%d connects=%d closed=%d\n"
                        % (held, peak, connects, closed))
            os.rename(args.stats + ".tmp", args.stats)
            next_stats = now + 0.1


if __name__ == "__main__":
    main()
