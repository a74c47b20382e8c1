#!/usr/bin/env python3
"""redis_layout.py: an oracle for sp-redis-sink, written from SPEC section 7
apart from the C code.

    redis_layout.py check PORT RESULTS [--ttl S] [--rank METRIC]...

computes the Redis state the window results in RESULTS should leave (every
line that is a window result with a non-negative integer key; the rest is
dead-lettered), reads the real state over one Redis connection, and prints
the differences; exit status 0 when there are none. Scores compare as
numbers.

    redis_layout.py snapshot PORT [--db N]

prints every key with its type and value (not its TTL), one line each,
sorted by key, for comparing the whole state of two runs: a set's members
sorted, a sorted set as ZRANGE WITHSCORES gives it, all space-separated.
"""
import argparse
import json
import socket
import sys
from datetime import datetime


def epoch_seconds(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def expected_state(lines, ttl, ranks):
    values, index, rank, regions, latest = {}, {}, {}, set(), None
    for line in lines:
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not isinstance(doc, dict) or not doc:
            continue
        key_value = next(iter(doc.values()))
        if not isinstance(key_value, int) or isinstance(key_value, bool) or key_value < 0:
            continue
        if "windowStart" not in doc or "windowEnd" not in doc:
            continue
        region, start = key_value, epoch_seconds(doc["windowStart"])
        values[f"region:{region}:window:{start}"] = line
        index.setdefault(region, set()).add(start)
        regions.add(region)
        for metric in ranks:
            if isinstance(doc.get(metric), (int, float)) and not isinstance(doc.get(metric), bool):
                rank.setdefault(f"window:{start}:rank:{metric}", {})[str(region)] = float(doc[metric])
        if doc.get("final") is True and (latest is None or start > latest):
            latest = start
    state = {k: ("string", v) for k, v in values.items()}
    for region, starts in index.items():
        newest = max(starts)
        kept = {s for s in starts if ttl == 0 or s >= newest - ttl}
        state[f"region:{region}:windows"] = ("zset", {str(s): float(s) for s in kept})
    for key, members in rank.items():
        state[key] = ("zset", members)
    if regions:
        state["regions"] = ("set", {str(r) for r in regions})
    if latest is not None:
        state["sp:latest_window"] = ("string", str(latest))
    return state


class Redis:
    """A minimal RESP client (pipelined), so reading thousands of keys costs
    one connection rather than a redis-cli process per key."""

    def __init__(self, port, db=0):
        self.sock = socket.create_connection(("127.0.0.1", int(port)))
        self.buf = self.sock.makefile("rb")
        if db:
            self.pipeline([["SELECT", str(db)]])

    def pipeline(self, commands):
        out = bytearray()
        for cmd in commands:
            out += b"*%d\r\n" % len(cmd)
            for arg in cmd:
                arg = arg.encode("utf-8", "surrogateescape")
                out += b"$%d\r\n%s\r\n" % (len(arg), arg)
        self.sock.sendall(out)
        return [self.reply() for _ in commands]

    def reply(self):
        line = self.buf.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.buf.read(n + 2)[:-2]
            return data.decode("utf-8", "surrogateescape")
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise RuntimeError(f"bad reply {line!r}")


def every_key(port, db=0):
    """(key, type, value) of every key, sorted by key, in three round trips;
    the value as Redis gives it, None for types the layout does not use."""
    r = Redis(port, db)
    keys = sorted(r.pipeline([["KEYS", "*"]])[0])
    kinds = r.pipeline([["TYPE", k] for k in keys])
    reads = {"string": lambda k: ["GET", k], "zset": lambda k: ["ZRANGE", k, "0", "-1", "WITHSCORES"],
             "set": lambda k: ["SMEMBERS", k]}
    values = r.pipeline([reads.get(kind, lambda k: ["TYPE", k])(k) for k, kind in zip(keys, kinds)])
    return zip(keys, kinds, values)


def actual_state(port):
    state = {}
    for key, kind, value in every_key(port):
        if kind == "zset":
            value = {value[i]: float(value[i + 1]) for i in range(0, len(value), 2)}
        elif kind == "set":
            value = set(value)
        elif kind != "string":
            value = None
        state[key] = (kind, value)
    return state


def print_snapshot(port, db):
    out = sys.stdout.buffer
    for key, kind, value in every_key(port, db):
        if kind == "set":
            value = " ".join(sorted(value))
        elif kind == "zset":
            value = " ".join(value)
        out.write(f"{key} {kind} {value}\n".encode("utf-8", "surrogateescape"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["check", "snapshot"])
    ap.add_argument("port")
    ap.add_argument("results", nargs="?")
    ap.add_argument("--ttl", type=int, default=86400)
    ap.add_argument("--rank", action="append")
    ap.add_argument("--db", type=int, default=0)
    args = ap.parse_args()
    if args.command == "snapshot":
        print_snapshot(args.port, args.db)
        return
    if args.results is None:
        ap.error("check needs RESULTS")
    with open(args.results, encoding="utf-8", errors="surrogateescape") as f:
        lines = [l.rstrip("\n") for l in f]
    want = expected_state(lines, args.ttl, args.rank or ["tripCount", "avgFare"])
    got = actual_state(args.port)
    bad = 0
    for key in sorted(set(want) | set(got)):
        if want.get(key) != got.get(key):
            bad += 1
            print(f"{key}: want {want.get(key)!r}\n{' ' * len(key)}  got  {got.get(key)!r}")
    print(f"{len(want)} keys expected, {bad} differ")
    sys.exit(1 if bad else 0)


main()
