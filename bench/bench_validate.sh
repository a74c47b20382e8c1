# bench_validate.sh: sp-validate beside jq -c . on the same trip-event NDJSON
# (sourced by bench/run). Both read every line and check it is JSON; sp-validate
# also checks the six rules of the StreamPulse v1 schema and writes the line
# unchanged. A second input with every event out of range measures the DLQ
# path, where each line becomes a dead-letter record instead.
validate_rejects=$BENCH_DIR/events-$BENCH_EVENTS-rejects.ndjson
[ -s "$validate_rejects" ] ||
    sed 's/"region_id":\([0-9]*\)/"region_id":\1000/' "$BENCH_NDJSON" >"$validate_rejects"

bench_section "sp-validate: $BENCH_EVENTS trip events, StreamPulse v1 schema, one core"
bench_cmd "sp-validate (all valid)" "$BENCH_EVENTS" "$BENCH_NDJSON" "$SP_BIN/sp-validate"
bench_cmd "sp-validate (all rejected, DLQ)" "$BENCH_EVENTS" "$validate_rejects" \
    "$SP_BIN/sp-validate" -q --dlq /dev/null
bench_cmd "jq -c ." "$BENCH_EVENTS" "$BENCH_NDJSON" jq -c .
bench_ratio "sp-validate (all valid)" "jq -c ."
bench_ratio "sp-validate (all rejected, DLQ)" "jq -c ."
