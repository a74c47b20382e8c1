# bench/lib.sh: the functions every bench/bench_*.sh fragment uses.
# Sourced by bench/run; BENCH_RUNS, BENCH_DIR and SP_BIN are set there.

declare -A BENCH_EPS

# bench_cmd LABEL EVENTS INPUT CMD...: time CMD (a shell command line) with
# stdin from INPUT, report events/s, MB/s of input, peak RSS; remember the
# events/s under LABEL for bench_ratio.
bench_cmd() {
    local label=$1 events=$2 input=$3; shift 3
    local out secs rss bytes
    if ! out=$(python3 "$BENCH_HOME/measure.py" "$BENCH_RUNS" "$input" "$@"); then
        printf '  %-34s FAILED\n' "$label"
        return 0
    fi
    read -r secs rss <<<"$out"
    bytes=$(stat -c %s "$input")
    BENCH_EPS[$label]=$(awk -v e="$events" -v s="$secs" 'BEGIN { printf "%.0f", e / s }')
    awk -v l="$label" -v e="$events" -v s="$secs" -v b="$bytes" -v r="$rss" 'BEGIN {
        printf "  %-34s %9.3f s %12.0f ev/s %8.1f MB/s   RSS %7.1f MB\n", l, s, e / s, b / s / 1e6, r / 1024 }' |
        tee -a "$BENCH_RESULTS"
}

# bench_ratio OURS PEER: how many times faster OURS ran than PEER.
bench_ratio() {
    local ours=${BENCH_EPS[$1]:-} peer=${BENCH_EPS[$2]:-}
    if [ -z "$ours" ] || [ -z "$peer" ]; then
        printf '  %s / %s: n/a\n' "$1" "$2" | tee -a "$BENCH_RESULTS"
        return 0
    fi
    awk -v a="$1" -v b="$2" -v x="$ours" -v y="$peer" 'BEGIN {
        printf "  %s / %s = %.2fx\n", a, b, x / y }' | tee -a "$BENCH_RESULTS"
}

# bench_section TITLE: a heading in the report.
bench_section() {
    printf '\n%s\n' "$1" | tee -a "$BENCH_RESULTS"
}

# bench_redis_start DIR: a private redis-server (no persistence) listening
# only on DIR/redis.sock, its files in DIR; back once the socket is there.
bench_redis_start() {
    redis-server --port 0 --unixsocket "$1/redis.sock" --save "" --appendonly no \
        --dir "$1" --daemonize yes --pidfile "$1/redis.pid" --logfile "$1/redis.log" >/dev/null
    for _ in $(seq 100); do [ -S "$1/redis.sock" ] && break; sleep 0.05; done
}

# bench_redis_stop DIR: stop the redis-server bench_redis_start DIR started.
bench_redis_stop() {
    redis-cli -s "$1/redis.sock" shutdown nosave >/dev/null 2>&1
}

# kafka_input P: the bench events as Kafka records of P partitions (region
# modulo P), each partition's offsets counting from 0; with "managed", a
# restore line per partition first and a revoke line of them all last, so
# sp-window hands every partition's state over at the end.
kafka_input() {
    local file=$BENCH_DIR/kafka-$1-$BENCH_EVENTS${2:+-$2}.ndjson
    if [ ! -s "$file" ]; then
        awk -v p="$1" -v managed="${2:-}" '
            BEGIN {
                if (managed)
                    for (i = 0; i < p; i++)
                        printf "{\"_kafka_restore\":{\"topic\":\"events\",\"partition\":%d},\"checkpoint\":null}\n", i
            }
            {
                match($0, /"region_id":[0-9]+/)
                part = substr($0, RSTART + 12, RLENGTH - 12) % p
                printf "{\"_kafka\":{\"topic\":\"events\",\"partition\":%d,\"offset\":%d},%s\n",
                    part, next_offset[part]++, substr($0, 2)
            }
            END {
                if (!managed) exit
                printf "{\"_kafka_revoke\":{\"token\":\"bench\",\"lost\":false,\"partitions\":["
                for (i = 0; i < p; i++)
                    printf "%s{\"topic\":\"events\",\"partition\":%d}", i ? "," : "", i
                print "]}}"
            }' "$BENCH_NDJSON" >"$file"
    fi
    echo "$file"
}
