# bench_replay.sh: sp-replay beside the peers that turn the same CSV into
# JSON lines (sourced by bench/run): mlr --icsv --ojsonl cat (CSV in, JSON
# lines out, like us) and jq -c . (reading the same events already as NDJSON:
# the reference speed of a JSON filter). sp-replay runs at --speed max, the
# pipe default. A second sp-replay run with --sort shows the one mode that
# holds the input (its RSS grows with the file; the streaming one does not).
bench_section "sp-replay: $BENCH_EVENTS rows of StreamPulse v1 CSV to trip-event NDJSON, one core"
bench_cmd "sp-replay --speed max" "$BENCH_EVENTS" "$BENCH_CSV" "$SP_BIN/sp-replay" --speed max
bench_cmd "sp-replay --sort" "$BENCH_EVENTS" "$BENCH_CSV" "$SP_BIN/sp-replay" --sort
bench_cmd "mlr --icsv --ojsonl cat" "$BENCH_EVENTS" "$BENCH_CSV" mlr --icsv --ojsonl cat
bench_cmd "jq -c . (on the NDJSON)" "$BENCH_EVENTS" "$BENCH_NDJSON" jq -c .
bench_ratio "sp-replay --speed max" "jq -c . (on the NDJSON)"
bench_ratio "sp-replay --speed max" "mlr --icsv --ojsonl cat"
