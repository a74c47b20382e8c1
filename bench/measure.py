#!/usr/bin/env python3
"""measure.py RUNS INPUT CMD...: run CMD (through bash) RUNS times with stdin
from INPUT and stdout to /dev/null; print "median_seconds max_rss_kb".

The peak resident memory is the largest of any process the command started
(getrusage of the children), so for a pipeline it is its largest stage."""
import os
import resource
import statistics
import subprocess
import sys
import time


def main():
    runs, infile, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    times, rss = [], 0
    for _ in range(runs):
        with open(infile, "rb") as stdin, open(os.devnull, "wb") as devnull:
            start = time.perf_counter()
            proc = subprocess.run(["bash", "-c", " ".join(cmd)], stdin=stdin, stdout=devnull)
            times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            print(f"measure.py: command failed with status {proc.returncode}: {' '.join(cmd)}",
                  file=sys.stderr)
            sys.exit(1)
        rss = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(f"{statistics.median(times):.4f} {rss}")


if __name__ == "__main__":
    main()
