#!/usr/bin/env python3
"""Independent reference for sp-window, written from SPEC section 6 alone.

  window_reference.py compute [--size SECONDS] [--slide SECONDS] [--key FIELD] FILE
      Reads trip events (NDJSON, one per line) and prints one window result per
      (key, window) with the default StreamPulse metrics, sorted by window end
      then key. Nothing is ever late: this is the answer for a large --max-delay.
  window_reference.py compare REFERENCE ACTUAL
      Compares sp-window output (final results only; a window emitted twice
      counts with its last line) with the reference: the same windows, counts
      exact, sums and averages within 1e-9 relative, percentiles exact while a
      window holds at most 1024 values, within 1 % past that. Exit 1 on any
      difference, naming it.

Only the standard library; integer arithmetic for the nearest rank.
"""
import calendar
import json
import math
import re
import sys
from datetime import datetime, timezone

EXACT_BOUND = 1024
PERCENTILES = (50, 95, 99)


TIME_RE = re.compile(r'^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?'
                     r'(?:([Zz])|([+-])(\d{2}):(\d{2}))?$')


def parse_time_ms(text):
    """RFC 3339 or 'YYYY-MM-DD HH:MM:SS' (UTC) to epoch milliseconds, floored."""
    m = TIME_RE.match(text)
    if not m:
        raise ValueError(text)
    y, mo, d, h, mi, s = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
    base = datetime(y, mo, d, h, mi, min(s, 59), tzinfo=timezone.utc)
    ms = (calendar.timegm(base.timetuple())) * 1000
    if m.group(7):
        ms += int((m.group(7) + '000')[:3])
    if m.group(9):
        offset = (int(m.group(10)) * 60 + int(m.group(11))) * 60000
        ms -= offset if m.group(9) == '+' else -offset
    return ms


def format_time(ms):
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    s = dt.strftime('%Y-%m-%dT%H:%M:%S')
    return s + ('.%03dZ' % (ms % 1000) if ms % 1000 else 'Z')


def camel(field):
    parts = field.split('_')
    return parts[0] + ''.join(p[:1].upper() + p[1:] for p in parts[1:])


def nearest_rank(sorted_values, p):
    n = len(sorted_values)
    rank = max(1, -(-p * n // 100))
    return sorted_values[rank - 1]


def compute(args):
    size, slide, key_field = 60, None, 'region_id'
    while len(args) > 1:
        opt, val = args[0], args[1]
        if opt == '--size':
            size = int(val)
        elif opt == '--slide':
            slide = int(val)
        elif opt == '--key':
            key_field = val
        else:
            sys.exit('unknown option ' + opt)
        args = args[2:]
    size_ms = size * 1000
    slide_ms = (slide or size) * 1000
    windows = {}
    with open(args[0], encoding='utf-8') as f:
        for line in f:
            try:
                ev = json.loads(line)
                key = ev[key_field]
                t = parse_time_ms(ev['event_time'])
            except (ValueError, KeyError, TypeError, IndexError):
                continue
            if isinstance(key, bool) or not isinstance(key, (int, str)):
                continue
            start = t - t % slide_ms
            while start > t - size_ms:
                w = windows.setdefault((key, start), {'n': 0, 'fare': [], 'distance': [], 'duration': []})
                w['n'] += 1
                for field in ('fare', 'distance', 'duration'):
                    v = ev.get(field)
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        w[field].append(v)
                start -= slide_ms
    out = []
    for (key, start), w in windows.items():
        r = {camel(key_field): key, 'windowStart': format_time(start),
             'windowEnd': format_time(start + size_ms), 'tripCount': w['n']}
        r['avgFare'] = math.fsum(w['fare']) / len(w['fare']) if w['fare'] else None
        r['totalDistance'] = math.fsum(w['distance']) if w['distance'] else None
        d = sorted(w['duration'])
        r['avgDuration'] = math.fsum(d) / len(d) if d else None
        for p in PERCENTILES:
            r['p%dDuration' % p] = nearest_rank(d, p) if d else None
        r['final'] = True
        out.append((start + size_ms, isinstance(key, str), key, r))
    out.sort(key=lambda x: (x[0], x[1], x[2]))
    for _, _, _, r in out:
        print(json.dumps(r, separators=(',', ':')))


def load(path, final_only):
    results = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            r = json.loads(line)
            if final_only and r.get('final') is not True:
                continue
            key = next(iter(r))
            results[(r[key], r['windowStart'], r['windowEnd'])] = r
    return results


def close(a, b, rel):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def compare(ref_path, actual_path):
    ref, got = load(ref_path, False), load(actual_path, True)
    problems = []
    for k in sorted(set(ref) - set(got), key=str)[:5]:
        problems.append('missing window %s' % (k,))
    for k in sorted(set(got) - set(ref), key=str)[:5]:
        problems.append('unexpected window %s' % (k,))
    for k in set(ref) & set(got):
        want, have = ref[k], got[k]
        if want['tripCount'] != have.get('tripCount'):
            problems.append('%s tripCount %s != %s' % (k, have.get('tripCount'), want['tripCount']))
        for m in ('avgFare', 'totalDistance', 'avgDuration'):
            if not close(want[m], have.get(m), 1e-9):
                problems.append('%s %s %s != %s' % (k, m, have.get(m), want[m]))
        rel = 0.0 if want['tripCount'] <= EXACT_BOUND else 0.01
        for p in PERCENTILES:
            m = 'p%dDuration' % p
            if not close(want[m], have.get(m), rel):
                problems.append('%s %s %s != %s' % (k, m, have.get(m), want[m]))
    for p in problems[:20]:
        print(p, file=sys.stderr)
    print('%d windows compared, %d problems' % (len(ref), len(problems)), file=sys.stderr)
    return 1 if problems else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == 'compute':
        compute(sys.argv[2:])
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == 'compare':
        return compare(sys.argv[2], sys.argv[3])
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == '__main__':
    sys.exit(main())
