# The whole local pipeline into a real redis-server, and the end-to-end
# latency of live traffic through sp-serve (issue 7). Sourced by bench/run.

bench_section "pipeline: sp-replay | sp-validate | sp-window | sp-redis-sink into redis-server (2 cores)"
pipeline_dir=$(mktemp -d)
redis-server --port 0 --unixsocket "$pipeline_dir/redis.sock" --save "" --appendonly no \
    --dir "$pipeline_dir" --daemonize yes --pidfile "$pipeline_dir/redis.pid" \
    --logfile "$pipeline_dir/redis.log" >/dev/null
for _ in $(seq 100); do [ -S "$pipeline_dir/redis.sock" ] && break; sleep 0.05; done
bench_cmd "local pipeline into Redis" "$BENCH_EVENTS" "$BENCH_CSV" \
    "$SP_BIN/sp-replay -q | $SP_BIN/sp-validate -q | $SP_BIN/sp-window -q | $SP_BIN/sp-redis-sink -q --socket $pipeline_dir/redis.sock"
redis-cli -s "$pipeline_dir/redis.sock" shutdown nosave >/dev/null 2>&1
rm -rf "$pipeline_dir"

bench_section "latency: event in to result readable through sp-serve, live traffic"
python3 "$BENCH_HOME/latency.py" "$SP_BIN" "${BENCH_LATENCY_SECONDS:-20}" 10000 | tee -a "$BENCH_RESULTS"
