#!/usr/bin/env python3
"""latency.py: how long a live event takes to become visible, measured from
outside the programs.

usage: latency.py SP_BIN [--rate EPS] [--emit-every MS] [--seconds S]
                  [--via pipe|kafka] [--upto validate|window|redis|serve]

Feeds RATE trip events a second of live traffic (event time = now) in
regions 1-99 into the pipeline, and every 20 ms one probe event in region
100 (at a random moment of its 10 ms tick, so that probes meet sp-window's
emission period at every phase), then times each probe until it is visible
at the end of the pipeline as far as --upto:

  validate  sp-validate wrote the probe's line
  window    sp-window wrote a result of the probe's window counting it
  redis     the probe's window in Redis counts it (GET, one connection)
  serve     sp-serve's /metrics/region/100?at=WINDOW counts it (the default)

--via kafka puts sp-kcat-out, sp-kafka-mock (4 partitions) and sp-kcat-in
in front of sp-validate. sp-window runs with --emit-every MS (10). A probe
is visible when the tripCount of its window reaches its place among the
probes of that window; the window is asked for by its start, so a probe
sent at the end of a minute is never hidden by the next minute's window.
Latency = visible - written into the pipeline's first pipe. Prints one line:

  rate via upto emit  probes missed  p50 p99 max (ms)

The traffic is built in blocks of 10 ms whose timestamp is replaced in
place, so the generator keeps up with 500,000 events a second."""
import argparse
import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from live import free_port, wait_for

PROBE_REGION = 100
PROBE_EVERY = 0.02
TICK = 0.01
STAMP = b"2000-01-01T00:00:00.000Z"


def iso(wall):
    ms = int(wall * 1000)
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) +
            ".%03dZ" % (ms % 1000)).encode()


def window_of(wall):
    start = int(wall) - int(wall) % 60
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start)), start


class Probes:
    """Probes sent, by window, and when each was first seen."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_window = {}  # window start text -> [probe number, ...] in send order
        self.sent_at = {}
        self.seen_at = {}
        self.pending = {}  # window start text -> (epoch start, probes not seen yet)

    def sent(self, number, window, start, at):
        with self.lock:
            self.by_window.setdefault(window, []).append(number)
            self.sent_at[number] = at
            self.pending[window] = (start, self.pending.get(window, (start, 0))[1] + 1)

    def counted(self, window, count, at):
        """count probes of window are visible (the first count sent)."""
        with self.lock:
            for number in self.by_window.get(window, [])[:count]:
                if number not in self.seen_at:
                    self.seen_at[number] = at
                    start, left = self.pending[window]
                    if left <= 1:
                        del self.pending[window]
                    else:
                        self.pending[window] = (start, left - 1)

    def seen_number(self, number, at):
        with self.lock:
            self.seen_at.setdefault(number, at)

    def windows_pending(self):
        with self.lock:
            return [(w, s) for w, (s, _) in self.pending.items()]


COUNT_RE = re.compile(rb'"tripCount":(\d+)')
START_RE = re.compile(rb'"windowStart":"([^"]+)"')


def watch_validate(stream, probes, stop):
    """The probe lines as sp-validate writes them."""
    tail = b""
    while not stop.is_set():
        chunk = stream.read1(1 << 20)
        if not chunk:
            return
        now = time.perf_counter()
        data = tail + chunk
        cut = data.rfind(b"\n") + 1
        tail = data[cut:]
        at = data.find(b'"trip_id":"p', 0, cut)
        while at >= 0:
            end = data.index(b'"', at + 12)
            probes.seen_number(int(data[at + 12:end]), now)
            at = data.find(b'"trip_id":"p', end, cut)


def watch_window(stream, probes, stop):
    """The results of region 100 as sp-window writes them."""
    marker = b'{"regionId":%d,' % PROBE_REGION
    for line in stream:
        if stop.is_set():
            return
        if line.startswith(marker):
            now = time.perf_counter()
            probes.counted(START_RE.search(line).group(1).decode(),
                           int(COUNT_RE.search(line).group(1)), now)


def poll_pending(read, probes, stop):
    """Ask for each window with probes not yet seen, over and over: read(start)
    gives the window's value as bytes, or None while it has none."""
    while not stop.is_set():
        pending = probes.windows_pending()
        if not pending:
            time.sleep(0.0005)
        for window, start in pending:
            value = read(start)
            now = time.perf_counter()
            if value is not None:
                probes.counted(window, int(COUNT_RE.search(value).group(1)), now)


def watch_redis(sock_path, probes, stop):
    """GET the pending windows of region 100 over one connection."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    f = s.makefile("rb")

    def read(start):
        key = b"region:%d:window:%d" % (PROBE_REGION, start)
        s.sendall(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))
        header = f.readline()
        return None if header.startswith(b"$-1") else f.read(int(header[1:]) + 2)
    poll_pending(read, probes, stop)


def watch_serve(port, probes, stop):
    """Ask sp-serve for the pending windows of region 100, one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

    def read(start):
        conn.request("GET", f"/metrics/region/{PROBE_REGION}?at={start}")
        resp = conn.getresponse()
        body = resp.read()
        return body if resp.status == 200 else None
    poll_pending(read, probes, stop)


def spawn(procs, args, **kw):
    """Start a child in a session of its own (a shell pipeline with all its
    stages), remembered in procs so stop_all() ends it whole."""
    p = subprocess.Popen(args, start_new_session=True, **kw)
    procs.append(p)
    return p


