#!/usr/bin/env python3
"""Hostile HTTP clients for sp-serve, and a health prober beside them.

  hostile_clients.py ATTACK HOST:PORT [--conns N] [--seconds S] [--pid PID]

ATTACK is one of
  slowloris  N connections trickle the headers of one request, one byte at
             a time, round-robin, for S seconds
  halfopen   N connections left half-done: a third send nothing, a third
             send part of a request line and shut their writing side
             (half-closed), a third send whole requests but never read
  idle       N keep-alive connections, opened 1000 at a time: one request
             each, its answer read, then silence for S seconds
  getbody    N rounds of GET requests carrying bodies (Content-Length,
             chunked, a body followed by a pipelined second request, a
             Content-Length larger than what is sent before the client shuts
             its writing side): the status of each answer (None: the server
             closed or did not answer within 5 s)

While the attack runs, a prober asks GET /health on a new connection every
200 ms with a 2 s timeout. At the end one JSON object goes to stdout: what
the attack achieved (connections established, answered, refused or closed
by the server) and the prober's results (probes, failures, slowest answer in
ms); with --pid, the peak VmRSS of that process (the server) during the
attack, sampled with each probe. Exit 0 unless the attack itself could not run. Loopback only: the host
must be 127.0.0.1. Every socket is closed before exit.
"""
import json
import selectors
import socket
import sys
import threading
import time

PROBE_EVERY = 0.2
PROBE_TIMEOUT = 2.0


def request(host, path="/health", keep_alive=True, extra=""):
    conn = "keep-alive" if keep_alive else "close"
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n%s\r\n"
            % (path, host, conn, extra)).encode()


