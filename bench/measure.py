#!/usr/bin/env python3
"""measure.py RUNS INPUT CMD...: run CMD (through bash) RUNS times with stdin
from INPUT and stdout to /dev/null; print "median_seconds max_rss_kb".

Each run goes through GNU time, a small C program, so the peak resident
memory reported is the command's own (for a pipeline, its largest stage)
and not that of this Python process, whose pages a vforked child would
otherwise count before it execs."""
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    runs, infile, cmd = int(sys.argv[1]), sys.argv[2], " ".join(sys.argv[3:])
    times, rss = [], 0
    with tempfile.NamedTemporaryFile("r") as report:
        for _ in range(runs):
            with open(infile, "rb") as stdin, open(os.devnull, "wb") as devnull:
                start = time.perf_counter()
                proc = subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%M",
                                       "bash", "-c", cmd], stdin=stdin, stdout=devnull)
                times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                print(f"measure.py: command failed with status {proc.returncode}: {cmd}",
                      file=sys.stderr)
                sys.exit(1)
            report.seek(0)
            rss = max(rss, int(report.read().split()[-1]))
    print(f"{statistics.median(times):.4f} {rss}")


if __name__ == "__main__":
    main()
