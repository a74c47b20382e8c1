# bench_partitions.sh: partitions as tasks (issue 13), sourced by bench/run.
#
# - sp-window's events/s on Kafka records (the "_kafka" member first, as
#   sp-kcat-in writes them) spread by region over 4 and over 128 partitions,
#   beside the same events without coordinates (one task). With
#   BENCH_BASE_BIN=DIR, the programs in DIR (an older build) are measured on
#   the same input, for a before-and-after.
# - The size of one partition's state, as sp-window hands it over (the
#   checkpoint of a _kafka_state line) at the end of the input.
# - bench/failover.py: how long a member's partitions stop flowing when it
#   leaves (SIGTERM) or dies (kill -9), through sp-kafka-mock and Redis.

bench_section "sp-window on Kafka records: a task per partition"
bench_cmd "sp-window, no coordinates" "$BENCH_EVENTS" "$BENCH_NDJSON" "$SP_BIN/sp-window -q"
for p in 4 128; do
    input=$(kafka_input "$p")
    bench_cmd "sp-window, $p partitions" "$BENCH_EVENTS" "$input" "$SP_BIN/sp-window -q"
    if [ -n "${BENCH_BASE_BIN:-}" ]; then
        bench_cmd "sp-window $p partitions (BENCH_BASE_BIN)" "$BENCH_EVENTS" "$input" \
            "$BENCH_BASE_BIN/sp-window -q"
        bench_ratio "sp-window, $p partitions" "sp-window $p partitions (BENCH_BASE_BIN)"
    fi
done

bench_section "one partition's state, handed over at the end of the input (100 regions)"
for p in 4 128; do
    "$SP_BIN/sp-window" -q --idle-timeout 0 <"$(kafka_input "$p" managed)" |
        grep '^{"_kafka_state"' |
        python3 -c 'import json, sys
sizes = sorted(len(json.dumps(json.loads(l)["checkpoint"], separators=(",", ":"))) for l in sys.stdin)
print("  %3d partitions: %6d to %6d bytes, median %d" % (len(sizes), sizes[0], sizes[-1], sizes[len(sizes) // 2]))' |
        tee -a "$BENCH_RESULTS"
done

bench_section "failover through sp-kafka-mock (2,000 events/s, 8 partitions, 2 members)"
for session in 3000 6000; do
    python3 "$BENCH_HOME/failover.py" "$SP_BIN" "$session" | tee -a "$BENCH_RESULTS"
done
