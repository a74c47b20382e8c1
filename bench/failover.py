#!/usr/bin/env python3
"""failover.py SP_BIN [SESSION_TIMEOUT_MS]: how long a Kafka partition stops
flowing when its member goes away, with its state moving to another member
(sp-kcat-in --state-url, streampulse(7)).

A private redis-server and sp-kafka-mock (8 partitions); 2,000 trip events a
second produced, keyed by region; two members of one consumer group, each
the whole pipeline sp-kcat-in | sp-validate | sp-window | sp-redis-sink with
this script reading sp-kcat-in's output on its way to sp-validate, to see
which partitions flow where. Then:

  leave: SIGTERM to one member's sp-kcat-in, which hands its partitions over
         (their states stored) and leaves the group; its pipeline drains;
  kill:  kill -9 of every process of one member; the group notices at the
         session timeout, and the partitions resume from their last stored
         state on the other member.

For each, the time from the signal until the first record of every one of
the member's partitions has reached the other member, and on a leave the
time until Redis held the states it handed over. Prints one line per case
and the size of the stored states.

On sp-kafka-mock a rebalance after a member leaves or times out waits a
fixed session.timeout.ms - 1 s for the members to rejoin (librdkafka's
rdkafka_mock_cgrp.c), where a Kafka broker goes on as soon as every member
has rejoined: that wait is most of what this measures on the mock."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

from live import free_port, wait_for

SP_BIN = sys.argv[1]
SESSION_MS = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
PARTITIONS = 8
RATE = 2000


def prog(name):
    return os.path.join(SP_BIN, name)


class Member:
    """One pipeline; for each partition, when its first record since
    reset() and its latest record arrived."""

    def __init__(self, name, brokers, redis_url):
        group = ["-G", "bench", "-X", f"session.timeout.ms={SESSION_MS}",
                 "-X", f"heartbeat.interval.ms={SESSION_MS // 6}",
                 "-X", "partition.assignment.strategy=cooperative-sticky"]
        self.source = subprocess.Popen(
            [prog("sp-kcat-in"), "-q", "-b", brokers, "-t", "events", "--state-url", redis_url]
            + group, stdout=subprocess.PIPE, start_new_session=True)
        self.rest = subprocess.Popen(
            f"{prog('sp-validate')} -q | {prog('sp-window')} -q --checkpoint-interval 1s "
            f"--late /dev/null | {prog('sp-redis-sink')} -q --url {redis_url}",
            shell=True, stdin=subprocess.PIPE, start_new_session=True)
        self.name = name
        self.first = {}
        self.last = {}
        self.lock = threading.Lock()
        threading.Thread(target=self.forward, daemon=True).start()

    def forward(self):
        for line in self.source.stdout:
            if line.startswith(b'{"_kafka":'):
                p = json.loads(line)["_kafka"]["partition"]
                now = time.monotonic()
                with self.lock:
                    self.first.setdefault(p, now)
                    self.last[p] = now
            try:
                self.rest.stdin.write(line)
                self.rest.stdin.flush()
            except BrokenPipeError:
                break
        try:
            self.rest.stdin.close()
        except BrokenPipeError:
            pass

    def reset(self):
        with self.lock:
            self.first = {}

    def partitions(self, since):
        """The partitions whose records arrived since then."""
        with self.lock:
            return {p for p, t in self.last.items() if t >= since}

    def first_seen(self, p):
        with self.lock:
            return self.first.get(p)

    def kill(self, sig):
        for proc in (self.source, self.rest):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
        self.wait()

    def wait(self):
        self.source.wait()
        self.rest.wait()


def produce(brokers, stop):
    out = subprocess.Popen([prog("sp-kcat-out"), "-q", "-b", brokers, "-t", "events",
                            "--key", "region_id"], stdin=subprocess.PIPE)
    i = 0
    start = time.monotonic()
    while not stop.is_set():
        now = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + "Z"
        line = (f'{{"trip_id":"t{i}","region_id":{1 + i * 7919 % 100},"event_time":"{ts}",'
                f'"fare":{3 + i % 97},"duration":{60 + i * 7 % 3540},"distance":1.5}}\n')
        out.stdin.write(line.encode())
        i += 1
        if i % 100 == 0:
            out.stdin.flush()
            ahead = start + i / RATE - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    out.stdin.close()
    out.wait()


def tokens(port, parts):
    """The revoke token each partition's stored state answered."""
    return [subprocess.run(["redis-cli", "-p", str(port), "hget", f"sp:task:events:{p}", "token"],
                           capture_output=True, text=True).stdout.strip() for p in parts]