def stop_all(procs):
    """Close the children's input, give them a moment to end on it, then
    SIGTERM and at last SIGKILL what is left of each one's session: a
    consumer whose broker is gone would otherwise retry for ever."""
    for p in reversed(procs):
        if p.stdin:
            try:
                p.stdin.close()
            except BrokenPipeError:
                pass
    for sig, grace in ((None, 5), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        for p in reversed(procs):
            if sig is not None:
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass


def traffic_block(rate):
    """One tick's worth of events with a placeholder timestamp."""
    n = max(1, round(rate * TICK))
    return b"".join(b'{"trip_id":"t%d","region_id":%d,"event_time":"%s","fare":12.5,'
                    b'"duration":600,"distance":2.5}\n' % (i, 1 + i % 99, STAMP)
                    for i in range(n)), n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sp_bin")
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--emit-every", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--via", choices=["pipe", "kafka"], default="pipe")
    ap.add_argument("--upto", choices=["validate", "window", "redis", "serve"], default="serve")
    args = ap.parse_args()
    b = os.path.abspath(args.sp_bin)
    work = tempfile.mkdtemp(prefix="sp-latency-")
    procs = []
    try:
        sock = os.path.join(work, "redis.sock")
        spawn(procs, ["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
                      "--appendonly", "no", "--dir", work], stdout=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(sock), "redis-server starting")
        stages = [f"{b}/sp-validate -q"]
        if args.upto != "validate":
            stages.append(f"{b}/sp-window -q --emit-every {args.emit_every}ms")
        if args.upto in ("redis", "serve"):
            stages.append(f"{b}/sp-redis-sink -q --socket {sock}")
        feed_cmd = None
        if args.via == "kafka":
            mock = spawn(procs, [f"{b}/sp-kafka-mock", "-q", "-t", "events:4"],
                         stdout=subprocess.PIPE)
            brokers = mock.stdout.readline().decode().strip()
            stages.insert(0, f"{b}/sp-kcat-in -q -b {brokers} -t events -o end")
            feed_cmd = [f"{b}/sp-kcat-out", "-q", "-b", brokers, "-t", "events", "--key",
                        "region_id"]
        watches_stdout = args.upto in ("validate", "window")
        pipeline = spawn(procs, " | ".join(stages), shell=True, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE if watches_stdout else subprocess.DEVNULL)
        feed = pipeline.stdin
        if feed_cmd:
            producer = spawn(procs, feed_cmd, stdin=subprocess.PIPE)
            feed = producer.stdin
        probes, stop = Probes(), threading.Event()
        if args.upto == "validate":
            watcher = threading.Thread(target=watch_validate, args=(pipeline.stdout, probes, stop))
        elif args.upto == "window":
            watcher = threading.Thread(target=watch_window, args=(pipeline.stdout, probes, stop))
        elif args.upto == "redis":
            watcher = threading.Thread(target=watch_redis, args=(sock, probes, stop))
        else:
            port = free_port()
            spawn(procs, [f"{b}/sp-serve", "-q", "--listen", f"127.0.0.1:{port}", "--socket", sock])

            def health():
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    c.request("GET", "/health")
                    return c.getresponse().status == 200
                except OSError:
                    return False
            wait_for(health, "sp-serve starting")
            watcher = threading.Thread(target=watch_serve, args=(port, probes, stop))
        watcher.daemon = True
        if args.via == "kafka":
            time.sleep(2)  # sp-kcat-in -o end: assigned before the traffic starts
        watcher.start()

        block, per_tick = traffic_block(args.rate)
        start = time.perf_counter()
        ticks, probe_no, next_probe = 0, 0, start + 0.5
        while time.perf_counter() - start < args.seconds:
            wall = time.time()
            stamp = iso(wall)
            out = block.replace(STAMP, stamp)
            feed.write(out)
            feed.flush()
            now = time.perf_counter()
            if now >= next_probe:
                # At a random moment of the tick: sent on the tick, probes
                # would keep one phase against sp-window's emission period
                # and measure that phase instead of the wait for emission.
                time.sleep(random.uniform(0, max(0.0, start + (ticks + 1) * TICK - now)))
                probe_no += 1
                wall = time.time()
                window, wstart = window_of(wall)
                feed.write(b'{"trip_id":"p%d","region_id":%d,"event_time":"%s","fare":1,'
                           b'"duration":600,"distance":1}\n' % (probe_no, PROBE_REGION, iso(wall)))
                feed.flush()
                probes.sent(probe_no, window, wstart, time.perf_counter())
                next_probe += PROBE_EVERY
            ticks += 1
            sleep = start + ticks * TICK - time.perf_counter()
            if sleep > 0:
                time.sleep(sleep)
        behind = (time.perf_counter() - start) - ticks * TICK
        time.sleep(1.0)  # let the last probes arrive
        stop.set()
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)

    lat = sorted((probes.seen_at[k] - probes.sent_at[k]) * 1000 for k in probes.sent_at
                 if k in probes.seen_at)
    missed = len(probes.sent_at) - len(lat)
    if not lat:
        sys.exit("latency.py: no probe was seen")

    def pct(p):
        return lat[min(len(lat) - 1, max(0, -(-p * len(lat) // 100) - 1))]

    late = f"  (generator {behind * 1000:.0f} ms behind)" if behind > 0.05 else ""
    print(f"  {args.rate:>7} ev/s  {args.via:<5} {args.upto:<8} emit {args.emit_every:>3} ms"
          f"  {len(lat):>4} probes {missed:>2} missed   p50 {pct(50):6.1f}  p99 {pct(99):6.1f}"
          f"  max {lat[-1]:6.1f} ms{late}", flush=True)


if __name__ == "__main__":
    main()
