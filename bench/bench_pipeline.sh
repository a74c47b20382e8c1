# The whole local pipeline into a real redis-server, and the latency of live
# traffic, from the pipeline's first pipe until a result counting it is
# readable through sp-serve (issues 7 and 14). Sourced by bench/run.

bench_section "pipeline: sp-replay | sp-validate | sp-window | sp-redis-sink into redis-server (2 cores)"
pipeline_dir=$(mktemp -d)
bench_redis_start "$pipeline_dir"
bench_cmd "local pipeline into Redis" "$BENCH_EVENTS" "$BENCH_CSV" \
    "$SP_BIN/sp-replay -q | $SP_BIN/sp-validate -q | $SP_BIN/sp-window -q | $SP_BIN/sp-redis-sink -q --socket $pipeline_dir/redis.sock"
bench_redis_stop "$pipeline_dir"
rm -rf "$pipeline_dir"

bench_section "latency: event in to result readable through sp-serve (bench/latency.py, ${BENCH_LATENCY_SECONDS:-6} s each)"
for via in pipe kafka; do
    for rate in 1000 10000 50000 100000 500000; do
        for emit in 10 100; do
            python3 "$BENCH_HOME/latency.py" "$SP_BIN" --rate "$rate" --emit-every "$emit" \
                --via "$via" --seconds "${BENCH_LATENCY_SECONDS:-6}" | tee -a "$BENCH_RESULTS"
        done
    done
done

bench_section "latency by hop, 10,000 events/s, --emit-every 10ms: visible at the end of each stage"
for via in pipe kafka; do
    for upto in validate window redis serve; do
        python3 "$BENCH_HOME/latency.py" "$SP_BIN" --rate 10000 --emit-every 10 --via "$via" \
            --upto "$upto" --seconds "${BENCH_LATENCY_SECONDS:-6}" | tee -a "$BENCH_RESULTS"
    done
done
