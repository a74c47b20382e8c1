# bench_instructions.sh: before and after, by instructions (sourced by
# bench/run). Only with BENCH_BASE_BIN=DIR (the programs of an older build)
# and valgrind: each program and its older self on the first 200,000 events
# (their window results for the sink) under callgrind, whose count of instructions
# does not move between runs the way seconds do on a shared machine.

# instructions CMD...: how many instructions CMD ran (callgrind), with an
# empty database first when INSTR_REDIS names one (the sink's runs).
instructions() {
    [ -n "${INSTR_REDIS:-}" ] && redis-cli -s "$INSTR_REDIS" flushall >/dev/null
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        awk '/Collected/ { print $4 }'
}

# compare LABEL INPUT PROGRAM ARGS...: PROGRAM from BENCH_BASE_BIN and from
# SP_BIN on INPUT; one line with both counts and the change.
compare() {
    local label=$1 input=$2 program=$3 before after
    shift 3
    before=$(instructions "$BENCH_BASE_BIN/$program" "$@" <"$input")
    after=$(instructions "$SP_BIN/$program" "$@" <"$input")
    awk -v l="$label" -v b="$before" -v a="$after" 'BEGIN {
        printf "  %-34s %8.1f M  %8.1f M  %+5.1f%%\n", l, b / 1e6, a / 1e6, 100 * (a - b) / b }' |
        tee -a "$BENCH_RESULTS"
}

if [ -n "${BENCH_BASE_BIN:-}" ] && command -v valgrind >/dev/null; then
    bench_section "instructions, $BENCH_BASE_BIN (before) and $SP_BIN (after)"
    instr_dir=$(mktemp -d)
    head -n 200001 "$BENCH_CSV" >"$instr_dir/events.csv"
    head -n 200000 "$BENCH_NDJSON" >"$instr_dir/events.ndjson"
    compare "sp-replay" "$instr_dir/events.csv" sp-replay -q
    compare "sp-validate" "$instr_dir/events.ndjson" sp-validate -q
    compare "sp-window" "$instr_dir/events.ndjson" sp-window -q
    for p in 4 128; do
        head -n 200000 "$(kafka_input "$p")" >"$instr_dir/kafka-$p.ndjson"
        compare "sp-window, $p partitions" "$instr_dir/kafka-$p.ndjson" sp-window -q
    done
    bench_redis_start "$instr_dir"
    "$SP_BIN/sp-window" -q <"$instr_dir/events.ndjson" >"$instr_dir/results.ndjson"
    INSTR_REDIS=$instr_dir/redis.sock compare "sp-redis-sink" "$instr_dir/results.ndjson" \
        sp-redis-sink -q --socket "$instr_dir/redis.sock"
    bench_redis_stop "$instr_dir"
    rm -rf "$instr_dir"
fi