def move(case, gone, survivor, sig, port):
    """Signal member gone; say how long until its partitions flow on survivor."""
    since = time.monotonic() - 1.0
    mine = sorted(gone.partitions(since))
    if not mine:
        sys.exit(f"failover.py: member {gone.name} reads nothing")
    survivor.reset()
    before = tokens(port, mine)
    start = time.monotonic()
    handover = ""
    if sig == signal.SIGTERM:
        gone.source.send_signal(signal.SIGTERM)
        wait_for(lambda: all(t and t != b for t, b in zip(tokens(port, mine), before)),
                 f"{case}: states of {mine} stored", 30)
        handover = f", states stored after {time.monotonic() - start:.3f} s"
    else:
        gone.kill(signal.SIGKILL)
    wait_for(lambda: all(survivor.first_seen(p) for p in mine),
             f"{case}: partitions {mine} moving", 60)
    took = max(survivor.first_seen(p) for p in mine) - start
    print(f"  {case:<44} {len(mine)} partitions flowing again after {took:5.2f} s{handover}",
          flush=True)
    if sig == signal.SIGTERM:
        gone.wait()


def main():
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    mock = subprocess.Popen([prog("sp-kafka-mock"), "-q", "-t", f"events:{PARTITIONS}"],
                            stdout=subprocess.PIPE)
    brokers = mock.stdout.readline().decode().strip()
    redis_url = f"redis://127.0.0.1:{port}/0"
    wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"],
                                    capture_output=True).stdout.strip() == b"PONG",
             "redis-server starting", 10)
    stop = threading.Event()
    producer = threading.Thread(target=produce, args=(brokers, stop))
    producer.start()
    members = []
    try:
        a = Member("a", brokers, redis_url)
        members.append(a)
        wait_for(lambda: len(a.partitions(time.monotonic() - 0.5)) == PARTITIONS,
                 "member a reading", 30)
        b = Member("b", brokers, redis_url)
        members.append(b)
        wait_for(lambda: b.partitions(time.monotonic() - 0.5), "member b reading", 60)
        time.sleep(2)
        move("leave: SIGTERM to a member's sp-kcat-in", a, b, signal.SIGTERM, port)
        c = Member("c", brokers, redis_url)
        members.append(c)
        wait_for(lambda: c.partitions(time.monotonic() - 0.5), "member c reading", 60)
        time.sleep(2)
        move(f"kill -9 of a member (session timeout {SESSION_MS / 1000:g} s)", c, b,
             signal.SIGKILL, port)
        sizes = []
        for p in range(PARTITIONS):
            size = subprocess.run(["redis-cli", "-p", str(port), "hstrlen",
                                   f"sp:task:events:{p}", "checkpoint"],
                                  capture_output=True, text=True).stdout.strip()
            sizes.append(int(size or 0))
        sizes.sort()
        print(f"  stored state per partition (100 regions over {PARTITIONS} partitions, live): "
              f"{sizes[0]}-{sizes[-1]} bytes, median {sizes[len(sizes) // 2]}", flush=True)
    finally:
        stop.set()
        producer.join()
        for m in members:
            m.kill(signal.SIGKILL)
        mock.terminate()
        redis.terminate()
        mock.wait()
        redis.wait()


main()
