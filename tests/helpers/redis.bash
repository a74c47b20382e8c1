# redis.bash: a private redis-server, and sp-serve beside it, for bats tests.
# Load after helpers/common. Nothing outlives the test that started it:
# call redis_stop / serve_stop in teardown (or teardown_file).
#
# redis_start          start redis-server on a free port (REDIS_PORT, REDIS_URL)
#                      with --save "" --appendonly no; wait until it answers PING
# redis_stop           shut it down (nosave) and wait until it is gone
# redis_restart_later S  in the background: wait S seconds, start it again on
#                      the same port (close any fd you hold open for a reader,
#                      e.g. `redis_restart_later 2 4>&-`: the server inherits it)
# rcli ARGS...         redis-cli against it
# redis_dump           every key, its type and value, one line each, sorted
# gen_results R W [FIRST] [FINAL]  window results, R regions x W minutes
# serve_start ARGS...  start sp-serve on a free port (SERVE_URL) against
#                      REDIS_URL; wait until /health answers
# serve_stop           SIGTERM it, wait, fail when it did not exit 0 or a
#                      sanitizer complained (ASan catches leaks at exit)

# One directory per bats file (every test process loads this file again).
: "${REDIS_DIR:=${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/sp-redis}"
export REDIS_DIR

# free_port: a TCP port nobody listens on right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_redis_launch() {
    mkdir -p "$REDIS_DIR"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$REDIS_DIR" --daemonize yes --pidfile "$REDIS_DIR/redis.pid" \
        --logfile "$REDIS_DIR/redis.log" "$@" >/dev/null 2>&1 </dev/null 3>&-
    # PONG, or NOAUTH when started with --requirepass: either way it answers
    wait_for "redis-cli -p $REDIS_PORT ping 2>&1 | grep -qE 'PONG|NOAUTH'"
}

redis_start() {
    REDIS_PORT=$(free_port)
    REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
    export REDIS_PORT REDIS_URL
    _redis_launch "$@"
}

redis_stop() {
    [ -n "${REDIS_PORT:-}" ] || return 0
    local pid
    pid=$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    [ -n "$pid" ] || return 0
    wait_for "! kill -0 $pid 2>/dev/null" 10 || kill -9 "$pid" 2>/dev/null || true
}

redis_restart_later() {
    (sleep "$1"; _redis_launch) >/dev/null 2>&1 3>&- &
    REDIS_RESTARTER=$!
}

rcli() {
    redis-cli -p "$REDIS_PORT" "$@"
}

redis_dump() {
    local key
    rcli --scan | sort | while IFS= read -r key; do
        case $(rcli type "$key") in
        string) printf '%s string %s\n' "$key" "$(rcli get "$key")" ;;
        zset) printf '%s zset %s\n' "$key" "$(rcli zrange "$key" 0 -1 withscores | tr '\n' ' ')" ;;
        set) printf '%s set %s\n' "$key" "$(rcli smembers "$key" | sort | tr '\n' ' ')" ;;
        *) printf '%s other\n' "$key" ;;
        esac
    done
}

serve_start() {
    SERVE_PORT=$(free_port)
    SERVE_URL=http://127.0.0.1:$SERVE_PORT
    SERVE_LOG=$REDIS_DIR/serve.$SERVE_PORT.log
    export SERVE_PORT SERVE_URL SERVE_LOG
    mkdir -p "$REDIS_DIR"
    sp-serve --listen "127.0.0.1:$SERVE_PORT" --url "$REDIS_URL" "$@" >"$SERVE_LOG" 2>&1 3>&- &
    SERVE_PID=$!
    wait_for "curl -s -o /dev/null $SERVE_URL/health" || { cat "$SERVE_LOG" >&2; return 1; }
}

serve_stop() {
    [ -n "${SERVE_PID:-}" ] || return 0
    kill -TERM "$SERVE_PID" 2>/dev/null || return 0
    local status=0
    wait "$SERVE_PID" 2>/dev/null || status=$?
    if [ "$status" -eq 127 ]; then
        # Started by another shell (setup_file): no exit status to collect.
        status=0
        wait_for "! kill -0 $SERVE_PID 2>/dev/null"
    fi
    SERVE_PID=
    if [ "$status" -ne 0 ] || grep -q 'Sanitizer' "$SERVE_LOG"; then
        echo "sp-serve exited with $status" >&2
        cat "$SERVE_LOG" >&2
        return 1
    fi
}

# gen_results N_REGIONS N_WINDOWS [FIRST_MINUTE] [FINAL]: window results,
# one per region per minute from 2025-08-31T08:00 on, with varied metrics.
gen_results() {
    python3 - "$@" <<'PY'
import json, random, sys
from datetime import datetime, timedelta, timezone
regions, windows = int(sys.argv[1]), int(sys.argv[2])
first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
final = (sys.argv[4] if len(sys.argv) > 4 else "true") == "true"
rnd = random.Random(regions * 1000 + windows + first)
base = datetime(2025, 8, 31, 8, 0, tzinfo=timezone.utc)
fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
for w in range(first, first + windows):
    for r in range(1, regions + 1):
        start = base + timedelta(minutes=w)
        print(json.dumps({"regionId": r, "windowStart": fmt(start),
                          "windowEnd": fmt(start + timedelta(minutes=1)),
                          "tripCount": rnd.randint(1, 500), "avgFare": round(rnd.uniform(5, 90), 2),
                          "totalDistance": round(rnd.uniform(1, 900), 1),
                          "avgDuration": round(rnd.uniform(60, 7200), 1),
                          "p50Duration": rnd.randint(60, 7200), "p95Duration": rnd.randint(60, 7200),
                          "p99Duration": rnd.randint(60, 7200), "final": final},
                         separators=(",", ":")))
PY
}
