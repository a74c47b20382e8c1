"""What bench/latency.py and bench/failover.py share: a free port for a
private server, and waiting for something a live system should do soon."""
import os
import socket
import sys
import time


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, what, limit=20):
    """Poll cond() every 20 ms; end the script with a message naming what did
    not happen if it is still false after limit seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    sys.exit(f"{os.path.basename(sys.argv[0])}: {what} did not happen within {limit} s")
