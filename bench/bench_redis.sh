# bench_redis.sh: sp-redis-sink beside redis-cli --pipe writing the same SET
# commands, and sp-serve under wrk (sourced by bench/run). Starts its own
# redis-server and sp-serve on free private ports and stops them.
#
#   BENCH_REDIS_RESULTS  window results to write (default 200000: 100 regions
#                        x 2000 one-minute windows)

redis_bench_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

redis_bench() {
    local n=${BENCH_REDIS_RESULTS:-200000}
    local dir=$BENCH_DIR/redis port serve_port serve_pid
    mkdir -p "$dir"
    port=$(redis_bench_port)
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
    for _ in $(seq 100); do [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done

    # The same results twice over: as window-result NDJSON for the sink, and
    # as the Redis protocol of their SET ... EX commands for redis-cli --pipe
    # (made by awk, neither our code nor the peer).
    local results=$dir/results-$n.ndjson pipe=$dir/set-$n.resp
    if [ ! -s "$pipe" ]; then
        awk -v n="$n" -v nd="$results" -v resp="$pipe" 'BEGIN {
            srand(4); base = 1756627200
            for (i = 0; i < n; i++) {
                w = int(i / 100); region = 1 + i % 100; start = base + 60 * w
                line = sprintf("{\"regionId\":%d,\"windowStart\":\"%s\",\"windowEnd\":\"%s\",\"tripCount\":%d,\"avgFare\":%.2f,\"totalDistance\":%.1f,\"avgDuration\":%.1f,\"p50Duration\":%d,\"p95Duration\":%d,\"p99Duration\":%d,\"final\":true}",
                    region, strftime("%Y-%m-%dT%H:%M:%SZ", start, 1), strftime("%Y-%m-%dT%H:%M:%SZ", start + 60, 1),
                    1 + int(rand() * 300), 5 + rand() * 80, rand() * 900, 60 + rand() * 3000,
                    60 + int(rand() * 3000), 60 + int(rand() * 5000), 60 + int(rand() * 7000))
                print line > nd
                key = sprintf("region:%d:window:%d", region, start)
                printf "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$5\r\n86400\r\n", length(key), key, length(line), line > resp
            }
        }'
    fi

    bench_section "sp-redis-sink: $n window results into Redis (values, index, ranks, regions, latest)"
    bench_cmd "sp-redis-sink" "$n" "$results" "$SP_BIN/sp-redis-sink --url redis://127.0.0.1:$port/0"
    bench_cmd "redis-cli --pipe (SET EX only)" "$n" "$pipe" "redis-cli -p $port --pipe >/dev/null"
    bench_ratio "sp-redis-sink" "redis-cli --pipe (SET EX only)"

    # sp-serve over what the sink wrote: wrk, 2 threads, 64 connections.
    serve_port=$(redis_bench_port)
    "$SP_BIN/sp-serve" -q --listen "127.0.0.1:$serve_port" --url "redis://127.0.0.1:$port/0" &
    serve_pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$serve_port/health" && break; sleep 0.05; done
    bench_section "sp-serve: wrk -t2 -c64 -d10s --latency"
    local path
    for path in /metrics/region/42 /metrics/timeline/42 "/metrics/regions/top?limit=10"; do
        wrk -t2 -c64 -d10s --latency "http://127.0.0.1:$serve_port$path" |
            awk -v p="$path" '/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
                / Non-2xx/ { bad = $NF } END {
                printf "  %-34s %10.0f req/s   p50 %8s   p99 %8s%s\n", p, rps, p50, p99, bad ? "   NON-2XX " bad : "" }' |
            tee -a "$BENCH_RESULTS"
    done
    kill -TERM "$serve_pid" 2>/dev/null
    wait "$serve_pid" 2>/dev/null || true
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
}

redis_bench
