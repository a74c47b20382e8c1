#!/usr/bin/env python3
"""latency.py: end-to-end latency of the live pipeline, measured from outside.

Starts a private redis-server, sp-serve, and the pipeline
    sp-validate | sp-window --emit-every 100ms | sp-redis-sink
then feeds it RATE events per second of live traffic (event time = now) in
regions 1-99 and, every 100 ms, one probe event in region 100. A second
thread polls sp-serve's /metrics/region/100 over one keep-alive connection;
a probe counts as seen when the tripCount of its window first includes it.
Latency = seen - sent. Prints p50/p95/p99/max in milliseconds.

usage: latency.py SP_BIN [SECONDS] [RATE]
"""
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

PROBE_REGION = 100


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iso(t):
    ms = int(t * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def start_services(sp_bin, work):
    sock = os.path.join(work, "redis.sock")
    redis = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
                              "--appendonly", "no", "--dir", work],
                             stdout=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.01)
    port = free_port()
    serve = subprocess.Popen([f"{sp_bin}/sp-serve", "-q", "--listen", f"127.0.0.1:{port}",
                              "--socket", sock])
    pipeline = subprocess.Popen(
        f"{sp_bin}/sp-validate -q | {sp_bin}/sp-window -q --emit-every 100ms | "
        f"{sp_bin}/sp-redis-sink -q --socket {sock}",
        shell=True, stdin=subprocess.PIPE)
    for _ in range(200):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/health")
            break
        except OSError:
            time.sleep(0.02)
    return redis, serve, pipeline, port


def poll(port, sent, seen, stop):
    """Record when each probe first shows in its window's tripCount."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    while not stop.is_set():
        conn.request("GET", f"/metrics/region/{PROBE_REGION}")
        resp = conn.getresponse()
        body = resp.read()
        now = time.perf_counter()
        if resp.status != 200:
            continue
        result = json.loads(body)
        window = result["windowStart"]
        count = int(result["tripCount"])
        # probes of this window, in send order: the first `count` are visible
        for key in sent.get(window, [])[:count]:
            seen.setdefault(key, now)


def main():
    sp_bin = os.path.abspath(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30
    rate = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    work = tempfile.mkdtemp(prefix="sp-latency-")
    redis, serve, pipeline, port = start_services(sp_bin, work)
    sent, sent_at, seen = {}, {}, {}
    stop = threading.Event()
    poller = threading.Thread(target=poll, args=(port, sent, seen, stop))
    poller.start()

    tick = 0.01  # send in 10 ms slices: rate/100 events each
    per_tick = max(1, rate // 100)
    start = time.perf_counter()
    n, probe_no, next_probe = 0, 0, start
    while time.perf_counter() - start < seconds:
        now_wall = time.time()
        lines = []
        for _ in range(per_tick):
            lines.append('{"trip_id":"t%d","region_id":%d,"event_time":"%s","fare":12.5,'
                         '"duration":600,"distance":2.5}\n' % (n, 1 + n % 99, iso(now_wall)))
            n += 1
        probe = None
        if time.perf_counter() >= next_probe:
            probe_no += 1
            probe = ("p%d" % probe_no, now_wall)
            lines.append('{"trip_id":"%s","region_id":%d,"event_time":"%s","fare":1,'
                         '"duration":600,"distance":1}\n' % (probe[0], PROBE_REGION, iso(now_wall)))
            next_probe += 0.1
        pipeline.stdin.write("".join(lines).encode())
        pipeline.stdin.flush()
        if probe:
            t = time.perf_counter()
            window = iso(probe[1] - probe[1] % 60).replace(".000Z", "Z")
            sent.setdefault(window, []).append(probe[0])
            sent_at[probe[0]] = t
        sleep = start + (n / rate) - time.perf_counter()
        if sleep > 0:
            time.sleep(sleep)

    time.sleep(1.5)  # let the last probes arrive
    stop.set()
    poller.join()
    pipeline.stdin.close()
    pipeline.wait()
    for p in (serve, redis):
        p.terminate()
        p.wait()
    shutil.rmtree(work, ignore_errors=True)

    lat = sorted((seen[k] - sent_at[k]) * 1000 for k in sent_at if k in seen)
    missing = len(sent_at) - len(lat)
    if not lat:
        print("latency: no probe was seen")
        sys.exit(1)

    def pct(p):
        return lat[min(len(lat) - 1, max(0, -(-p * len(lat) // 100) - 1))]

    print(f"  latency at {rate} events/s, emit-every 100ms, {len(lat)} probes"
          f"{f', {missing} not seen' if missing else ''}: p50 {pct(50):.0f} ms, p95 {pct(95):.0f} ms,"
          f" p99 {pct(99):.0f} ms, max {lat[-1]:.0f} ms (mean {statistics.mean(lat):.0f} ms)")


if __name__ == "__main__":
    main()