def read_status(sock, timeout):
    """The status code of the first answer on sock, None on close/timeout."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            data += chunk
    except (socket.timeout, OSError):
        return None
    parts = data.split(b"\r\n", 1)[0].split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


class Prober(threading.Thread):
    """GET /health on a new connection every PROBE_EVERY seconds."""

    def __init__(self, addr, pid):
        super().__init__(daemon=True)
        self.addr, self.pid, self.stop = addr, pid, threading.Event()
        self.probes, self.failures, self.slowest_ms, self.rss_peak_kb = 0, [], 0.0, 0

    def sample_rss(self):
        if not self.pid:
            return
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        self.rss_peak_kb = max(self.rss_peak_kb, int(line.split()[1]))
        except OSError:
            pass

    def probe(self):
        started = time.monotonic()
        try:
            with socket.create_connection(self.addr, timeout=PROBE_TIMEOUT) as s:
                s.sendall(request("%s:%d" % self.addr, keep_alive=False))
                status = read_status(s, max(0.05, PROBE_TIMEOUT - (time.monotonic() - started)))
        except OSError as e:
            status = "connect: %s" % e.strerror
        elapsed = (time.monotonic() - started) * 1000
        self.probes += 1
        self.slowest_ms = max(self.slowest_ms, elapsed)
        if status != 200:
            self.failures.append({"after_s": round(started - self.t0, 2), "status": status})

    def run(self):
        self.t0 = time.monotonic()
        while not self.stop.is_set():
            self.probe()
            self.sample_rss()
            self.stop.wait(PROBE_EVERY)

    def report(self):
        report = {"probes": self.probes, "failed": len(self.failures),
                  "first_failures": self.failures[:5], "slowest_ms": round(self.slowest_ms, 1)}
        if self.pid:
            report["server_rss_peak_kb"] = self.rss_peak_kb
        return report


def open_many(addr, n):
    """n non-blocking connections; those the kernel refused at once are counted."""
    socks, refused = [], 0
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        err = s.connect_ex(addr)
        if err not in (0, 115):  # EINPROGRESS
            refused += 1
            s.close()
            continue
        socks.append(s)
    return socks, refused


def alive(s):
    """False when the server closed s (EOF or reset); True while it is open."""
    try:
        data = s.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        return data != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def send_quietly(s, data):
    try:
        return s.send(data)
    except (BlockingIOError, InterruptedError):
        return 0
    except OSError:
        return -1


def slowloris(addr, conns, seconds):
    socks, refused = open_many(addr, conns)
    time.sleep(0.2)
    payload = request("%s:%d" % addr) + b"X-Padding: " + b"a" * 100000
    sent = [0] * len(socks)
    closed = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(closed) < len(socks):
        for i, s in enumerate(socks):
            if i in closed:
                continue
            # the request line and headers, then a header that never ends
            n = send_quietly(s, payload[sent[i]:sent[i] + 1])
            if n < 0 or not alive(s):
                closed.add(i)
            elif n > 0:
                sent[i] += 1
        time.sleep(0.05)
    result = {"connections": len(socks), "refused": refused, "closed_by_server": len(closed),
              "bytes_trickled": sum(sent)}
    for s in socks:
        s.close()
    return result


def halfopen(addr, conns, seconds):
    socks, refused = open_many(addr, conns)
    time.sleep(0.2)
    for i, s in enumerate(socks):
        kind = i % 3
        if kind == 1:
            send_quietly(s, b"GET /metrics/regi")
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        elif kind == 2:
            # whole requests, never read: the answers pile up at our end
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            send_quietly(s, request("%s:%d" % addr, path="/metrics/timeline/1?hours=24") * 50)
    time.sleep(seconds)
    closed = sum(1 for s in socks if not alive(s))
    result = {"connections": len(socks), "refused": refused, "closed_by_server": closed}
    for s in socks:
        s.close()
    return result


def keep_alive_batch(addr, n):
    """n connections, one keep-alive request each, answers awaited (30 s at
    most). Returns the sockets and the counts of answered (200), refused at
    connect, dropped (closed before an answer) and unanswered connections."""
    socks, refused = open_many(addr, n)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_WRITE)
    counts = {"answered": 0, "refused": refused, "dropped": 0}
    pending = {}
    waiting = len(socks)
    deadline = time.monotonic() + 10
    while waiting and time.monotonic() < deadline:
        for key, events in sel.select(timeout=1):
            s = key.fileobj
            if events & selectors.EVENT_WRITE:
                if send_quietly(s, request("%s:%d" % addr)) <= 0:
                    counts["dropped"] += 1
                    waiting -= 1
                    sel.unregister(s)
                    continue
                sel.modify(s, selectors.EVENT_READ)
                pending[s] = b""
                continue
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:
                counts["dropped"] += 1
                waiting -= 1
                sel.unregister(s)
                continue
            pending[s] += chunk
            if b"\r\n\r\n" in pending[s]:
                counts["answered"] += pending[s].split(b"\r\n", 1)[0].split()[1] == b"200"
                waiting -= 1
                sel.unregister(s)
    sel.close()
    counts["unanswered"] = waiting
    return socks, counts


def idle(addr, conns, seconds):
    # opened 1000 at a time, as clients arriving, not as one SYN flood that
    # overflows the listen backlog (the probes would measure the kernel)
    socks, totals = [], {"answered": 0, "refused": 0, "dropped": 0, "unanswered": 0}
    while len(socks) < conns:
        batch, counts = keep_alive_batch(addr, min(1000, conns - len(socks)))
        socks += batch
        for k in totals:
            totals[k] += counts[k]
    held_at_start = sum(1 for s in socks if alive(s))
    time.sleep(seconds)
    held_at_end = sum(1 for s in socks if alive(s))
    result = {"connections": len(socks), "refused": totals["refused"], "answered": totals["answered"],
              "dropped_before_answer": totals["dropped"], "unanswered": totals["unanswered"],
              "held_open_after_answer": held_at_start, "still_open_at_end": held_at_end}
    for s in socks:
        s.close()
    return result


def getbody(addr, conns, seconds):
    host = "%s:%d" % addr
    cases = {
        "content_length": request(host, extra="Content-Length: 11\r\n") + b"hello world",
        "chunked": request(host, extra="Transfer-Encoding: chunked\r\n") + b"5\r\nhello\r\n0\r\n\r\n",
        "body_then_pipelined": request(host, extra="Content-Length: 4\r\n") + b"abcd"
        + request(host, path="/metrics/regions/top", keep_alive=False),
        "large_content_length": request(host, extra="Content-Length: 100000000\r\n") + b"x" * 65536,
        "short_body": request(host, extra="Content-Length: 1000\r\n") + b"only this",
    }
    statuses = {}
    for _ in range(conns):
        for name, payload in cases.items():
            with socket.create_connection(addr, timeout=5) as s:
                try:
                    s.sendall(payload)
                    # the body promised will never come whole: say so, as
                    # a client that gave up would
                    if name in ("large_content_length", "short_body"):
                        s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                status = read_status(s, 5)
                statuses.setdefault(name, {})
                statuses[name][str(status)] = statuses[name].get(str(status), 0) + 1
    time.sleep(seconds)
    return {"statuses": statuses}


ATTACKS = {"slowloris": slowloris, "halfopen": halfopen, "idle": idle, "getbody": getbody}


def main(argv):
    if len(argv) < 3 or argv[1] not in ATTACKS:
        sys.stderr.write(__doc__)
        return 64
    host, port = argv[2].rsplit(":", 1)
    if host != "127.0.0.1":
        sys.stderr.write("hostile_clients.py: loopback only (127.0.0.1)\n")
        return 64
    opts = dict(zip(argv[3::2], argv[4::2]))
    conns = int(opts.get("--conns", 100))
    seconds = float(opts.get("--seconds", 3))
    addr = (host, int(port))
    prober = Prober(addr, int(opts.get("--pid", 0)))
    prober.start()
    started = time.monotonic()
    result = ATTACKS[argv[1]](addr, conns, seconds)
    prober.stop.set()
    prober.join()
    result.update({"attack": argv[1], "seconds": round(time.monotonic() - started, 1),
                   "health": prober.report()})
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
