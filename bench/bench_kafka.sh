# bench_kafka.sh: sp-kcat-out beside kcat -P and sp-kcat-in beside kcat -C,
# on the same trip-event NDJSON through one sp-kafka-mock (sourced by
# bench/run).
#
# The mock keeps only the newest 5 MiB or 100,000 message sets of each
# partition, so the consumers read a topic of 128 partitions that kcat -P
# filled once, and are measured on what the mock kept of it (the heading says
# how much: about 1.7 of 2 million events); the producers write to a topic of
# 16 partitions and the mock drops what is old. Both sides use librdkafka's
# defaults but where StreamPulse sets its own: sp-kcat-out is idempotent with
# acks=all (kcat: acks=all, not idempotent) and batches for 5 ms (as kcat).
kafka_mock_out=$BENCH_DIR/kafka-mock.out
"$SP_BIN/sp-kafka-mock" -q -t bench_produce:16 -t bench_consume:128 >"$kafka_mock_out" &
kafka_mock_pid=$!
for _ in $(seq 100); do [ -s "$kafka_mock_out" ] && break; sleep 0.1; done
kafka_brokers=$(head -n 1 "$kafka_mock_out")

kcat -P -b "$kafka_brokers" -t bench_consume <"$BENCH_NDJSON"
# Count what the consumers will find, once the count has settled.
kafka_consumable=0
for _ in 1 2 3; do
    kafka_count=$(kcat -C -b "$kafka_brokers" -t bench_consume -e -q | wc -l)
    [ "$kafka_count" -eq "$kafka_consumable" ] && break
    kafka_consumable=$kafka_count
    sleep 1
done

bench_section "Kafka: $BENCH_EVENTS trip events through sp-kafka-mock ($kafka_consumable kept for the consumers)"
bench_cmd "sp-kcat-out (idempotent, acks=all)" "$BENCH_EVENTS" "$BENCH_NDJSON" \
    "$SP_BIN/sp-kcat-out" -b "$kafka_brokers" -t bench_produce
bench_cmd "sp-kcat-out --key region_id" "$BENCH_EVENTS" "$BENCH_NDJSON" \
    "$SP_BIN/sp-kcat-out" -b "$kafka_brokers" -t bench_produce --key region_id
bench_cmd "kcat -P" "$BENCH_EVENTS" "$BENCH_NDJSON" \
    kcat -P -b "$kafka_brokers" -t bench_produce
bench_ratio "sp-kcat-out (idempotent, acks=all)" "kcat -P"
bench_ratio "sp-kcat-out --key region_id" "kcat -P"

bench_cmd "sp-kcat-in -e (adds _kafka)" "$kafka_consumable" "$BENCH_NDJSON" \
    "$SP_BIN/sp-kcat-in" -q -b "$kafka_brokers" -t bench_consume -e
bench_cmd "kcat -C -e" "$kafka_consumable" "$BENCH_NDJSON" \
    kcat -C -b "$kafka_brokers" -t bench_consume -e -q
bench_ratio "sp-kcat-in -e (adds _kafka)" "kcat -C -e"

kill "$kafka_mock_pid"
wait "$kafka_mock_pid" || true
